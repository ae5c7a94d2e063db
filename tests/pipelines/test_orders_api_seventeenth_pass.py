"""The seventeenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. A decline after a dash, an abbreviated verdict, what was considered and set aside, a
drug that "was stopped" and a reaction told must not reach the bundle as orders; a stop goes
out with no dose, a count inside a limit is no dose, "advised to stop" stops the drug told, a
change takes the signature after "to", and the new names reach it as the writer meant."""

from __future__ import annotations

from typing import Any

from tests.support.orders_api import (
    dose,
    drug_names,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def _doses(med: dict[str, Any]) -> list[dict[str, Any]]:
    """Every dose quantity a MedicationRequest carries."""
    return [
        r["doseQuantity"]
        for d in med.get("dosageInstruction", [])
        for r in d.get("doseAndRate", [])
        if "doseQuantity" in r
    ]


def test_declines_verdicts_and_history_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Celecoxib - avoid, CKD 4. MRI knee offered - pt declines. "
        "Labs: TSH wnl, D-dimer neg. Considered CT head, but GCS 15. "
        "Inj enoxaparin was stopped on day 5. Had a rash with Tab Septran last year. "
        "Start amlodipine 5 mg OD."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["amlodipine"]
    assert service_texts(bundle) == []
    negated = " | ".join(job["result"]["negated"])
    assert "Celecoxib - avoid" in negated and "pt declines" in negated
    assert "Considered CT head" in negated


def test_a_stop_goes_out_with_no_dose(client, auth, run_jobs) -> None:
    text = "D/c atenolol 50 mg BD. Start bisoprolol 5 mg OD."
    _job, bundle = order(client, auth, run_jobs, text)
    stop, start = resources(bundle, "MedicationRequest")
    assert order_action(stop) == "stop" and stop["status"] == "stopped"
    assert _doses(stop) == []
    assert order_action(start) == "start" and dose(start) == (5, "mg")


def test_limits_advice_to_stop_and_changes(client, auth, run_jobs) -> None:
    text = (
        "Tab Crocin 500 SOS (max 4 tabs/day). "
        "She is taking naproxen 500 mg BD. Told to stop. "
        "Change omeprazole 40 mg IV BD to 20 mg PO OD."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    crocin, naproxen, omeprazole = resources(bundle, "MedicationRequest")
    assert dose(crocin) == (500, "mg")
    assert order_action(naproxen) == "stop"
    assert order_action(omeprazole) == "change" and dose(omeprazole) == (20, "mg")
    assert timing_repeat(omeprazole)["frequency"] == 1


def test_new_names(client, auth, run_jobs) -> None:
    text = "Tab Osteofos 70 mg once weekly. Kayexalate 15 g PO once. BCx x2, Dig level. TCI 2/52"
    _job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["alendronate (Osteofos)", "sodium polystyrene sulfonate"]
    assert service_texts(bundle) == ["Blood culture", "Digoxin level"]
    assert len(resources(bundle, "Appointment")) == 1
