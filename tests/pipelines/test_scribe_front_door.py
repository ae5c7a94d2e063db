"""The scribe through the front door (multipart POST -> worker -> FHIR bundle over HTTP), and
suspect transcripts (a real clip looped with sox) that must never end as a silent success."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key
from tests.pipelines.conftest import artifacts_of
from tests.support import scribe_api
from tests.support.doctored_audio import looped_clip

# SQLite only, and a request limit that fits consultation audio (tests/support/scribe_api.py).
db_url, client = scribe_api.db_url, scribe_api.client

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"


def _auth(db, tenant: str) -> dict[str, str]:
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant=tenant, name="test", env="dev").plaintext
    return {"Authorization": f"Bearer {key}"}


def _post_audio(client, auth, audio: bytes, name: str) -> str:
    r = client.post(
        "/v1/jobs",
        headers=auth,
        data={"pipeline": "scribe"},
        files={"file": (name, audio, "audio/wav")},
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


@pytest.fixture(scope="module")
def looped(tmp_path_factory) -> bytes:
    return looped_clip(tmp_path_factory.mktemp("sox") / "looped.wav").read_bytes()


def test_audio_posted_over_http_becomes_a_fhir_bundle(client, db, run_jobs):
    auth = _auth(db, "clinic")
    job_id = _post_audio(client, auth, (DATA / "c02.wav").read_bytes(), "visit.wav")
    (job,) = run_jobs([job_id], timeout=600)
    assert job.status == "succeeded", job.error_message
    status = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
    assert status["result"]["asr"]["suspect"] is False
    # A room recording: wide band (c02 reads about 5 kHz), not a telephone line.
    assert status["result"]["asr"]["narrowband"] is False
    assert status["result"]["asr"]["bandwidth_hz"] > 4000
    assert "needs_review" in status["result"]["note"]
    r = client.get(f"/v1/jobs/{job_id}/bundle", headers=auth)
    assert r.status_code == 200
    bundle = r.json()
    resources = [e["resource"] for e in bundle["entry"]]
    types = {x["resourceType"] for x in resources}
    assert {"Composition", "Observation", "MedicationStatement", "DocumentReference"} <= types
    # c02: "metformin five hundred milligrams twice a day", "ninety four kilograms".
    meds = [x for x in resources if x["resourceType"] == "MedicationStatement"]
    assert any("metformin" in x["medicationCodeableConcept"]["text"].lower() for x in meds)
    weights = [
        x["valueQuantity"]["value"]
        for x in resources
        if x["resourceType"] == "Observation" and x["code"]["coding"][0]["code"] == "29463-7"
    ]
    assert weights == [94]
    # Every item that needs review says so in the bundle (codes only, no transcript words).
    for x in resources:
        for n in x.get("note", []):
            assert n["text"].startswith("Needs review (CarePipe scribe)")


def test_a_looping_transcript_is_a_dead_letter_for_a_tenant_without_review(
    client, db, run_jobs, looped
):
    auth = _auth(db, "clinic")
    job_id = _post_audio(client, auth, looped, "looped.wav")
    (job,) = run_jobs([job_id], timeout=600)
    assert job.status == "dead" and job.error_code == "asr_suspect"
    assert any(r in (job.error_message or "") for r in ("repetition_loop", "low_coverage"))
    assert "fhir_bundle" not in artifacts_of(db, job_id)
    # The job exists but has no bundle: 409 not_ready, saying why (it died).
    r = client.get(f"/v1/jobs/{job_id}/bundle", headers=auth)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_ready"
    assert r.json()["error"]["details"]["status"] == "dead"


def test_a_looping_transcript_waits_for_review_with_its_reason(
    client, db, settings, run_jobs, looped
):
    s = settings.model_copy(update={"review_tenants": "strict-clinic"})
    auth = _auth(db, "strict-clinic")
    job_id = _post_audio(client, auth, looped, "looped.wav")
    (job,) = run_jobs([job_id], timeout=600, settings_override=s)
    assert job.status == "waiting_review"
    assert {"repetition_loop", "low_coverage"} & set(job.result["review"]["asr_suspect"])
    assert "fhir_bundle" not in artifacts_of(db, job_id)


def test_a_telephone_recording_sends_every_heard_number_to_review(client, db, tmp_path, run_jobs):
    # c02 through a telephone band (300-3400 Hz at 8 kHz), as a call recording would be.
    phone = tmp_path / "phone.wav"
    subprocess.run(
        ["sox", "-R", "-D", str(DATA / "c02.wav"), "-r", "8000", str(phone), "sinc", "300-3400"],
        check=True,
        capture_output=True,
    )
    auth = _auth(db, "clinic")
    job_id = _post_audio(client, auth, phone.read_bytes(), "call.wav")
    (job,) = run_jobs([job_id], timeout=600)
    assert job.status == "succeeded", job.error_message
    asr = client.get(f"/v1/jobs/{job_id}", headers=auth).json()["result"]["asr"]
    assert asr["narrowband"] is True and "narrowband" in asr["quality_flags"]
    assert asr["bandwidth_hz"] < 4000
    resources = [
        e["resource"] for e in client.get(f"/v1/jobs/{job_id}/bundle", headers=auth).json()["entry"]
    ]
    numbers = [
        x
        for x in resources
        if (x["resourceType"] == "Observation" and "valueQuantity" in x)
        or (
            x["resourceType"] == "MedicationStatement"
            and any("doseAndRate" in d for d in x.get("dosage", []))
        )
    ]
    assert numbers, "the call still yields vitals or doses"
    for x in numbers:
        notes = " ".join(n["text"] for n in x.get("note", []))
        assert "narrowband_audio" in notes, x["resourceType"]
