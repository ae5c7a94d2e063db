"""Free-text orders through the real engine, FHIR builder, validator and worker."""

from __future__ import annotations

import json

from carepipe.pipelines.ingest import submit
from tests.pipelines.conftest import artifacts_of


def _submit(db, blobs, text: str, **kw) -> str:
    return submit(
        db,
        blobs,
        tenant="clinic",
        pipeline="orders",
        payload=text.encode(),
        content_type="text/plain",
        **kw,
    ).job_id


def test_orders_text_becomes_a_validated_bundle_with_a_summary(db, blobs, run_jobs):
    job_id = _submit(
        db,
        blobs,
        "Start metformin 500 mg twice daily, order HbA1c and lipid panel, follow up in 3 months",
        idempotency_key="ord-1",
    )
    (job,) = run_jobs([job_id])
    assert job.status == "succeeded", job.error_message
    assert job.result["understood"] is True
    assert job.result["orders"] == {"medications": 1, "services": 2, "follow_ups": 1}
    assert job.result["emr"]["status"] == "kept"
    summary = job.result["summary"]
    assert "metformin 500 mg" in summary and "HbA1c" in summary and "3 months" in summary
    arts = artifacts_of(db, job_id)
    bundle = json.loads(blobs.get(arts["fhir_bundle"].blob_key))
    types = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
    assert types.count("MedicationRequest") == 1 and types.count("ServiceRequest") >= 2
    med = next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    )
    repeat = med["dosageInstruction"][0]["timing"]["repeat"]
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (2, 1, "d")
    assert arts["orders"].engine and arts["orders"].model_version


def test_stop_order_is_not_sent_as_active(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "Stop glipizide. Start sitagliptin 100 mg once daily.")
    (job,) = run_jobs([job_id])
    bundle = json.loads(blobs.get(artifacts_of(db, job_id)["fhir_bundle"].blob_key))
    statuses = {
        e["resource"]["medicationCodeableConcept"]["text"].lower(): e["resource"]["status"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    }
    assert statuses["glipizide"] == "stopped" and statuses["sitagliptin"] == "active"
    summary = job.result["summary"]
    assert "Stop glipizide." in summary
    assert summary.index("Stop glipizide.") < summary.index("Start sitagliptin")


def test_unparseable_text_says_what_was_not_understood(db, blobs, run_jobs):
    job_id = _submit(db, blobs, "The weather was lovely and the patient enjoyed the garden.")
    (job,) = run_jobs([job_id])
    assert job.status == "succeeded"
    assert job.result["understood"] is False and job.result["not_understood"]
    assert "fhir_bundle" not in artifacts_of(db, job_id)
