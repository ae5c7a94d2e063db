"""The twenty-first pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. What the patient takes of their own accord, a course told and a test declined do not
reach the bundle; a change after an en dash carries the new dose; two antibiotics written
"a/b" and switched are two stops; the amount worked out after a semicolon is the dose; split
doses at three times of day are three a day; "suture removal after 7 days" is the visit."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    follow_up_intervals,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_what_is_told_or_declined_is_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Takes over-the-counter cetirizine occasionally. "
        "Sore throat settled with the penicillin V course. "
        "FIT test declined. "
        "Start bisoprolol 1.25 mg once daily."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert [n.lower() for n in drug_names(bundle)] == ["bisoprolol"]
    assert service_texts(bundle) == []
    assert any("FIT test declined" in n for n in job["result"]["negated"])
    assert any("cetirizine" in n for n in job["result"]["not_understood"])


def test_changes_switches_and_worked_out_doses(client, auth, run_jobs) -> None:
    text = (
        "Citalopram 20 mg \u2013 reduce to 10 mg once daily. "
        "Switch ceftriaxone/clarithromycin to co-amoxiclav 625 mg TDS. "
        "Prednisolone 1 mg/kg once daily (max 40 mg); weight 18 kg, give 18 mg."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    citalopram, ceftriaxone, clarithromycin, coamox, prednisolone = resources(
        bundle, "MedicationRequest"
    )
    assert order_action(citalopram) == "change" and dose(citalopram) == (10, "mg")
    assert [order_action(m) for m in (ceftriaxone, clarithromycin)] == ["stop", "stop"]
    assert order_action(coamox) == "start"
    assert dose(prednisolone) == (18, "mg")


def test_split_daily_doses_and_a_visit_for_sutures(client, auth, run_jobs) -> None:
    text = (
        "Hydrocortisone 10 mg on waking, 5 mg at midday and 5 mg at 4 pm. "
        "Suture removal after 10 days."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    (hydrocortisone,) = resources(bundle, "MedicationRequest")
    assert dose(hydrocortisone) == (10, "mg")
    assert timing_repeat(hydrocortisone)["frequency"] == 3
    assert service_texts(bundle) == []
    assert follow_up_intervals(bundle) == [(10, "d")]
