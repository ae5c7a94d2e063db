"""The eleventh pass's rules through the front door: POST ``/v1/jobs`` (pipeline ``orders``),
a real worker, then the job's result and its FHIR bundle as a partner reads them. A drug
history, a background drug and a proposal the patient turns down must not reach the bundle
as orders; "Pt on Tab Metformin 500 BD, continue" must reach it as a continue, a change
written after the sig and doses at several times of day as the writer meant, and a test
sharing its specimen with the one before as an order of its own."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drugs_with_status,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_the_known_gap_a_drug_the_patient_is_on_then_continue(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "Pt on Tab Metformin 500 BD, continue")
    (med,) = resources(bundle, "MedicationRequest")
    assert drugs_with_status(bundle) == [("metformin", "active")]
    assert order_action(med) == "continue"
    assert dose(med) == (500, "mg") and timing_repeat(med)["frequency"] == 2


def test_history_background_drugs_and_refusals_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "DH: ramipril 5 mg OD, clopidogrel 75 mg OD.\n"
        "TSH 0.08 on Thyronorm 100 mcg. "
        "Advised CAG, patient and relatives not willing at present. "
        "Add ezetimibe 10 mg once a day on top of the rosuvastatin."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drugs_with_status(bundle) == [("ezetimibe", "active")]
    assert resources(bundle, "ServiceRequest") == []
    assert any("Advised CAG" in n for n in job["result"]["negated"])
    listed = " | ".join(job["result"]["not_understood"])
    assert "ramipril" in listed and "Thyronorm" in listed


def test_a_change_after_the_sig_and_doses_at_several_times(client, auth, run_jobs) -> None:
    text = (
        "Ferrous fumarate 210 mg TDS - change to OD (GI side effects). "
        "Hydrocortisone 15 mg qAM and 5 mg at 3 PM. Zofran 4 IV q6 prn."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    iron, hydrocortisone, ondansetron = resources(bundle, "MedicationRequest")
    assert order_action(iron) == "change"
    assert dose(iron) == (210, "mg") and timing_repeat(iron)["frequency"] == 1
    assert timing_repeat(hydrocortisone)["frequency"] == 2
    repeat = timing_repeat(ondansetron)
    assert (repeat["period"], repeat["periodUnit"]) == (6, "h")
    assert ondansetron["dosageInstruction"][0]["asNeededBoolean"] is True


def test_shared_specimens_and_follow_ups_in_other_words(client, auth, run_jobs) -> None:
    text = (
        "Stool routine and culture. Legionella and pneumococcal urinary antigens. "
        "Follow up with cardiology in 1 week and PCP in 2 weeks."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    texts = sorted(service_texts(bundle))
    assert texts == [
        "Legionella urinary antigen",
        "Pneumococcal urinary antigen",
        "Stool culture",
        "Stool routine",
    ]
    intervals = []
    for visit in resources(bundle, "Appointment"):
        ext = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
        intervals.append((ext["valueDuration"]["value"], ext["valueDuration"]["code"]))
    assert sorted(intervals) == [(1, "wk"), (2, "wk")]
