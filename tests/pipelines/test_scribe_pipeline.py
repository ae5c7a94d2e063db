"""Consultation audio through the real Whisper model, note engine, FHIR builder and EMR client."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from carepipe.core.models import Job, Message, Task
from carepipe.core.queue import enqueue
from carepipe.observability.metrics import REGISTRY
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.patient_context import PatientContext, seal_context
from tests.pipelines.conftest import artifacts_of, dead_task
from tests.support.fhir_test_server import running_fhir_test_server

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"


def _facts(clip: str) -> dict:
    manifest = json.loads((DATA / "manifest.json").read_text())
    return next(e["facts"] for e in manifest if e["id"] == clip)


def _known_patient(emr) -> None:
    import httpx

    r = httpx.put(f"{emr.base_url}/Patient/p-123", json={"resourceType": "Patient", "id": "p-123"})
    assert r.status_code in (200, 201)


def _submit(db, blobs, name: str, *, tenant: str = "clinic", context=None, **kw) -> str:
    if (
        context is not None
    ):  # sealed as POST /v1/jobs seals it (tests/pipelines/test_patient_context)
        kw["meta"] = seal_context(blobs, PatientContext.model_validate(context))
    return submit(
        db,
        blobs,
        tenant=tenant,
        pipeline="scribe",
        payload=(DATA / name).read_bytes(),
        content_type="audio/wav",
        filename=name,
        **kw,
    ).job_id


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    # The model work dominates; the queue itself is covered on both databases elsewhere.
    import shutil

    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def test_clip_becomes_transcript_note_and_validated_bundle(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "c01.wav", idempotency_key="visit-1")
    (job,) = run_jobs([job_id], timeout=300)
    assert job.status == "succeeded", job.error_message
    arts = artifacts_of(db, job_id)
    transcript = json.loads(blobs.get(arts["transcript"].blob_key))
    assert "blood pressure" in transcript["text"].lower()
    assert arts["transcript"].model_version.startswith("faster-whisper/")
    assert "sha256:" in arts["transcript"].model_version
    assert transcript["rtf"] > 0 and transcript["audio_seconds"] > 5
    note = json.loads(blobs.get(arts["soap_note"].blob_key))
    # The pulse is heard reliably; every vital points at the words it came from.
    found = {(v["kind"], v["value_text"]) for v in note["vitals"]}
    assert ("heart_rate", "88") in found
    reference = {(f["kind"], str(f["value"])) for f in _facts("c01")["vitals"]}
    assert ("heart_rate", "88") in reference
    for v in note["vitals"]:
        assert transcript["text"][v["start"] : v["end"]] == v["text"]
    assert any(d["name"] == "hypertension" for d in note["diagnoses"])
    assert all(0 <= v["confidence"] <= 1 for v in note["vitals"])
    # PHI stays out of the artifact rows: only counts there.
    assert "hypertension" not in json.dumps(arts["soap_note"].data)
    bundle = json.loads(blobs.get(arts["fhir_bundle"].blob_key))
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert {"Composition", "Observation", "Condition", "DocumentReference"} <= set(types)
    assert types.count("Observation") == len(note["vitals"])
    pulse = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == "8867-4"
    )
    assert pulse["valueQuantity"] == {
        "value": 88,
        "unit": "/min",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    assert job.result["review"]["status"] == "not_required"
    assert job.result["emr"]["status"] == "kept"
    rtf = REGISTRY.get_sample_value(
        "carepipe_asr_rtf_count", {"model_version": arts["transcript"].model_version}
    )
    assert rtf and rtf >= 1


def test_corrupt_audio_is_a_dead_letter_and_the_raw_file_is_kept(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "corrupt.wav")
    (job,) = run_jobs([job_id], timeout=120)
    assert job.status == "dead" and job.error_code == "audio_unreadable"
    task = dead_task(db, job_id)
    assert task.stage == "asr" and task.attempts == 1
    with db.session() as s:
        msg = s.get(Message, job.message_id)
    assert blobs.get(msg.blob_key) == (DATA / "corrupt.wav").read_bytes()


def test_review_tenants_wait_for_a_clinician(db, blobs, settings, run_jobs):
    s = settings.model_copy(update={"review_tenants": "strict-clinic"})
    job_id = _submit(db, blobs, "c02.wav", tenant="strict-clinic")
    (job,) = run_jobs([job_id], timeout=300, settings_override=s)
    assert job.status == "waiting_review" and job.current_stage == "review"
    assert "fhir_bundle" not in artifacts_of(db, job_id)


def test_emr_push_and_a_rerun_creates_nothing_twice(db, blobs, settings, run_jobs):
    with running_fhir_test_server() as emr:
        s = settings.model_copy(update={"emr_fhir_url": emr.base_url})
        _known_patient(emr)
        job_id = _submit(
            db,
            blobs,
            "c03.wav",
            idempotency_key="visit-3",
            context={"patient_id": "p-123"},
        )
        (job,) = run_jobs([job_id], timeout=300, settings_override=s)
        assert job.status == "succeeded", job.error_message
        assert job.result["emr"]["status"] == "pushed" and job.result["emr"]["created"]
        first = {t: len(v) for t, v in emr.resources().items()}
        assert first.get("Composition") == 1
        # A backfill/replay re-runs the job from its FHIR stage: same ids, conditional creates.
        with db.transaction() as session:
            enqueue(session, job_id=job_id, queue="fhir", stage="fhir", replay=True)
            session.get(Job, job_id).status = "queued"
        (job,) = run_jobs([job_id], timeout=120, settings_override=s)
        assert job.status == "succeeded"
        assert {t: len(v) for t, v in emr.resources().items()} == first
        assert job.result["emr"]["created"] == []
        assert len([r for r in emr.requests() if r["method"] == "POST"]) == 2


def test_emr_5xx_is_retried_and_4xx_is_a_dead_letter(db, blobs, settings, run_jobs):
    with running_fhir_test_server() as emr:
        s = settings.model_copy(
            update={
                "emr_fhir_url": emr.base_url,
                "retry_base_seconds": 0.05,
                "retry_max_seconds": 0.1,
            }
        )
        _known_patient(emr)
        emr.fail(503, count=1)
        ok = _submit(db, blobs, "c04.wav", context={"patient_id": "p-123"})
        (job,) = run_jobs([ok], timeout=300, settings_override=s)
        assert job.status == "succeeded"
        with db.session() as session:
            emr_task = session.execute(
                select(Task).where(Task.job_id == ok, Task.stage == "emr")
            ).scalar_one()
        assert emr_task.attempts == 2
        emr.fail(
            422,
            body={
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "invalid", "diagnostics": "bad subject"}],
            },
        )
        bad = _submit(db, blobs, "c05.wav", context={"patient_id": "p-123"})
        (job,) = run_jobs([bad], timeout=300, settings_override=s)
        assert job.status == "dead" and job.error_code == "emr_rejected"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_a_misheard_drug_is_rescored_by_the_decoder_and_waits_for_review(
    db, blobs, settings, run_jobs, tmp_path
):
    # A dev-split sentence of the scribe evaluation, in its voice: Whisper hears
    # "montasonne"; the slot rescoring (forced alignment on the loaded model) proposes
    # mometasone, and the note stage records it as a correction that needs review.
    raw = tmp_path / "raw.wav"
    text = "This is sinusitis. Use mometasone nasal spray, two sprays in each nostril once daily."
    subprocess.run(["espeak-ng", "-v", "en-029", "-s", "173", "-w", str(raw), text], check=True)
    clip = tmp_path / "clip.wav"
    subprocess.run(["sox", "-R", "-D", str(raw), "-r", "16000", "-c", "1", str(clip)], check=True)
    job_id = submit(
        db,
        blobs,
        tenant="clinic",
        pipeline="scribe",
        payload=clip.read_bytes(),
        content_type="audio/wav",
        filename="clip.wav",
    ).job_id
    rescoring = settings.model_copy(update={"asr_rescore_slots": True})
    (job,) = run_jobs([job_id], timeout=300, settings_override=rescoring)
    assert job.status == "succeeded", job.error_message
    arts = artifacts_of(db, job_id)
    transcript = json.loads(blobs.get(arts["transcript"].blob_key))
    assert "mometasone" not in transcript["text"].lower()
    assert [p["replacement"] for p in transcript["extra"]["rescored"]] == ["mometasone"]
    note = json.loads(blobs.get(arts["soap_note"].blob_key))
    assert [c["replacement"] for c in note["corrections"] if c["kind"] == "rescored"] == [
        "mometasone"
    ]
    (med,) = [m for m in note["medications"] if m["name"] == "mometasone"]
    assert "asr_corrected:rescored" in med["flags"] and med["needs_review"]
    bundle = json.loads(blobs.get(arts["fhir_bundle"].blob_key))
    statements = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationStatement"
    ]
    assert statements and any(s.get("note") for s in statements)  # the reviewer is told why
