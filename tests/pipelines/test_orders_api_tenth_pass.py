"""The tenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline ``orders``),
a real worker, then the job's result and its FHIR bundle as a partner reads them. Doses
given in casualty, current medicines and another team's plan must not reach the bundle as
orders; a dose written before the name, a dose range, a route switch and a follow-up in
other words must reach it as the writer meant."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drugs_with_status,
    order,
    resources,
    service_texts,
    timing_repeat,
)


def test_doses_given_earlier_and_current_meds_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Was given ceftriaxone 1 g in casualty. Home meds: lisinopril 20 daily. "
        "Orthogeriatrics have recommended starting zoledronic acid. Give 25 g glucose IV"
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drugs_with_status(bundle) == [("dextrose", "active")]
    assert dose(resources(bundle, "MedicationRequest")[0]) == (25, "g")
    listed = " | ".join(job["result"]["not_understood"])
    assert "in casualty" in listed and "lisinopril" in listed and "zoledronic" in listed


def test_a_route_switch_and_a_dose_range(client, auth, run_jobs) -> None:
    text = "Switch IV paracetamol to oral paracetamol 1 g QDS. Oxycodone 5-10 mg PO q4h PRN pain"
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert drugs_with_status(bundle) == [("acetaminophen", "active"), ("oxycodone", "active")]
    action = next(e for e in meds[0]["extension"] if e["url"].endswith("order-action"))
    assert action["valueCode"] == "change"
    assert dose(meds[0]) == (1, "g") and timing_repeat(meds[0])["frequency"] == 4
    assert dose(meds[1]) == (5, "mg")
    assert meds[1]["dosageInstruction"][0]["asNeededCodeableConcept"]["text"] == "pain"


def test_results_and_a_follow_up_in_other_words(client, auth, run_jobs) -> None:
    text = "CT A/P read as unremarkable. Colonoscopy 2019 normal. Wound check in 2 days."
    _job, bundle = order(client, auth, run_jobs, text)
    assert resources(bundle, "ServiceRequest") == []
    (visit,) = resources(bundle, "Appointment")
    interval = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
    assert (interval["valueDuration"]["value"], interval["valueDuration"]["code"]) == (2, "d")


def test_discharge_list_headings_and_new_names(client, auth, run_jobs) -> None:
    text = (
        "CHANGED: furosemide 40 mg PO BID\nSTOPPED: bendroflumethiazide\n"
        "NEW: Hartmann's 1000 mL IV over 8 hrs\nUrine dip, plasma aldosterone"
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert drugs_with_status(bundle) == [
        ("furosemide", "active"),
        ("bendroflumethiazide", "stopped"),
        ("ringer lactate", "active"),
    ]
    action = next(e for e in meds[0]["extension"] if e["url"].endswith("order-action"))
    assert action["valueCode"] == "change"
    assert dose(meds[2]) == (1000, "mL")
    texts = sorted(service_texts(bundle))
    assert texts == ["Aldosterone", "Urinalysis"]
