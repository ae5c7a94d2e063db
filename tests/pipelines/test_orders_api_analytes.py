"""An analyte given as a medicine, through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, the FHIR bundle a partner reads. The old reading ordered a
potassium test and no potassium."""

from __future__ import annotations

from tests.support.orders_api import dose, order, resources


def test_iv_potassium_is_a_medication_request_not_a_potassium_test(client, auth, run_jobs) -> None:
    _job, bundle = order(
        client, auth, run_jobs, "IV potassium 40 mEq over 4 hours, recheck potassium in 4 hours"
    )
    (med,) = resources(bundle, "MedicationRequest")
    assert med["medicationCodeableConcept"]["text"] == "potassium chloride"
    assert dose(med) == (40, "meq")
    (lab,) = resources(bundle, "ServiceRequest")  # the recheck is the only test
    assert lab["code"]["text"] == "Potassium"


def test_the_anaesthetic_grade_and_a_timing_drug_order_nothing(client, auth, run_jobs) -> None:
    job, bundle = order(
        client, auth, run_jobs, "ASA grade II. Folic acid 5 mg weekly the day after MTX"
    )
    (med,) = resources(bundle, "MedicationRequest")
    assert med["medicationCodeableConcept"]["text"] == "folic acid"
    assert "ASA grade II" in job["result"]["not_understood"]
