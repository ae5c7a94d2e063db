"""The seventh pass's rules through the front door: POST ``/v1/jobs`` (pipeline ``orders``),
a real worker, then the job's result and its FHIR bundle as a partner reads them. History,
findings and an infection named as a heading must not reach the bundle as orders; the
orders beside them must."""

from __future__ import annotations

from tests.support.orders_api import dose, drug_names, order, resources, service_texts


def test_history_beside_an_order_is_listed_not_sent(client, auth, run_jobs) -> None:
    text = (
        "Family history: mother on thyroxine. She was on metformin earlier but stopped it "
        "herself. Start sitagliptin 100 mg OD"
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["sitagliptin"]
    listed = " | ".join(job["result"]["not_understood"])
    assert "mother on thyroxine" in listed and "was on metformin" in listed


def test_a_value_after_a_test_is_a_finding(client, auth, run_jobs) -> None:
    job, bundle = order(client, auth, run_jobs, "Omit tonight's Xarelto dose, platelets 48k")
    (med,) = resources(bundle, "MedicationRequest")
    assert med["status"] == "on-hold"
    assert resources(bundle, "ServiceRequest") == []
    assert "platelets 48k" in job["result"]["not_understood"]


def test_a_finding_with_an_order_verb_is_ordered(client, auth, run_jobs) -> None:
    _job, bundle = order(
        client, auth, run_jobs, "pause the eplerenone, her potassium is 5.9 - repeat it tomorrow"
    )
    (lab,) = resources(bundle, "ServiceRequest")
    assert lab["code"]["coding"][0]["code"] == "2823-3"  # potassium, LOINC


def test_an_infection_heading_orders_only_itsdrug_names(client, auth, run_jobs) -> None:
    text = "H. pylori: clarithromycin 500 mg BID x 14 days, amoxicillin 1 g BID x 14 days"
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["clarithromycin", "amoxicillin"]
    assert resources(bundle, "ServiceRequest") == []
    assert job["result"]["not_understood"] == []


def test_lakh_units_and_new_services(client, auth, run_jobs) -> None:
    job, bundle = order(
        client,
        auth,
        run_jobs,
        "Inj Arachitol 6 lakh IU IM stat; haptoglobin, anti-Xa level; hepatology opinion",
    )
    (med,) = resources(bundle, "MedicationRequest")
    assert dose(med) == (600000, "[iU]")
    got = sorted(service_texts(bundle))
    assert got == ["Anti-Xa level", "Haptoglobin", "Hepatology"]
    assert job["result"]["not_understood"] == []


def test_and_is_not_a_one_day_follow_up(client, auth, run_jobs) -> None:
    _job, bundle = order(
        client, auth, run_jobs, "see the physio and get an MRI of that knee, come back in 3 weeks"
    )
    (visit,) = resources(bundle, "Appointment")
    interval = next(e for e in visit["extension"] if e["url"].endswith("follow-up-interval"))
    assert (interval["valueDuration"]["value"], interval["valueDuration"]["code"]) == (3, "wk")
    got = sorted(service_texts(bundle))
    assert got == ["MRI knee", "Physiotherapy"]
