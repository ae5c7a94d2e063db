"""The nineteenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. The drugs of a negated list, of a history told after the patient's age, of advice
against and of a decision for later must not reach the bundle as orders, nor a reading a
titration aims at, a reflex test or a dipstick's verdict; an arrow to the same drug is one
change with the new signature, a switch past a release form stops the first drug, and a
trailing signature keeps its need."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    drugs_with_status,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_negated_lists_histories_and_plans_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "72M with hx AF on apixaban and gout on allopurinol, dizzy for 2 days. "
        "Denies use of NSAIDs, aspirin, or clopidogrel. Advised against codeine. "
        "Will decide on a statin after the lipid panel. ECG and TSH w/ reflex FT4. "
        "Urine dip nitrite and leucocyte positive. "
        "Lantus 12 units at night, titrate by 2 units every 3 days until fasting CBG 5-7."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["insulin glargine (Lantus)"]
    assert sorted(service_texts(bundle)) == ["ECG", "TSH"]
    negated = " ".join(job["result"]["negated"])
    assert "aspirin" in negated and "clopidogrel" in negated and "codeine" in negated


def test_arrows_switches_and_trailing_signatures(client, auth, run_jobs) -> None:
    text = (
        "IV clarithromycin → PO clarithromycin 500 mg BD. "
        "Switch Toprol XL to bisoprolol 2.5 mg om. "
        "Ibuprofen 100 mg/5 mL, 7.5 mL PO q8h PRN fever or ear pain."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    clarithromycin, metoprolol, bisoprolol, ibuprofen = resources(bundle, "MedicationRequest")
    assert order_action(clarithromycin) == "change" and dose(clarithromycin) == (500, "mg")
    assert timing_repeat(clarithromycin)["frequency"] == 2
    assert order_action(metoprolol) == "stop"
    assert ("bisoprolol", "active") in drugs_with_status(bundle)
    assert timing_repeat(bisoprolol)["frequency"] == 1
    assert dose(ibuprofen) == (7.5, "mL")
    as_needed = ibuprofen["dosageInstruction"][0]
    assert as_needed.get("asNeededBoolean") is True or "fever" in as_needed.get(
        "asNeededCodeableConcept", {}
    ).get("text", "")
