"""Scanned documents through real Tesseract OCR, extraction, FHIR building and the worker."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from carepipe.core.models import Message
from carepipe.pipelines.ingest import submit
from tests.pipelines.conftest import artifacts_of, dead_task

DATA = Path(__file__).resolve().parents[1] / "data" / "ocr"


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    # OCR time dominates; the queue is covered on both databases elsewhere.
    import shutil

    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def _submit(db, blobs, name: str, content_type: str) -> str:
    return submit(
        db,
        blobs,
        tenant="lab",
        pipeline="ocr",
        payload=(DATA / name).read_bytes(),
        content_type=content_type,
        filename=name,
    ).job_id


def test_lab_report_becomes_document_reference_and_observations(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "lab_cbc_clean.png", "image/png")
    (job,) = run_jobs([job_id], timeout=180)
    assert job.status == "succeeded", job.error_message
    truth = json.loads((DATA / "lab_cbc_clean.json").read_text())
    assert job.result["extract"]["document_type"] == truth["document_type"]
    bundle = json.loads(blobs.get(artifacts_of(db, job_id)["fhir_bundle"].blob_key))
    resources = [e["resource"] for e in bundle["entry"]]
    doc = next(r for r in resources if r["resourceType"] == "DocumentReference")
    original = next(
        c["attachment"] for c in doc["content"] if c["attachment"]["contentType"] == "image/png"
    )
    assert base64.b64decode(original["data"]) == (DATA / "lab_cbc_clean.png").read_bytes()
    observations = {
        o["code"]["coding"][0]["code"]: o
        for o in resources
        if o["resourceType"] == "Observation" and o["code"].get("coding")
    }
    hb = observations["718-7"]
    assert hb["valueQuantity"]["value"] == 11.2 and hb["valueQuantity"]["code"] == "g/dL"
    # The identity read off the report makes the bundle's Patient (issue 12), matched on
    # the ABHA number printed on it, with the MRN and the demographics beside it.
    (patient,) = [r for r in resources if r["resourceType"] == "Patient"]
    assert hb["subject"]["reference"] == next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"] is patient
    )
    assert patient["identifier"][0]["value"].replace("-", "") == "91482177305512"
    assert "CP-100234" in [i["value"] for i in patient["identifier"]]
    entry = next(e for e in bundle["entry"] if e["resource"] is patient)
    assert "91482177305512" in entry["request"]["ifNoneExist"].replace("-", "")
    assert patient["birthDate"] == "1985-03-12" and patient["gender"] == "female"
    ocr = artifacts_of(db, job_id)["ocr_text"]
    assert ocr.engine and ocr.model_version and 0 < ocr.confidence <= 1


def test_two_page_pdf(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "discharge_summary_2pages.pdf", "application/pdf")
    (job,) = run_jobs([job_id], timeout=180)
    assert job.status == "succeeded", job.error_message
    assert job.result["ocr"]["pages"] == 2
    assert job.result["extract"]["document_type"] == "discharge_summary"


def test_corrupt_image_is_a_dead_letter_and_kept(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "corrupt.png", "image/png")
    (job,) = run_jobs([job_id], timeout=60)
    assert job.status == "dead" and job.error_code == "image_unreadable"
    assert dead_task(db, job_id).stage == "ocr"
    with db.session() as s:
        msg = s.get(Message, job.message_id)
    assert blobs.get(msg.blob_key) == (DATA / "corrupt.png").read_bytes()
