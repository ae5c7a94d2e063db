"""The sixteenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. A value read on a day, a test whose value sets when a drug restarts, a test named for
its biopsy results, a drug named to time another and a dose given told with its subject
must not reach the bundle as orders; "- no change", a bare "hourly", a packet, spoken
hundreds with hyphens and the new names must reach it as the writer meant."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    listed,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_results_conditions_and_timing_drugs_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "RBS 310 this morning. Patient given metformin yesterday. "
        "Restart ramipril when creatinine is back to baseline. "
        "Start apixaban 5 mg BD 12 hours after the last dose of enoxaparin. "
        "Clinic in 2 weeks to discuss colonoscopy biopsy results."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["ramipril", "apixaban"]
    assert service_texts(bundle) == []
    assert len(resources(bundle, "Appointment")) == 1
    assert "Patient given metformin yesterday" in listed(job)


def test_no_change_hourly_packets_and_spoken_hundreds(client, auth, run_jobs) -> None:
    text = (
        "Levothyroxine 100 micrograms OD - no change.\n"
        "Haloperidol 0.5 mg SC hourly PRN agitation\n"
        "ORS 1 packet in 1 litre of water after each loose stool\n"
        "and naproxen two-fifty twice a day with food"
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert [m["medicationCodeableConcept"]["text"].split(" (")[0] for m in meds] == [
        "levothyroxine",
        "haloperidol",
        "oral rehydration salts",
        "naproxen",
    ]
    assert order_action(meds[0]) == "continue"
    hourly = timing_repeat(meds[1])
    assert (hourly["period"], hourly["periodUnit"]) == (1, "h")
    assert dose(meds[2])[1] == "sachet"
    assert dose(meds[3]) == (250, "mg")


def test_new_names(client, auth, run_jobs) -> None:
    text = "Fragmin 5000 units SC OD. Dermovate ointment thinly BD. Orlistat 120 mg TDS with meals."
    _job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["dalteparin (Fragmin)", "clobetasol (Dermovate)", "orlistat"]
    meds = resources(bundle, "MedicationRequest")
    assert dose(meds[0])[0] == 5000


def test_sig_lines_titrations_and_route_switches(client, auth, run_jobs) -> None:
    text = (
        "Rx: Losartan 25 mg tablet\nSig: Take 1 tab PO daily\n"
        "Start bisoprolol 1.25 mg OD, increase by 1.25 mg every 2 weeks to 5 mg OD. "
        "Day 3 IV co-amoxiclav, afebrile. Switch to oral co-amoxiclav 625 mg TDS. "
        "EMG/NCS both legs. Annual review. Next review in 1 year."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    meds = resources(bundle, "MedicationRequest")
    assert drug_names(bundle) == ["losartan", "bisoprolol", "amoxicillin / clavulanate"]
    assert timing_repeat(meds[0])["frequency"] == 1
    assert [dose(meds[1], i)[0] for i in range(4)] == [1.25, 2.5, 3.75, 5]
    assert order_action(meds[2]) == "change"
    assert service_texts(bundle) == ["EMG/nerve conduction study"]
    assert len(resources(bundle, "Appointment")) == 1
