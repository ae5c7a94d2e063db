"""The eighteenth pass's rules through the front door: POST ``/v1/jobs`` (pipeline
``orders``), a real worker, then the job's result and its FHIR bundle as a partner reads
them. A level told after a drug's name, an age, the drugs a letter says are taken now, a
verdict in a bracket, the finding an order is for and a decline "not appropriate" must not
reach the bundle as orders; "which she should continue" continues the drug, a same-drug
switch to a new signature is a change, two meals a day are twice a day, a dose per m2 keeps
its unit, and a specialty OPD with its time is a visit."""

from __future__ import annotations

from tests.support.orders_api import (
    dose,
    drug_names,
    follow_up_intervals,
    order,
    order_action,
    resources,
    service_texts,
    timing_repeat,
)


def test_results_ages_and_drugs_taken_now_are_not_ordered(client, auth, run_jobs) -> None:
    text = (
        "Dear Dr Rao,\nKindly see this 66 y/o lady with CKD for renal opinion. "
        "Current Rx Tab Telma 40 OD, Inj Lantus 16 units HS. Vit D 12 ng/ml. "
        "Urology referral for cystoscopy (urine cytology positive). "
        "Order USG abdomen for raised ALP. Pioglitazone not appropriate - heart failure. "
        "Start colecalciferol 800 units OD."
    )
    job, bundle = order(client, auth, run_jobs, text)
    assert drug_names(bundle) == ["cholecalciferol"]
    assert sorted(service_texts(bundle)) == ["Abdominal ultrasound", "Cystoscopy", "Urology"]
    assert resources(bundle, "Appointment") == []
    assert any("Pioglitazone not appropriate" in n for n in job["result"]["negated"])


def test_continue_switch_and_meals(client, auth, run_jobs) -> None:
    text = (
        "Her anxiety is better on escitalopram 10 mg, which she should continue. "
        "Switch carvedilol 3.125 mg BD to 6.25 mg BD. "
        "Huminsulin 30/70 18 units before breakfast and before dinner."
    )
    _job, bundle = order(client, auth, run_jobs, text)
    escitalopram, carvedilol, insulin = resources(bundle, "MedicationRequest")
    assert order_action(escitalopram) == "continue"
    assert order_action(carvedilol) == "change" and dose(carvedilol) == (6.25, "mg")
    assert timing_repeat(insulin)["frequency"] == 2


def test_dose_per_square_metre_and_opd_visit(client, auth, run_jobs) -> None:
    text = "Paclitaxel 175 mg/m2 IV D1 q21d. Oncology OPD 3 weeks."
    _job, bundle = order(client, auth, run_jobs, text)
    (paclitaxel,) = resources(bundle, "MedicationRequest")
    assert dose(paclitaxel) == (175, "mg/m2")
    assert service_texts(bundle) == []
    assert follow_up_intervals(bundle) == [(3, "wk")]
