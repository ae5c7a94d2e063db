"""The twelfth pass's rules through the front door: POST ``/v1/jobs`` (pipeline ``orders``),
a real worker, then the job's result and its FHIR bundle as a partner reads them. A question,
an option, what the patient asks about, what the patient is on and results must not reach
the bundle as orders; a change after the drug told, a discharge list's bracketed action, a
24-hour clock time, a drug level and a follow-up's purpose must reach it as the writer
meant."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drugs_with_status,
    follow_up_intervals,
    listed,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_questions_options_and_what_the_patient_asks_are_not_ordered(
    client, auth, run_jobs
) -> None:
    text = (
        "Should we add Tab Jardiance? Pt asked about Ozempic for weight loss - not covered. "
        "If penicillin allergy is confirmed, clarithromycin would be the alternative. "
        "Orthopaedic referral not required at this stage. Start metformin 500 mg BD."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drugs_with_status(bundle) == [("metformin", "active")]
    assert resources(bundle, "ServiceRequest") == []
    assert all(name in listed(job) for name in ("Jardiance", "Ozempic", "clarithromycin"))
    assert any("Orthopaedic" in n for n in job["result"]["negated"])


def test_what_the_patient_is_on_is_history_and_a_change_after_it_is_ordered(
    client, auth, run_jobs
) -> None:
    text = (
        "Started on ramipril 1.25 mg OD by cardiology last month; increase to 2.5 mg OD now. "
        "Remains on apixaban 5 mg BID, managed by cardiology. "
        "He has been taking OTC ibuprofen 800 mg TID for knee pain."
    )
    job, bundle = order(client, auth, run_jobs, text)
    (med,) = resources(bundle, "MedicationRequest")
    assert med["medicationCodeableConcept"]["text"] == "ramipril"
    assert order_action(med) == "change"
    assert dose(med) == (2.5, "mg") and timing_repeat(med)["frequency"] == 1
    assert "apixaban" in listed(job) and "ibuprofen" in listed(job)


def test_results_and_a_follow_ups_purpose_order_no_test(client, auth, run_jobs) -> None:
    text = (
        "Rapid strep and flu swab negative. 2D echo (outside): EF 35%. "
        "Review after 7 days for suture removal. Recheck ears in 48 hours."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    assert resources(bundle, "ServiceRequest") == []
    assert resources(bundle, "MedicationRequest") == []
    assert follow_up_intervals(bundle) == [(7, "d"), (48, "h")]


def test_clock_times_bracketed_actions_and_drug_levels(client, auth, run_jobs) -> None:
    text = (
        "Discharge meds:\n- Lantus 10 units SC at 22:00 (new)\n- Aspirin 81 mg PO daily (continue)\n"
        "- Vancomycin 1.25 g IV q12h with trough before 4th dose"
    )
    _job, bundle = order(client, auth, run_jobs, text)
    glargine, aspirin, vancomycin = resources(bundle, "MedicationRequest")
    assert order_action(glargine) == "start"
    repeat = timing_repeat(glargine)
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (1, 1, "d")
    assert order_action(aspirin) == "continue"
    assert dose(vancomycin) == (1.25, "g")
    texts = service_texts(bundle)
    assert texts == ["Vancomycin trough level"]
