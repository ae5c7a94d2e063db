"""The clinicians' corrections as an evaluation set: a real scribe job (tiny.en) held for
review, the transcript corrected and approved by a clinician over ``/v1/reviews``, then
``corrections@<hash>`` evaluated over ``/v1/evaluations`` against the approved text, with
dialect and tenant slices and no transcript text in the stored per-item results."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from carepipe.core.auth import SYSTEM
from carepipe.mlops.comparison import load_items
from carepipe.mlops.models import MlEvaluation
from carepipe.ops.api_keys import create_key
from carepipe.review.models import ReviewCorrection
from carepipe.review.service import assign_clinician
from tests.mlops.evaluation.conftest import DATA, TINY
from tests.mlops.factories import make_version
from tests.pipelines.conftest import run_jobs  # noqa: F401  (a fixture)
from tests.review.conftest import accept_flagged_and_approve


@pytest.fixture
def settings(settings):
    return settings.model_copy(
        update={"review_tenants": "clinic-a", "max_payload_bytes": 4 * 1024 * 1024, **TINY}
    )


def _approve(client, headers, rid, transcript):
    r = client.put(
        f"/v1/reviews/{rid}", headers=headers, json={"base_version": 1, "transcript": transcript}
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    accept_flagged_and_approve(client, headers, rid, saved["version"], saved["items"])


def test_an_asr_version_is_scored_against_what_clinicians_approved(
    client,
    people,
    db,
    blobs,
    run_jobs,  # noqa: F811
    settings,
):
    with db.transaction() as s:
        assign_clinician(s, SYSTEM, username="cara", tenant="clinic-a")
        key = create_key(s, SYSTEM, tenant="clinic-a", name="emr", env="dev").plaintext
        make_version(s, "whisper-tiny.en", "asr", TINY)
    # No approved notes yet: nothing to evaluate on.
    r = client.post(
        "/v1/evaluations",
        headers=people.dana,
        json={"version": "whisper-tiny.en@1", "eval_set": "corrections"},
    )
    assert r.status_code == 404 and "no correction records" in r.json()["error"]["message"]

    r = client.post(
        "/v1/jobs",
        headers={"Authorization": f"Bearer {key}"},
        data={"pipeline": "scribe"},
        files={"file": ("c01.wav", (DATA / "c01.wav").read_bytes(), "audio/wav")},
    )
    assert r.status_code == 202, r.text
    (job,) = run_jobs([r.json()["id"]], timeout=300, settings_override=settings)
    assert job.status == "waiting_review", job.error_message
    (row,) = client.get("/v1/reviews", headers=people.cara).json()["items"]
    reference = json.loads((DATA / "manifest.json").read_text())[0]["transcript"]
    _approve(client, people.cara, row["id"], reference)

    r = client.post(
        "/v1/evaluations",
        headers=people.dana,
        json={"version": "whisper-tiny.en@1", "eval_set": "corrections"},
    )
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 180
    while (ev := client.get(f"/v1/evaluations/{r.json()['id']}", headers=people.otto).json())[
        "status"
    ] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert ev["status"] == "done", ev
    assert ev["eval_set"].startswith("corrections@") and ev["metrics"]["items"] == 1
    assert set(ev["slices"]) == {"dialect", "tenant"}
    assert list(ev["slices"]["tenant"]) == ["clinic-a"]
    with db.session() as s:
        record = s.execute(select(ReviewCorrection)).scalar_one()
        (item,) = load_items(blobs, s.get(MlEvaluation, ev["id"]))
    # Scored against the approved text (the record counts its words the same way) ...
    assert item["id"] == row["id"] and item["ref_words"] == record.reference_words
    assert 0.0 <= ev["metrics"]["wer"] < 0.5
    # ... which is PHI: no text in the stored results.
    assert "hypothesis" not in item and "reference" not in item
