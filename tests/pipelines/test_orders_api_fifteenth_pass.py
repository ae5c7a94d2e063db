"""The fifteenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. A dose told only against the usual one, a request to the payer, a past trial, a
finding after a dash, saline douching and a follow-up whose time a condition owns must not
reach the bundle as orders (what cannot be read is listed in the job's result); an arrow to
a new dose, "added", a dose worked out from the weight, new names and new services must
reach it as the writer meant."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    follow_up_intervals,
    listed,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_what_cannot_be_read_in_full_is_listed_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Prior authorization requested for Ozempic. Previous trial of amitriptyline stopped "
        "because of dry mouth. Restart glargine at 70% of the usual dose tonight. "
        "Saline nasal douching twice daily. Start sertraline 50 mg OD. RTC if no better in 1 week."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["sertraline"]
    assert resources(bundle, "Appointment") == []
    not_understood = listed(job)
    assert "70% of the usual dose" in not_understood
    assert "Saline nasal douching" in not_understood


def test_an_arrow_and_added_give_the_actions_written(client, auth, run_jobs) -> None:
    text = (
        "ramipril 2.5 mg OD -> 5 mg OD\n"
        "I have reduced her bisoprolol to 2.5 mg OD and added ivabradine 5 mg BD."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert drug_names(bundle) == ["ramipril", "bisoprolol", "ivabradine"]
    assert [order_action(m) for m in meds] == ["change", "change", "start"]
    assert dose(meds[0]) == (5, "mg")


def test_worked_out_doses_and_new_names(client, auth, run_jobs) -> None:
    text = (
        "Enoxaparin 1 mg/kg SC BD (wt 70 kg = 70 mg). Tab Febustat 80 mg OD. "
        "cefuroxime 250 MG tablet\nTake 1 tablet by mouth 3 (three) times daily."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert drug_names(bundle) == ["enoxaparin", "febuxostat (Febustat)", "cefuroxime"]
    assert dose(meds[0]) == (70, "mg")
    assert timing_repeat(meds[2])["frequency"] == 3


def test_new_services_and_findings(client, auth, run_jobs) -> None:
    text = (
        "Repeat U&E in 3 days - potassium has risen to 5.8. Refer to CAMHS. "
        "Ear swab for C&S. Come for dressing change after 3 days."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    assert sorted(service_texts(bundle)) == [
        "Child and adolescent mental health services",
        "Ear swab culture",
        "Renal function panel",
    ]
    assert follow_up_intervals(bundle) == [(3, "d")]
