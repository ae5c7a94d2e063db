"""summarize_bundle on hand-built FHIR R4 bundles."""

from __future__ import annotations

from typing import Any

import pytest

from carepipe.engines.orders import summarize_bundle

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ORAL = {"coding": [{"system": SCT, "code": "26643006", "display": "Oral route"}]}


def bundle(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        **extra,
        "entry": [
            {"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources, start=1)
        ],
    }


def med_request(name: str, dosage: dict | None = None, **kw: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": name},
        "subject": {"reference": "urn:uuid:99"},
        **kw,
    }
    if dosage is not None:
        res["dosageInstruction"] = [dosage]
    return res


def dose(value: float, unit: str, code: str | None = None) -> list[dict[str, Any]]:
    q = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": code or unit}
    return [{"doseQuantity": q}]


def lab(code: str, display: str, **kw: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SCT, "code": "108252007"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        **kw,
    }


def test_brief_example() -> None:
    b = bundle(
        med_request(
            "metformin",
            {
                "route": ORAL,
                "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                "doseAndRate": dose(500, "mg"),
            },
        ),
        lab("4548-4", "HbA1c"),
        lab("57698-3", "Lipid panel"),
        {
            "resourceType": "Appointment",
            "status": "proposed",
            "description": "Follow up in 3 months",
        },
    )
    assert summarize_bundle(b) == (
        "Start metformin 500 mg by mouth twice a day. Order HbA1c and lipid panel. "
        "Follow up in 3 months."
    )


def test_appointment_start_is_read_relative_to_the_bundle_time() -> None:
    b = bundle(
        {"resourceType": "Appointment", "status": "booked", "start": "2027-02-23T09:00:00Z"},
        timestamp="2026-11-23T10:00:00Z",
    )
    assert summarize_bundle(b) == "Follow up in 3 months (on 2027-02-23)."
    b2 = bundle(
        {"resourceType": "Appointment", "status": "booked", "start": "2026-12-07T09:00:00Z"}
    )
    assert summarize_bundle(b2) == "Follow up on 2026-12-07."


@pytest.mark.parametrize(
    ("kw", "verb"),
    [
        ({"status": "stopped"}, "Stop"),
        ({"status": "cancelled"}, "Stop"),
        ({"status": "on-hold"}, "Hold"),
        ({"priorPrescription": {"reference": "MedicationRequest/1"}}, "Change"),
        ({"doNotPerform": True}, "Do not give"),
        (
            {
                "extension": [
                    {
                        "url": "https://carepipe.example/fhir/StructureDefinition/order-action",
                        "valueCode": "continue",
                    }
                ]
            },
            "Continue",
        ),
    ],
)
def test_medication_actions(kw: dict, verb: str) -> None:
    assert summarize_bundle(bundle(med_request("lisinopril", **kw))) == f"{verb} lisinopril."


def test_dosage_details() -> None:
    b = bundle(
        med_request(
            "Ondansetron",
            {
                "route": {"text": "intravenous"},
                "timing": {
                    "repeat": {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}
                },
                "asNeededCodeableConcept": {"text": "Nausea"},
                "doseAndRate": dose(4, "mg"),
            },
        ),
        med_request(
            "insulin glargine",
            {
                "route": {"coding": [{"system": SCT, "code": "34206005"}]},
                "timing": {
                    "repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["HS"]}
                },
                "doseAndRate": dose(10, "IU", "[iU]"),
            },
        ),
        med_request(
            "amoxicillin",
            {
                "timing": {
                    "repeat": {
                        "frequency": 3,
                        "period": 1,
                        "periodUnit": "d",
                        "boundsDuration": {"value": 7, "unit": "days", "code": "d"},
                    }
                },
                "doseAndRate": dose(500, "mg"),
            },
        ),
        med_request(
            "salbutamol", {"doseAndRate": dose(1, "puff", "{puff}"), "asNeededBoolean": True}
        ),
        med_request("prednisolone", {"text": "taper as per chart"}),
    )
    assert summarize_bundle(b) == (
        "Start ondansetron 4 mg intravenously every 4 to 6 hours as needed for nausea. "
        "Start insulin glargine 10 units subcutaneously once a day at bedtime. "
        "Start amoxicillin 500 mg three times a day for 7 days. "
        "Start salbutamol 1 puff as needed. "
        "Start prednisolone taper as per chart."
    )


def test_medication_by_reference() -> None:
    med = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "6809",
                    "display": "Metformin",
                }
            ]
        },
    }
    req = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/m1"},
    }
    contained = {
        "resourceType": "MedicationRequest",
        "status": "stopped",
        "intent": "order",
        "contained": [{"resourceType": "Medication", "id": "x", "code": {"text": "Warfarin"}}],
        "medicationReference": {"reference": "#x"},
    }
    assert summarize_bundle(bundle(med, req, contained)) == "Start metformin. Stop warfarin."


def test_services_grouped_by_kind() -> None:
    imaging = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SCT, "code": "363679005"}]}],
        "code": {"text": "Chest X-ray"},
        "priority": "urgent",
    }
    referral = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "category": [{"coding": [{"system": SCT, "code": "3457005"}]}],
        "code": {"text": "Referral to cardiology"},
    }
    declined = {**lab("24356-8", "Urinalysis"), "doNotPerform": True}
    revoked = {**lab("3016-3", "TSH"), "status": "revoked"}
    b = bundle(lab("58410-2", "CBC"), imaging, referral, declined, revoked)
    assert summarize_bundle(b) == (
        "Order CBC and chest X-ray (urgent). Refer to cardiology. "
        "Do not order urinalysis. Cancel TSH."
    )


def test_context_resources() -> None:
    b = bundle(
        {
            "resourceType": "Patient",
            "name": [{"given": ["Asha"], "family": "Rao"}],
            "gender": "female",
            "birthDate": "1970-05-01",
        },
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "period": {"start": "2026-11-23T09:00:00Z"},
        },
        {
            "resourceType": "Condition",
            "code": {"text": "Type 2 diabetes mellitus"},
            "clinicalStatus": {"coding": [{"code": "active"}]},
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "4548-4", "display": "HbA1c"}]},
            "valueQuantity": {"value": 8.1, "unit": "%"},
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Blood pressure"},
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                    "valueQuantity": {"value": 142, "unit": "mmHg"},
                },
                {
                    "code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                    "valueQuantity": {"value": 90, "unit": "mmHg"},
                },
            ],
        },
        {
            "resourceType": "DiagnosticReport",
            "status": "final",
            "code": {"text": "Lipid panel"},
            "conclusion": "LDL above target.",
        },
        {
            "resourceType": "MedicationStatement",
            "status": "active",
            "medicationCodeableConcept": {"text": "amlodipine"},
            "dosage": [
                {
                    "doseAndRate": dose(5, "mg"),
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                }
            ],
        },
        {"resourceType": "Procedure", "status": "completed"},
    )
    assert summarize_bundle(b) == (
        "Patient: Asha Rao, female, born 1970-05-01. "
        "Encounter: ambulatory on 2026-11-23. "
        "Condition: type 2 diabetes mellitus. "
        "Observed: HbA1c 8.1 %; blood pressure 142/90 mmHg. "
        "Lipid panel report (final): LDL above target. "
        "Is taking amlodipine 5 mg once a day. "
        "Also contains 1 other resource (Procedure)."
    )


def test_empty_and_single_resource() -> None:
    assert summarize_bundle(bundle()) == "The bundle contains no clinical content."
    assert summarize_bundle(med_request("aspirin", {"doseAndRate": dose(81, "mg")})) == (
        "Start aspirin 81 mg."
    )
    with pytest.raises(TypeError):
        summarize_bundle("not a bundle")  # type: ignore[arg-type]


def test_round_trip_from_the_rules_engine() -> None:
    """Orders read from text, written as FHIR by hand, read back: the meaning survives."""
    from carepipe.engines.orders import RulesOrdersEngine

    r = RulesOrdersEngine().extract(
        "Stop lisinopril. Start amlodipine 5 mg po qd. Check CBC. Follow up in 6 weeks."
    )
    entries: list[dict[str, Any]] = []
    for m in r.medications:
        dosage: dict[str, Any] = {}
        if m.dose is not None:
            dosage["doseAndRate"] = dose(m.dose, m.dose_unit or "")
        if m.route == "oral":
            dosage["route"] = ORAL
        if m.timing is not None:
            dosage["timing"] = {"repeat": m.timing.model_dump(exclude_none=True)}
        status = "stopped" if m.action == "stop" else "active"
        entries.append(med_request(m.name, dosage or None, status=status))
    for s in r.services:
        entries.append(lab(s.code or "", s.display))
    for f in r.follow_ups:
        entries.append(
            {
                "resourceType": "Appointment",
                "status": "proposed",
                "description": f"Follow up in {f.value:g} weeks",
            }
        )
    assert summarize_bundle(bundle(*entries)) == (
        "Stop lisinopril. Start amlodipine 5 mg by mouth once a day. Order CBC. "
        "Follow up in 6 weeks."
    )


def test_follow_up_shapes() -> None:
    requested = {
        "resourceType": "Appointment",
        "status": "proposed",
        "created": "2026-11-23",
        "requestedPeriod": [{"start": "2026-12-07"}],
        "participant": [{"actor": {"reference": "Patient/p1"}, "status": "needs-action"}],
    }
    window = {
        "resourceType": "Appointment",
        "status": "proposed",
        "requestedPeriod": [{"start": "2027-01-01", "end": "2027-01-15"}],
    }
    as_request = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "code": {"text": "Follow-up visit"},
        "patientInstruction": "See the diabetes nurse in 6 weeks",
    }
    cancelled = {"resourceType": "Appointment", "status": "cancelled", "description": "Review"}
    assert summarize_bundle(bundle(requested, window, as_request, cancelled)) == (
        "See the diabetes nurse in 6 weeks. Follow up in 2 weeks (from 2026-12-07). "
        "Follow up between 2027-01-01 and 2027-01-15. Cancelled: Review."
    )


def test_text_only_dosage_does_not_repeat_the_name() -> None:
    b = bundle(med_request("glipizide", {"text": "glipizide"}, status="stopped"))
    assert summarize_bundle(b) == "Stop glipizide."


def _interop_bundle(text: str) -> dict[str, Any]:
    """Text -> rules engine -> the project's FHIR orders builder (mapped by hand here)."""
    fhir = pytest.importorskip("carepipe.interop.fhir")
    from carepipe.engines.orders import RulesOrdersEngine

    r = RulesOrdersEngine().extract(text)
    meds = []
    for m in r.medications:
        t = m.timing
        timing = (
            fhir.TimingInput(
                frequency=t.frequency or 1,
                period=t.period or 1,
                period_unit=t.periodUnit or "d",
                when=tuple(t.when or ()),
                duration=m.duration.value if m.duration else None,
                duration_unit=m.duration.unit if m.duration else None,
            )
            if t
            else None
        )
        meds.append(
            fhir.MedicationInput(
                name=m.name,
                status="stopped" if m.action == "stop" else "active",
                dosage=fhir.DosageInput(
                    text=m.text,
                    route=m.route,
                    dose_value=m.dose,
                    dose_unit=m.dose_unit,
                    timing=timing,
                    as_needed=m.as_needed,
                    as_needed_reason=m.as_needed_for,
                ),
            )
        )
    labs = [
        fhir.LabOrderInput(name=s.display, loinc=s.code, category=s.category)
        for s in r.services
        if s.category in ("laboratory", "imaging")
    ]
    follow_ups = [
        fhir.FollowUpInput(description=f.text, interval=int(f.value), interval_unit=f.unit)
        for f in r.follow_ups
    ]
    return fhir.build_orders_bundle(
        fhir.BundleContext("t1", "job-1"),
        fhir.OrdersInput(
            patient=fhir.PatientRef(server_id="p1"),
            authored_on="2026-11-23",
            medications=meds,
            labs=labs,
            follow_ups=follow_ups,
        ),
    )


def test_reads_back_the_project_fhir_builder() -> None:
    b = _interop_bundle(
        "Start metformin 500 mg po twice daily for 3 months. Paracetamol 1 g q6h prn fever. "
        "Order HbA1c and lipid panel and a chest x-ray, follow up in 3 months."
    )
    assert summarize_bundle(b) == (
        "Start metformin 500 mg by mouth twice a day for 3 months. "
        "Start acetaminophen 1 g every 6 hours as needed for fever. "
        "Order HbA1c, lipid panel and chest X-ray. Follow up in 3 months."
    )


def test_a_stop_order_survives_the_project_fhir_builder() -> None:
    b = _interop_bundle("Stop glipizide.")
    assert summarize_bundle(b) == "Stop glipizide."
