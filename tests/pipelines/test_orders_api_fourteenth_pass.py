"""The fourteenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. A study enclosed with a letter, a stop told with its agent, what a drug did to the
patient, the topic of a talk and the drug an interaction is with must not reach the bundle
as orders; "All to continue", a trailing "- continue", new names, a falling strength pair
and new services must reach it as the writer meant."""

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


def test_a_letter_orders_only_what_it_starts(client, auth, run_jobs) -> None:
    text = (
        "Dear Colleague,\nI note that ramipril was stopped by the renal team in March. "
        "Metformin caused diarrhoea. Discussed the risks of warfarin. "
        "I have started atorvastatin 80 mg at night. His resting ECG from today is enclosed."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["atorvastatin"]
    assert resources(bundle, "ServiceRequest") == []


def test_listed_drugs_all_continued(client, auth, run_jobs) -> None:
    text = (
        "Tab Met XL 25 1-0-0\nTab Storvas 20 0-0-1\nAll to continue.\n"
        "Repeat prescription: levothyroxine 50 micrograms OD and amlodipine 5 mg OD - continue."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert drug_names(bundle) == [
        "metoprolol (Met XL)",
        "atorvastatin (Storvas)",
        "levothyroxine",
        "amlodipine",
    ]
    assert [order_action(m) for m in meds] == ["continue"] * 4


def test_interaction_drug_and_new_names(client, auth, run_jobs) -> None:
    text = (
        "Switch omeprazole to lansoprazole 15 mg daily because of the interaction with "
        "clopidogrel. Humira 40 mg SC every other week. "
        "Lisinopril-hydrochlorothiazide 20-12.5 mg PO daily."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    names = drug_names(bundle)
    assert "clopidogrel" not in " ".join(names)
    assert names[:2] == ["omeprazole", "lansoprazole"]
    assert [order_action(m) for m in meds[:2]] == ["stop", "start"]
    humira = next(m for m in meds if "adalimumab" in m["medicationCodeableConcept"]["text"])
    assert dose(humira) == (40, "mg")
    assert (timing_repeat(humira)["period"], timing_repeat(humira)["periodUnit"]) == (2, "wk")
    combo = meds[-1]
    assert "hydrochlorothiazide" in combo["medicationCodeableConcept"]["text"]
    assert "doseAndRate" not in combo["dosageInstruction"][0]  # a combination strength


def test_new_services_and_services_had(client, auth, run_jobs) -> None:
    text = (
        "Pain improved with physiotherapy. Refer to orthotics. 2WW referral to colorectal. "
        "Please swab the wound. Widal, CBC, MP. Awaiting MRI spine."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    services = sorted(service_texts(bundle))
    assert services == [
        "CBC",
        "General surgery",
        "Malaria parasite test",
        "Orthotics",
        "Widal test",
        "Wound swab culture",
    ]
