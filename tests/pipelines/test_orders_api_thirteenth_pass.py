"""The thirteenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. What was taken, given or treated with, a decline, the topic of counselling, a test
already read and a test as a condition must not reach the bundle as orders; a count and
schedule after a comma, a count range, drugs told on hold, new names and a recheck with the
practice nurse must reach it as the writer meant."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    drugs_with_status,
    follow_up_intervals,
    listed,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_what_was_taken_given_or_declined_is_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "On warfarin for AF, INR 2.4 today. Admitted with CAP, treated with IV co-amoxiclav. "
        "Loading dose of clopidogrel 300 mg given today; please continue clopidogrel 75 mg OD. "
        "She does not want to start sertraline."
    )
    job, bundle = order(client, auth, run_jobs, text)
    (med,) = resources(bundle, "MedicationRequest")
    assert med["medicationCodeableConcept"]["text"] == "clopidogrel"
    assert order_action(med) == "continue" and dose(med) == (75, "mg")
    assert "warfarin" in listed(job)
    assert any("sertraline" in n for n in job["result"]["negated"])


def test_topics_read_tests_and_conditions_order_no_test(client, auth, run_jobs) -> None:
    text = (
        "Counselled regarding regular home glucose monitoring. "
        "HR 48 on today's ECG: reduce bisoprolol to 2.5 mg OD. "
        "Hold metformin for 48 h after IV contrast; resume if creatinine stable."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    assert resources(bundle, "ServiceRequest") == []
    assert drugs_with_status(bundle) == [("bisoprolol", "active"), ("metformin", "on-hold")]
    bisoprolol = resources(bundle, "MedicationRequest")[0]
    assert order_action(bisoprolol) == "change" and dose(bisoprolol) == (2.5, "mg")


def test_counts_ranges_and_drugs_told_on_hold(client, auth, run_jobs) -> None:
    text = (
        "Paracetamol 500 mg tablets, two tablets four times a day (max 8 in 24 hours). "
        "GTN spray 1-2 sprays under the tongue PRN chest pain. "
        "Resume home medications apart from lisinopril and HCTZ, which are on hold for AKI."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    paracetamol, gtn, *held = resources(bundle, "MedicationRequest")
    assert dose(paracetamol) == (1000, "mg")
    assert timing_repeat(paracetamol)["frequency"] == 4
    assert dose(gtn)[0] == 1
    assert gtn["dosageInstruction"][0]["asNeededCodeableConcept"]
    assert [(m["medicationCodeableConcept"]["text"], m["status"]) for m in held] == [
        ("lisinopril", "on-hold"),
        ("hydrochlorothiazide", "on-hold"),
    ]


def test_new_names_and_a_recheck_with_the_practice_nurse(client, auth, run_jobs) -> None:
    text = (
        "Tab Glizid M 1-0-1. Inj Hydrocort 100 mg IV stat. 24-hour ECG, cardiology OPA. "
        "Repeat Cr in AM. Recheck BP in 4 weeks with the practice nurse."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    names = drug_names(bundle)
    assert names == ["gliclazide / metformin (Glizid M)", "hydrocortisone (Hydrocort)"]
    services = sorted(service_texts(bundle))
    assert services == ["Cardiology", "Creatinine", "Holter monitor"]
    assert follow_up_intervals(bundle) == [(4, "wk")]
