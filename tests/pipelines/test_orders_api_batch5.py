"""Styles from the orders corpus's batch 5 (dev) that the engine used to miss, through the
front door: POST ``/v1/jobs`` (pipeline ``orders``), a real worker, then the job's result
and its FHIR bundle as a partner reads them (``GET /v1/jobs/{id}`` and ``/bundle``).
"""

from __future__ import annotations

import pytest

from tests.support.orders_api import (
    dose,
    drug_names,
    order,
    resources,
    service_texts,
    timing_repeat,
)


def test_strength_then_half_tablet_is_half_the_strength(client, auth, run_jobs) -> None:
    # "50 ½" used to be read as the mixed number 50.5.
    _job, bundle = order(client, auth, run_jobs, "Tab Met XL 50 ½ tab OD")
    (med,) = resources(bundle, "MedicationRequest")
    assert med["medicationCodeableConcept"]["text"] == "metoprolol (Met XL)"
    assert dose(med) == (25, "mg")
    assert timing_repeat(med)["frequency"] == 1


def test_brand_with_its_strength_glued_on(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "tab.dolo650 sos")
    (med,) = resources(bundle, "MedicationRequest")
    assert med["medicationCodeableConcept"]["text"] == "acetaminophen (dolo)"
    assert dose(med) == (650, "mg")
    assert med["dosageInstruction"][0]["asNeededBoolean"] is True
    assert job["result"]["not_understood"] == []


def test_one_schedule_for_a_list_of_drugs(client, auth, run_jobs) -> None:
    _job, bundle = order(
        client, auth, run_jobs, "Tab Ecosprin 75, Tab Clopilet 75, Tab Atorva 40 - all 0-0-1"
    )
    meds = resources(bundle, "MedicationRequest")
    assert drug_names(bundle) == [
        "aspirin (Ecosprin)",
        "clopidogrel (Clopilet)",
        "atorvastatin (Atorva)",
    ]
    for med in meds:
        repeat = timing_repeat(med)
        assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (1, 1, "d")


def test_a_vitamin_level_is_a_test_not_a_vitamin(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "S. uric acid, S. calcium, vit D levels, B12")
    assert resources(bundle, "MedicationRequest") == []
    labs = sorted(service_texts(bundle))
    assert labs == ["Serum calcium", "Uric acid", "Vitamin B12", "Vitamin D level"]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Psych consult re: low mood", ["Psychiatry"]),
        ("Gynae consult", ["Obstetrics and gynecology"]),
        ("Eye referral for diabetic retinopathy screening", ["Ophthalmology"]),
        ("Typhidot and Widal", ["Typhidot", "Widal test"]),
        ("EEG and nerve conduction study", ["EEG", "Nerve conduction study"]),
        ("CECT thorax", ["CT chest"]),
        ("CRP, procalcitonin, blood C/S", ["Blood culture", "CRP", "Procalcitonin"]),
    ],
)
def test_tests_studies_and_referrals_in_shorthand(
    client, auth, run_jobs, text: str, wanted: list[str]
) -> None:
    job, bundle = order(client, auth, run_jobs, text)
    got = sorted(
        s["code"].get("text") or s["code"]["coding"][0]["display"]
        for s in resources(bundle, "ServiceRequest")
    )
    assert got == wanted
    assert job["result"]["not_understood"] == []


def test_review_abbreviation_books_the_follow_up(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "R/V after 15 days")
    (visit,) = resources(bundle, "Appointment")
    interval = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
    assert (interval["valueDuration"]["value"], interval["valueDuration"]["code"]) == (15, "d")


def test_three_ingredient_brand_names_each_ingredient(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "Tab Zerodol SP bd after food")
    (med,) = resources(bundle, "MedicationRequest")
    text = med["medicationCodeableConcept"]["text"]
    assert text == "aceclofenac / acetaminophen / serratiopeptidase (Zerodol SP)"
    assert timing_repeat(med)["frequency"] == 2
