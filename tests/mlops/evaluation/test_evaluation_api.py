"""Evaluating and comparing real model versions over ``/v1/evaluations`` and
``/v1/comparisons``, on both databases: Whisper tiny.en on three committed clips (per-clip
WER, per-slice metrics, the comparison with the production version written for the
promotion gate), and the rules note engine on all twelve reference transcripts."""

from __future__ import annotations

import io
import time

import pypdfium2
import pytest
from sqlalchemy import select

from carepipe.core.models import AuditEvent
from carepipe.engines.asr.wer import word_error_rate
from carepipe.mlops.models import MlModelVersion
from tests.mlops.evaluation.conftest import TINY
from tests.mlops.factories import make_version

CLIPS = ["c01", "c05", "c12"]  # en-us clean, en-gb noisy, en+f2 clean


def _wait_done(client, headers, evaluation_id, timeout=240.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/evaluations/{evaluation_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "running":
            return r.json()
        time.sleep(0.2)
    raise AssertionError("evaluation did not finish")


def _evaluate(client, headers, version, **extra):
    r = client.post("/v1/evaluations", headers=headers, json={"version": version, **extra})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running"
    done = _wait_done(client, headers, r.json()["id"])
    assert done["status"] == "done", done
    return done


def test_tiny_en_is_evaluated_per_clip_and_per_slice_and_compared_with_production(
    client, people, db, blobs
):
    with db.transaction() as s:
        prod = make_version(s, "whisper-tiny.en", "asr", TINY, stage="production")
        cand = make_version(s, "whisper-tiny.en", "asr", {**TINY, "asr_prompt": "clinical"})
        prod_id, cand_id = prod.id, cand.id

    # Who may: a clinician nothing, ops may read but not start an evaluation.
    body = {"version": "whisper-tiny.en@1", "clips": CLIPS}
    assert client.post("/v1/evaluations", headers=people.cara, json=body).status_code == 403
    assert client.post("/v1/evaluations", headers=people.otto, json=body).status_code == 403
    r = client.post("/v1/evaluations", headers=people.dana, json={**body, "clips": ["c99"]})
    assert r.status_code == 404 and r.json()["error"]["details"]["unknown"] == ["c99"]

    base = _evaluate(client, people.dana, "whisper-tiny.en@1", clips=CLIPS)
    m = base["metrics"]
    assert base["kind"] == "asr" and base["eval_set"].startswith("scribe-clips@")
    assert m["items"] == 3 and 0.0 <= m["wer"] < 0.5 and m["ref_words"] > 150
    assert 0 < m["rtf"] < 2 and m["audio_seconds"] > 50
    # Slices: accent (voice), noise, clip length; every clip counted once per dimension.
    assert set(base["slices"]) == {"voice", "noise", "length"}
    assert set(base["slices"]["noise"]) == {"clean", "noisy"}
    assert base["slices"]["noise"]["noisy"]["items"] == 1
    for values in base["slices"].values():
        assert sum(v["items"] for v in values.values()) == 3
    # No production baseline for the production version itself.
    assert "comparison_vs_production" not in m

    cand_ev = _evaluate(client, people.dana, "whisper-tiny.en@2", clips=CLIPS)
    assert cand_ev["eval_set"] == base["eval_set"]  # same content, same set version
    gate = cand_ev["metrics"]["comparison_vs_production"]
    assert gate["production_version"] == "whisper-tiny.en@1"
    assert gate["verdict"] == "insufficient data"  # three clips cannot show a difference
    expected_delta = cand_ev["metrics"]["wer"] - m["wer"]
    assert gate["wer_delta"] == pytest.approx(expected_delta, abs=2e-4)
    with db.session() as s:
        version = s.get(MlModelVersion, cand_id)
        assert version.metrics["comparison_vs_production"]["verdict"] == "insufficient data"
        assert version.metrics["latest_evaluation"]["evaluation_id"] == cand_ev["id"]
        actions = s.execute(select(AuditEvent.action, AuditEvent.target_id)).all()
        assert ("model.evaluate", prod_id) in actions and ("model.evaluate", cand_id) in actions

    # The comparison over the API: per-clip WERs of both, tests, verdict. Ops may read it.
    r = client.post(
        "/v1/comparisons",
        headers=people.otto,
        json={"baseline": "whisper-tiny.en@1", "candidate": "whisper-tiny.en@2"},
    )
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["verdict"] == "insufficient data" and c["n_pairs"] == 3
    assert [i["id"] for i in c["items"]] == CLIPS
    assert {t["name"] for t in c["tests"]} == {"mapsswe", "sign"}
    assert c["resamples"] == 10_000 and c["ci_low"] <= c["difference"] <= c["ci_high"]
    # A clip's WER is what the shared scorer says of the stored hypothesis.
    items = client.get(f"/v1/evaluations/{base['id']}", headers=people.otto).json()
    assert items["metrics"]["wer"] == pytest.approx(c["baseline_value"], abs=1e-4)

    # Saved as a report: JSON, HTML with SVG, and a PDF that opens.
    r = client.post(
        "/v1/model-reports",
        headers=people.dana,
        json={
            "kind": "comparison",
            "baseline": "whisper-tiny.en@1",
            "candidate": "whisper-tiny.en@2",
        },
    )
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["summary"]["Verdict"] == "insufficient data"
    got = client.get(report["links"]["json"], headers=people.otto)
    assert got.status_code == 200 and got.json()["data"]["verdict"] == "insufficient data"
    html = client.get(report["links"]["html"], headers=people.otto)
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.count("<svg") == 1 and html.text.count("<rect x=") >= 6
    assert "<script" not in html.text
    pdf = client.get(report["links"]["pdf"], headers=people.otto)
    assert pdf.headers["content-type"] == "application/pdf"
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
    text = doc[0].get_textpage().get_text_range()
    assert "whisper-tiny.en@2 vs whisper-tiny.en@1" in text and "insufficient data" in text
    assert client.get(report["links"]["pdf"], headers=people.cara).status_code == 403


def test_reference_wer_matches_the_shared_scorer(client, people, db, blobs):
    with db.transaction() as s:
        make_version(s, "whisper-tiny.en", "asr", TINY)
    ev = _evaluate(client, people.dana, "whisper-tiny.en@1", clips=["c01"])
    import json

    from carepipe.mlops.comparison import load_items
    from carepipe.mlops.models import MlEvaluation
    from tests.mlops.evaluation.conftest import DATA

    with db.session() as s:
        (item,) = load_items(blobs, s.get(MlEvaluation, ev["id"]))
    reference = json.loads((DATA / "manifest.json").read_text())[0]["transcript"]
    assert item["wer"] == pytest.approx(word_error_rate(reference, item["hypothesis"]), abs=1e-4)


def test_two_note_engines_on_all_twelve_transcripts_show_no_difference(client, people, db):
    with db.transaction() as s:
        make_version(s, "note-rules", "note", {"note_engine": "rules"})
        make_version(s, "note-rules", "note", {"note_engine": "rules"})
    a = _evaluate(client, people.dana, "note-rules@1")
    b = _evaluate(client, people.dana, "note-rules@2")
    assert a["metrics"]["items"] == 12 and a["metrics"]["facts"] >= 30
    assert 0.5 < a["metrics"]["recall"] <= 1.0 and a["metrics"] == b["metrics"]
    assert set(a["slices"]) == {"voice", "noise", "length"}
    r = client.post(
        "/v1/comparisons",
        headers=people.dana,
        json={"baseline": "note-rules@1", "candidate": "note-rules@2", "eval_set": "scribe-clips"},
    )
    assert r.status_code == 200, r.text
    c = r.json()
    assert c["metric"] == "recall" and c["tests"][0]["name"] == "mcnemar"
    assert c["verdict"] == "no significant difference" and c["p_value"] == 1.0
    assert c["n_pairs"] == a["metrics"]["facts"]
    # Comparing across kinds, or a version never evaluated on the set, is refused.
    r = client.post(
        "/v1/comparisons",
        headers=people.dana,
        json={"baseline": "note-rules@1", "candidate": "note-rules@2", "eval_set": "corrections"},
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
