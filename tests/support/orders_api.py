"""Orders through the front door, as a partner sees them: POST a free-text order to
``/v1/jobs``, let a real worker run it, read the job and its FHIR bundle back."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def order(client: TestClient, auth: dict[str, str], run_jobs, text: str) -> tuple[dict, dict]:
    """POST the order, run the worker, GET the job and its bundle."""
    r = client.post("/v1/jobs", json={"pipeline": "orders", "payload": text}, headers=auth)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    run_jobs([job_id])
    job = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "succeeded", job
    bundle = client.get(f"/v1/jobs/{job_id}/bundle", headers=auth)
    assert bundle.status_code == 200, bundle.text
    return job, bundle.json()


def resources(bundle: dict, kind: str) -> list[dict[str, Any]]:
    """The resources of one type in a bundle, in entry order."""
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def drug_names(bundle: dict) -> list[str]:
    """The medication text of each MedicationRequest, in entry order."""
    return [m["medicationCodeableConcept"]["text"] for m in resources(bundle, "MedicationRequest")]


def service_texts(bundle: dict) -> list[str]:
    """The code text of each ServiceRequest, in entry order."""
    return [s["code"]["text"] for s in resources(bundle, "ServiceRequest")]


def drugs_with_status(bundle: dict) -> list[tuple[str, str]]:
    """(medication text, status) of each MedicationRequest, in entry order."""
    return [
        (m["medicationCodeableConcept"]["text"], m["status"])
        for m in resources(bundle, "MedicationRequest")
    ]


def dose(med: dict[str, Any], i: int = 0) -> tuple[float, str]:
    """Value and unit of a MedicationRequest's ``i``-th dosage instruction."""
    q = med["dosageInstruction"][i]["doseAndRate"][0]["doseQuantity"]
    return q["value"], q["unit"]


def timing_repeat(med: dict[str, Any], i: int = 0) -> dict[str, Any]:
    """The timing ``repeat`` of a MedicationRequest's ``i``-th dosage instruction."""
    return med["dosageInstruction"][i]["timing"]["repeat"]


def order_action(med: dict[str, Any]) -> str:
    """The order action (start, stop, hold, change, continue) a MedicationRequest carries."""
    return next(e for e in med["extension"] if e["url"].endswith("order-action"))["valueCode"]


def follow_up_intervals(bundle: dict) -> list[tuple[float, str]]:
    """(value, UCUM code) of each Appointment's follow-up interval, sorted."""
    intervals = []
    for visit in resources(bundle, "Appointment"):
        ext = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
        intervals.append((ext["valueDuration"]["value"], ext["valueDuration"]["code"]))
    return sorted(intervals)


def listed(job: dict) -> str:
    """The job's fragments reported as not understood, joined for substring checks."""
    return " | ".join(job["result"]["not_understood"])
