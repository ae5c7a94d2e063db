"""The eighth pass's rules through the front door: POST ``/v1/jobs`` (pipeline ``orders``),
a real worker, then the job's result and its FHIR bundle as a partner reads them. History
told with a dose, results, plans for later and a review in a specialty's OPD must not
reach the bundle as orders; the orders beside them must."""

from __future__ import annotations

from tests.support.orders_api import dose, drug_names, order, resources


def test_history_with_a_dose_is_listed_not_sent(client, auth, run_jobs) -> None:
    text = (
        "Received ceftriaxone 2 g in the ED prior to admission. Allergies: codeine (nausea). "
        "Start doxycycline 100 mg BD"
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["doxycycline"]
    assert dose(resources(bundle, "MedicationRequest")[0]) == (100, "mg")
    listed = " | ".join(job["result"]["not_understood"])
    assert "Received ceftriaxone" in listed and "codeine" in listed


def test_results_and_a_declined_test_send_no_service(client, auth, run_jobs) -> None:
    text = "Sputum culture grew Haemophilus. Urine culture not needed. U&E in 2 weeks"
    job, bundle = order(client, auth, run_jobs, text)
    (lab,) = resources(bundle, "ServiceRequest")
    assert lab["code"]["coding"][0]["code"] == "24362-6"  # renal function panel, LOINC
    assert "Urine culture not needed" in job["result"]["negated"]


def test_a_plan_for_later_and_an_opd_review(client, auth, run_jobs) -> None:
    text = (
        "If the calprotectin comes back raised we will refer to gastroenterology. "
        "Review in cardiology OPD after 1 week"
    )
    _job, bundle = order(client, auth, run_jobs, text)
    assert resources(bundle, "ServiceRequest") == []
    assert resources(bundle, "MedicationRequest") == []
    (visit,) = resources(bundle, "Appointment")
    interval = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
    assert (interval["valueDuration"]["value"], interval["valueDuration"]["code"]) == (1, "wk")
