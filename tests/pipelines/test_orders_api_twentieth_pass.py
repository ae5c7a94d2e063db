"""The twentieth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. The amount worked out from a dose by weight is the dose the bundle carries; an arrow
after a weight is no change; an allergic reaction told, a course finished, the drug an order
is added to and the drug a timing is told by do not reach the bundle as orders; a checked
calcium is a laboratory request; "up from A to B" is a change to B, "X and Y withheld" holds
both, and "skip tonight's dose" holds the drug."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_doses_worked_out_from_the_weight(client, auth, run_jobs) -> None:
    text = (
        "Gentamicin 7 mg/kg = 420 mg IV once daily. "
        "Cefalexin 50 mg/kg/day divided TDS (wt 12 kg = 200 mg PO TDS) x 5 days. "
        "Paracetamol 15 mg/kg PO q6h prn pain (wt 20 kg -> 300 mg)."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    gentamicin, cefalexin, paracetamol = resources(bundle, "MedicationRequest")
    assert dose(gentamicin) == (420, "mg")
    assert dose(cefalexin) == (200, "mg") and timing_repeat(cefalexin)["frequency"] == 3
    assert dose(paracetamol) == (300, "mg")
    assert order_action(paracetamol) == "start"


def test_histories_and_background_drugs_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Had an allergic reaction to co-trimoxazole last year. "
        "Doing well after the course of doxycycline. "
        "Add amlodipine 5 mg OD to ramipril. "
        "Chlorphenamine 10 mg IV 30 minutes before the iron infusion. "
        "Check calcium before the next dose."
    )
    job, bundle = order(client, auth, run_jobs, text)
    names = " ".join(drug_names(bundle)).lower()
    assert "amlodipine" in names and "chlorphen" in names
    for absent in ("trimoxazole", "sulfamethoxazole", "doxycycline", "ramipril", "iron"):
        assert absent not in names
    assert len(resources(bundle, "MedicationRequest")) == 2
    assert service_texts(bundle) == ["Serum calcium"]
    assert any("co-trimoxazole" in n for n in job["result"]["not_understood"])


def test_changes_holds_and_skipped_doses(client, auth, run_jobs) -> None:
    text = (
        "Atenolol up from 25 mg to 50 mg once daily. "
        "Tab Aspirin and Tab Clopidogrel withheld for the biopsy. "
        "Skip tonight's dose of rivaroxaban."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    atenolol, aspirin, clopidogrel, rivaroxaban = resources(bundle, "MedicationRequest")
    assert order_action(atenolol) == "change" and dose(atenolol) == (50, "mg")
    assert [order_action(m) for m in (aspirin, clopidogrel, rivaroxaban)] == ["hold"] * 3
    assert all(m["status"] == "on-hold" for m in (aspirin, clopidogrel, rivaroxaban))
