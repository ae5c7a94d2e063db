"""Fixtures of the FHIR tests: the EMR test double, one process per test module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from carepipe.interop.fhir import (
    AllergyInput,
    BundleContext,
    CodedValue,
    DiagnosisInput,
    DocumentInput,
    DosageInput,
    EncounterInput,
    ExtractedLabValue,
    FollowUpInput,
    LabOrderInput,
    LabReportInput,
    LabResultInput,
    MedicationInput,
    OrdersInput,
    PatientInput,
    PatientRef,
    ScribeInput,
    TimingInput,
    VitalSignInput,
)
from tests.support.fhir_test_server import FhirTestServer, running_fhir_test_server


@pytest.fixture(scope="module")
def emr_server() -> Iterator[FhirTestServer]:
    """The FHIR test double, started once per module."""
    with running_fhir_test_server() as server:
        yield server


@pytest.fixture
def emr(emr_server: FhirTestServer) -> FhirTestServer:
    """The FHIR test double, emptied for this test."""
    emr_server.reset()
    return emr_server


# --- Sample inputs (the shapes the stage handlers will pass) ------------------------------

IST = timezone(timedelta(hours=5, minutes=30))
MRN_SYSTEM = "urn:carepipe:acme:mrn:CITYHOSP"


@pytest.fixture
def ctx() -> BundleContext:
    return BundleContext(tenant="acme", job_key="job-0001")


@pytest.fixture
def patient_input() -> PatientInput:
    return PatientInput(
        mrn="MRN-7781",
        mrn_authority="CITYHOSP",
        abha_number="91-2345-6789-0123",
        family_name="Sharma",
        given_names=["Ravi", "Kumar"],
        gender="M",
        birth_date=date(1979, 3, 14),
        phone="+91-98450-00000",
    )


@pytest.fixture
def scribe_input() -> ScribeInput:
    return ScribeInput(
        patient=PatientRef.by_identifier(MRN_SYSTEM, "MRN-7781"),
        recorded_at=datetime(2024, 5, 1, 10, 30, tzinfo=IST),
        subjective="Fever for 3 days.\nNo cough. Patient says <it's worse at night>.",
        objective="Febrile, throat congested.",
        assessment="Acute pharyngitis.",
        plan="Paracetamol 650 mg TDS for 3 days. Review if not better.",
        vitals=[
            VitalSignInput("blood_pressure", systolic=128, diastolic=84),
            VitalSignInput("heart_rate", 96, "bpm"),
            VitalSignInput("temperature", 101.2, "F"),
            VitalSignInput("spo2", 97),
            VitalSignInput("weight", 72.5),
            VitalSignInput("respiratory_rate", 18),
        ],
        medications=[
            MedicationInput(
                "Paracetamol 650 mg tablet",
                dosage=DosageInput(
                    text="650 mg three times a day for 3 days",
                    route="oral",
                    dose_value=650,
                    dose_unit="mg",
                    timing=TimingInput(3, 1, "d", duration=3, duration_unit="d"),
                ),
            )
        ],
        diagnoses=[
            DiagnosisInput(
                "Acute pharyngitis", CodedValue("J02.9", "Acute pharyngitis, unspecified", "I10")
            ),
            DiagnosisInput("Fever", verification_status="provisional"),
        ],
        allergies=[
            AllergyInput(
                "Penicillin", reaction="Skin rash", category="medication", criticality="high"
            )
        ],
        transcript="Doctor: What brings you here?\nPatient: Fever since Monday.",
        transcript_language="en-IN",
        model_version="notes-llm-2024.04",
    )


@pytest.fixture
def encounter_input() -> EncounterInput:
    return EncounterInput(
        visit_number="V-2024-0042",
        visit_authority="CITYHOSP",
        encounter_class="I",
        status="in-progress",
        start=datetime(2024, 5, 1, 9, 0, tzinfo=IST),
    )


@pytest.fixture
def oru_report() -> LabReportInput:
    return LabReportInput(
        code=CodedValue("58410-2", "CBC panel", "LN"),
        filler_order_number="LAB-5521",
        placer_order_number="ORD-88",
        status="F",
        effective=datetime(2024, 5, 1, 8, 15, tzinfo=IST),
        issued=datetime(2024, 5, 1, 12, 0, tzinfo=IST),
        results=[
            LabResultInput(
                CodedValue("718-7", "Hemoglobin", "LN"), "11.2", "NM", "g/dl", "13.0-17.0", ["L"]
            ),
            LabResultInput(
                CodedValue("WBC", "White cell count", "99CITY", CodedValue("6690-2", None, "LN")),
                "12.4",
                "NM",
                "x10^3/uL",
                "4.0-11.0",
                ["H"],
            ),
            LabResultInput(CodedValue("2345-7", "Glucose", "LN"), "<40", "SN", "mg/dL", ">70"),
            LabResultInput(
                CodedValue("SMEAR", "Peripheral smear", "99CITY"), "Normocytic", "ST", status="P"
            ),
        ],
    )


@pytest.fixture
def document_input() -> DocumentInput:
    return DocumentInput(
        kind="lab_report",
        content=b"%PDF-1.4 fake scanned report bytes \x00\x01\x02",
        content_type="application/pdf",
        received_at=datetime(2024, 5, 2, 9, 0, tzinfo=UTC),
        ocr_text="CITY LAB\nHaemoglobin 11.2 g/dL (13-17)\nTSH 3.1 mIU/L",
        created=date(2024, 4, 30),
        engine="tesseract-5.3",
        lab_values=[
            ExtractedLabValue("Haemoglobin", "11.2", "g/dL", "718-7", "13-17", "L", 0.94),
            ExtractedLabValue("TSH", 3.1, "mIU/L", "3016-3", None, None, 0.88),
            ExtractedLabValue("Blood group", "B positive", None, None, None, None, 0.71),
        ],
    )


@pytest.fixture
def orders_input() -> OrdersInput:
    return OrdersInput(
        patient=PatientRef.by_id("501"),
        authored_on=datetime(2024, 1, 31, 11, 0, tzinfo=IST),
        medications=[
            MedicationInput(
                "Metformin 500 mg tablet",
                CodedValue("860975", "Metformin 500 MG Oral Tablet", "RXN"),
                DosageInput(
                    text="1 tablet twice daily after food",
                    route="oral",
                    dose_value=1,
                    dose_unit="tablet",
                    timing=TimingInput(2, 1, "d", when=["PC"]),
                ),
            ),
            MedicationInput(
                "Salbutamol inhaler",
                dosage=DosageInput(
                    text="2 puffs when needed for wheeze",
                    route="inhaled",
                    dose_value=2,
                    dose_unit="puffs",
                    as_needed=True,
                ),
            ),
        ],
        labs=[
            LabOrderInput("HbA1c", "4548-4"),
            LabOrderInput("Lipid profile", "57698-3", priority="urgent"),
            LabOrderInput("Chest X-ray", category="imaging"),
        ],
        follow_ups=[FollowUpInput("Follow up in 1 month with reports", 1, "mo")],
    )
