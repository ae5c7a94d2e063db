"""Issue 12's orders examples as regression tests through the front door.

Each order is POSTed to ``/v1/jobs`` (pipeline ``orders``) on the real FastAPI app, a real
worker runs extract -> fhir -> emr, and the test reads what a partner gets back:
``GET /v1/jobs/{id}`` (result, summary, what was not understood) and
``GET /v1/jobs/{id}/bundle`` (the validated FHIR bundle).
"""

from __future__ import annotations

import json

from tests.support.orders_api import dose, order, resources, service_texts, timing_repeat

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_weekly_vitamin_d_keeps_its_60000_units(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "Vitamin D3 60,000 IU once weekly")
    (med,) = resources(bundle, "MedicationRequest")
    assert dose(med) == (60000, "[iU]")
    repeat = timing_repeat(med)
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (1, 1, "wk")
    summary = job["result"]["summary"]
    assert "60000 units" in summary and "once a week" in summary
    assert "0 units" not in summary.replace("60000 units", "")


def test_half_tablet_halves_the_dose(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "Metoprolol 25 mg half tab BD")
    (med,) = resources(bundle, "MedicationRequest")
    assert dose(med) == (12.5, "mg")
    assert timing_repeat(med)["frequency"] == 2
    coding = med["medicationCodeableConcept"]["coding"]
    assert {"system": RXNORM, "code": "6918", "display": "metoprolol"} in coding


def test_hold_is_on_hold_not_stopped(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "hold ramipril tonight")
    (med,) = resources(bundle, "MedicationRequest")
    assert med["status"] == "on-hold"
    assert med["medicationCodeableConcept"]["text"] == "ramipril"
    assert "Hold ramipril" in job["result"]["summary"]


def test_rx_shorthand_is_read(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "Rx amox 500 tid x7d")
    (med,) = resources(bundle, "MedicationRequest")
    assert med["status"] == "active"
    assert med["medicationCodeableConcept"]["text"] == "amoxicillin"
    assert {"system": RXNORM, "code": "723", "display": "amoxicillin"} in med[
        "medicationCodeableConcept"
    ]["coding"]
    assert dose(med) == (500, "mg")
    repeat = timing_repeat(med)
    assert (repeat["frequency"], repeat["period"], repeat["periodUnit"]) == (3, 1, "d")
    assert (repeat["boundsDuration"]["value"], repeat["boundsDuration"]["code"]) == (7, "d")
    assert "amoxicillin 500 mg three times a day for 7 days" in job["result"]["summary"]


def test_follow_up_with_fbs_ppbs(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "f/u 1 month with FBS PPBS")
    (visit,) = resources(bundle, "Appointment")
    interval = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
    assert (interval["valueDuration"]["value"], interval["valueDuration"]["code"]) == (1, "mo")
    labs = resources(bundle, "ServiceRequest")
    assert sorted(s["code"].get("text") for s in labs) == [
        "Fasting blood glucose",
        "Postprandial blood glucose",
    ]
    fbs = next(s for s in labs if s["code"]["text"] == "Fasting blood glucose")
    assert fbs["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "1558-6",
        "display": "Fasting glucose [Mass/volume] in Serum or Plasma",
    }
    assert job["result"]["not_understood"] == []


def test_sputum_afb_is_a_service_request(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "sputum AFB")
    (lab,) = resources(bundle, "ServiceRequest")
    assert lab["code"]["text"] == "Sputum AFB smear"
    assert lab["category"][0]["coding"][0]["code"] == "108252007"  # laboratory procedure
    assert job["result"]["understood"] is True


def test_words_not_understood_are_listed_beside_the_orders(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "Order CBC, LFT and sputum xyz")
    assert len(resources(bundle, "ServiceRequest")) == 2
    assert job["result"]["not_understood"] == ["sputum xyz"]
    assert 'Not understood: "sputum xyz".' in job["result"]["summary"]


def test_indian_brand_keeps_brand_and_codes_generic(client, auth, run_jobs) -> None:
    _job, bundle = order(client, auth, run_jobs, "Tab Crocin 650 1-0-1 x 3 days")
    (med,) = resources(bundle, "MedicationRequest")
    concept = med["medicationCodeableConcept"]
    assert concept["text"] == "acetaminophen (Crocin)"
    assert {"system": RXNORM, "code": "161", "display": "acetaminophen"} in concept["coding"]
    assert dose(med) == (650, "mg")
    assert timing_repeat(med)["when"] == ["MORN", "NIGHT"]


def test_loading_dose_then_maintenance_are_two_dose_steps(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "Loading dose aspirin 300 mg stat, then 75 mg OD")
    (med,) = resources(bundle, "MedicationRequest")
    assert [d["sequence"] for d in med["dosageInstruction"]] == [1, 2]
    assert dose(med, 0) == (300, "mg") and timing_repeat(med, 0) == {"count": 1}
    assert dose(med, 1) == (75, "mg") and timing_repeat(med, 1)["frequency"] == 1
    assert "300 mg once only; then 75 mg once a day" in job["result"]["summary"]


def test_text_with_no_order_lists_it_and_sends_nothing(client, auth, run_jobs) -> None:
    r = client.post("/v1/jobs", json={"pipeline": "orders", "payload": "Stop NSAIDs"}, headers=auth)
    job_id = r.json()["id"]
    run_jobs([job_id])
    job = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
    assert job["status"] == "succeeded"
    assert job["result"]["understood"] is False
    assert job["result"]["not_understood"] == ["Stop NSAIDs"]
    none = client.get(f"/v1/jobs/{job_id}/bundle", headers=auth)
    assert none.status_code in (404, 409) and none.json()["error"]["code"]  # no bundle made


def test_tenant_formulary_codes_win_and_rxnorm_is_kept(
    client, auth, run_jobs, settings, tmp_path
) -> None:
    formulary = tmp_path / "formulary"
    formulary.mkdir()
    (formulary / "clinic.json").write_text(
        json.dumps(
            [
                {
                    "name": "Crocin",
                    "code": "PH-0042",
                    "system": "https://hospital.example/formulary",
                    "display": "Crocin 650 mg tablet",
                }
            ]
        )
    )
    settings.orders_formulary_dir = formulary
    _job, bundle = order(client, auth, run_jobs, "Tab Crocin 650 SOS")
    (med,) = resources(bundle, "MedicationRequest")
    coding = med["medicationCodeableConcept"]["coding"]
    assert coding[0] == {
        "system": "https://hospital.example/formulary",
        "code": "PH-0042",
        "display": "Crocin 650 mg tablet",
    }
    assert coding[1]["system"] == RXNORM and coding[1]["code"] == "161"


def test_wider_vocabulary_and_sig_rules_reach_the_bundle(client, auth, run_jobs) -> None:
    # 2026-11-28: generics beyond the shared lexicon, US brands, a weekday schedule, a
    # bare fraction after the strength, a threshold PRN and new tests, through the API.
    text = (
        "Tab Prolomet XL 50 mg ½ OD; MTX 10 mg every Monday; Narcan 0.4 mg IV PRN RR < 8; "
        "meloxicam 7.5 mg OD. Order serum lactate, CT C-spine and urine Legionella antigen."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = {
        m["medicationCodeableConcept"]["text"].split(" (")[0]: m
        for m in resources(bundle, "MedicationRequest")
    }
    assert dose(meds["metoprolol"]) == (25, "mg")
    week = timing_repeat(meds["methotrexate"])
    assert (week["frequency"], week["period"], week["periodUnit"]) == (1, 1, "wk")
    assert meds["naloxone"]["dosageInstruction"][0]["asNeededCodeableConcept"]["text"]
    assert dose(meds["meloxicam"]) == (7.5, "mg")
    services = set(service_texts(bundle))
    assert services == {"Lactate", "CT cervical spine", "Legionella urinary antigen"}


def test_an_infusion_rate_is_not_a_dose_and_a_date_is_not_a_schedule(
    client, auth, run_jobs
) -> None:
    _job, bundle = order(
        client, auth, run_jobs, "IVF RL 100 ml/hr. Hold Ecosprin from today - surgery on Monday"
    )
    meds = {
        m["medicationCodeableConcept"]["text"].split(" (")[0]: m
        for m in resources(bundle, "MedicationRequest")
    }
    assert "doseAndRate" not in meds["ringer lactate"]["dosageInstruction"][0]
    assert "timing" not in meds["aspirin"].get("dosageInstruction", [{}])[0]
    # The IV fluid is not a lactate test.
    assert resources(bundle, "ServiceRequest") == []
