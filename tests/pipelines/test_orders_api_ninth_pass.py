"""The ninth pass's rules through the front door: POST ``/v1/jobs`` (pipeline ``orders``),
a real worker, then the job's result and its FHIR bundle as a partner reads them. Results
without a unit, tests already sent, declined and replaced drugs, asides and a "d/c home"
must not reach the bundle as orders (or as stops); the orders beside them must."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drugs_with_status,
    order,
    resources,
    service_texts,
    timing_repeat,
)


def test_results_and_tests_in_hand_send_no_service(client, auth, run_jobs) -> None:
    text = (
        "Hb 118, FBS 96, TSH 2.2. All normal. Blood cultures already sent; urine culture "
        "pending. Start doxycycline 100 mg BD"
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert resources(bundle, "ServiceRequest") == []
    assert drugs_with_status(bundle) == [("doxycycline", "active")]
    assert dose(resources(bundle, "MedicationRequest")[0]) == (100, "mg")
    listed = " | ".join(job["result"]["not_understood"])
    assert "FBS 96" in listed and "already sent" in listed


def test_declined_replaced_and_aside_drugs_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Clarithromycin 500 mg BD for 5 days instead of amoxicillin; vitamin K not needed. "
        "Stop aspirin (now on apixaban)."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drugs_with_status(bundle) == [("clarithromycin", "active"), ("aspirin", "stopped")]
    negated = " | ".join(job["result"]["negated"])
    assert "instead of amoxicillin" in negated and "vitamin K not needed" in negated


def test_a_switch_a_discharge_and_a_uk_inhaler(client, auth, run_jobs) -> None:
    text = (
        "Ramipril causing cough - switch to losartan 50 mg OD. "
        "d/c home on Fostair 100/6 two puffs BD"
    )
    _job, bundle = order(client, auth, run_jobs, text)
    assert drugs_with_status(bundle) == [
        ("ramipril", "stopped"),
        ("losartan", "active"),
        ("beclomethasone / formoterol (Fostair)", "active"),
    ]
    inhaler = resources(bundle, "MedicationRequest")[2]
    assert dose(inhaler) == (2, "puff")
    assert (timing_repeat(inhaler)["frequency"], timing_repeat(inhaler)["periodUnit"]) == (2, "d")


def test_uk_tests_and_a_study_named_twice_in_brackets(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "Group and save, FBC, clotting. USG pelvis (TVS)")
    texts = sorted(service_texts(bundle))
    assert texts == ["CBC", "Coagulation panel", "Pelvic ultrasound", "Type and screen"]
