"""``record_correction`` (called by the review service on every approval) through ``/metrics``:
WER from corrections and note edits by item type, labelled by model version and dialect,
with every label held to a bounded set."""

from __future__ import annotations

import uuid

import pytest

from carepipe.observability import model_quality
from carepipe.observability.model_quality import (
    dialect_label,
    item_type_label,
    model_version_label,
    record_correction,
)
from tests.observability.conftest import sample, samples


def _version() -> str:
    # A model version of this test only: the registry is shared by the whole process.
    return f"faster-whisper/test-{uuid.uuid4().hex[:8]}@sha256:0123456789ab/cpu-int8"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_corrections_show_as_wer_and_edits_by_model_version_and_dialect(client):
    mv = _version()
    record_correction(
        model_version=mv, dialect="en-IN", wer=0.10, item_edits={"medication": 2, "vital": 1}
    )
    record_correction(model_version=mv, dialect="en_in", wer=0.30, item_edits={"medication": 1})
    record_correction(model_version=mv, dialect="en-GB", wer=0.0, item_edits={})
    text = client.get("/metrics").text

    assert sample(text, "carepipe_review_wer_count", model_version=mv, dialect="en-IN") == 2
    wer_sum = sample(text, "carepipe_review_wer_sum", model_version=mv, dialect="en-IN")
    assert wer_sum == pytest.approx(0.40)
    assert sample(text, "carepipe_review_wer_count", model_version=mv, dialect="en-GB") == 1
    # The buckets put the 0.10 and the 0.30 where they belong.
    le = {
        dict(k)["le"]: v
        for k, v in samples(text, "carepipe_review_wer_bucket").items()
        if dict(k)["model_version"] == mv and dict(k)["dialect"] == "en-IN"
    }
    assert le["0.05"] == 0 and le["0.1"] == 1 and le["0.3"] == 2 and le["+Inf"] == 2

    def edits(item_type: str) -> float | None:
        return sample(
            text,
            "carepipe_note_edits_total",
            model_version=mv,
            dialect="en-IN",
            item_type=item_type,
        )

    assert edits("medication") == 3 and edits("vital") == 1
    assert sample(text, "carepipe_review_corrections_total", model_version=mv, dialect="en-IN") == 2
    # The drift alert's baseline is exported per model version (CAREPIPE_ASR_WER_BASELINE).
    assert sample(text, "carepipe_asr_wer_baseline", model_version=mv) == pytest.approx(0.15)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_odd_input_never_breaks_an_approval_nor_the_label_bounds(client):
    mv = _version()
    record_correction(model_version=mv, dialect="tlh-Qo", wer=float("nan"), item_edits={})
    record_correction(
        model_version=mv,
        dialect="",
        wer=-1.0,
        item_edits={"dragon": 2, "medication": "x", "vital": 0},  # type: ignore[dict-item]
    )
    text = client.get("/metrics").text
    # Counted as corrections, but a NaN or negative WER is not a measurement.
    assert sample(text, "carepipe_review_corrections_total", model_version=mv, dialect="other") == 1
    assert (
        sample(text, "carepipe_review_corrections_total", model_version=mv, dialect="unknown") == 1
    )
    assert sample(text, "carepipe_review_wer_count", model_version=mv, dialect="other") is None
    assert (
        sample(
            text,
            "carepipe_note_edits_total",
            model_version=mv,
            dialect="unknown",
            item_type="other",
        )
        == 2
    )
    # Nothing else was labelled with what the caller sent.
    edited = {dict(k)["item_type"] for k in samples(text, "carepipe_note_edits_total")}
    assert edited <= {*model_quality.ITEM_TYPES, "other"}
    dialects = {dict(k)["dialect"] for k in samples(text, "carepipe_review_corrections_total")}
    assert dialects <= {*model_quality.DIALECTS, "other", "unknown"}


def test_labels_are_bounded(monkeypatch):
    assert dialect_label("EN-in") == "en-IN" and dialect_label(" en_GB ") == "en-GB"
    assert dialect_label("fr-FR") == "other" and dialect_label(None) == "unknown"
    assert item_type_label("Medications") == "medication"
    assert item_type_label("follow-up") == "follow_up" and item_type_label("x") == "other"
    # Past MAX_MODEL_VERSIONS distinct versions, new ones are "other"; known ones stay.
    monkeypatch.setattr(model_quality, "_versions_seen", set())
    monkeypatch.setattr(model_quality, "MAX_MODEL_VERSIONS", 2)
    assert model_version_label("a") == "a" and model_version_label("b") == "b"
    assert model_version_label("c") == "other" and model_version_label("a") == "a"
    assert model_version_label("") == "unknown"


def test_the_wer_baseline_setting_names_a_default_and_prefixes():
    spec = "0.2,faster-whisper/base=0.12,faster-whisper/base@sha256:905e=0.1"
    assert model_quality.baseline_for(spec, "faster-whisper/base@sha256:905e5bf8336b") == 0.1
    assert model_quality.baseline_for(spec, "faster-whisper/base@sha256:aaaa") == 0.12
    assert model_quality.baseline_for(spec, "openai/whisper-1") == 0.2
    assert model_quality.baseline_for("nonsense", "x") == model_quality.DEFAULT_WER_BASELINE


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_api_process_exports_the_configured_baseline(settings, db, blobs):
    from fastapi.testclient import TestClient

    from carepipe.app import create_app

    mv = _version()
    custom = settings.model_copy(update={"asr_wer_baseline": f"0.3,{mv[:28]}=0.08"})
    with TestClient(create_app(custom, db=db, blobs=blobs)) as c:
        record_correction(model_version=mv, dialect="en-IN", wer=0.1, item_edits={})
        record_correction(model_version=_version(), dialect="en-IN", wer=0.1, item_edits={})
        text = c.get("/metrics").text
    baselines = {
        dict(k)["model_version"]: v for k, v in samples(text, "carepipe_asr_wer_baseline").items()
    }
    assert baselines[mv] == pytest.approx(0.08)
    # Another version falls back to the bare default of the setting.
    others = [v for k, v in baselines.items() if k.startswith("faster-whisper/test-") and k != mv]
    assert pytest.approx(0.3) in others
