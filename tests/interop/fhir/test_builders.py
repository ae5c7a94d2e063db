"""The four pipelines' bundle builders: valid bundles with the right content."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from typing import Any

import pytest

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import (
    BundleContext,
    DocumentInput,
    EncounterInput,
    MedicationInput,
    OrdersInput,
    PatientInput,
    PatientRef,
    PractitionerRef,
    ScribeInput,
    build_adt_bundle,
    build_document_bundle,
    build_orders_bundle,
    build_oru_bundle,
    build_scribe_bundle,
    codes,
    encounter_status_for_event,
    timing_from_text,
    validate_bundle,
)

Json = dict[str, Any]


def resources(bundle: Json, rtype: str) -> list[Json]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def one(bundle: Json, rtype: str) -> Json:
    found = resources(bundle, rtype)
    assert len(found) == 1, rtype
    return found[0]


def loinc_of(concept: Json) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c["system"] == codes.LOINC]


def full_urls(bundle: Json) -> set[str]:
    return {e["fullUrl"] for e in bundle["entry"]}


# --- scribe ------------------------------------------------------------------------------


def test_scribe_bundle_is_valid_and_complete(ctx: BundleContext, scribe_input: ScribeInput) -> None:
    bundle = build_scribe_bundle(ctx, scribe_input)
    assert validate_bundle(bundle) == []
    assert bundle["type"] == "transaction"
    counts = {}
    for entry in bundle["entry"]:
        counts[entry["resource"]["resourceType"]] = (
            counts.get(entry["resource"]["resourceType"], 0) + 1
        )
    assert counts == {
        "Encounter": 1,
        "Observation": 6,
        "Condition": 2,
        "MedicationStatement": 1,
        "AllergyIntolerance": 1,
        "DocumentReference": 1,
        "Composition": 1,
    }
    # Every resource names the patient by the conditional MRN reference.
    subject = {"reference": "Patient?identifier=urn:carepipe:acme:mrn:CITYHOSP|MRN-7781"}
    for obs in resources(bundle, "Observation"):
        assert obs["subject"] == subject
    assert one(bundle, "AllergyIntolerance")["patient"] == subject


def test_scribe_vitals_use_loinc_and_ucum(ctx: BundleContext, scribe_input: ScribeInput) -> None:
    bundle = build_scribe_bundle(ctx, scribe_input)
    by_code = {loinc_of(o["code"])[0]: o for o in resources(bundle, "Observation")}
    assert set(by_code) == {"85354-9", "8867-4", "8310-5", "59408-5", "29463-7", "9279-1"}
    bp = by_code["85354-9"]
    assert "valueQuantity" not in bp
    assert [
        (loinc_of(c["code"])[0], c["valueQuantity"]["value"], c["valueQuantity"]["code"])
        for c in bp["component"]
    ] == [("8480-6", 128, "mm[Hg]"), ("8462-4", 84, "mm[Hg]")]
    assert by_code["8867-4"]["valueQuantity"]["code"] == "/min"
    assert by_code["8310-5"]["valueQuantity"] == {
        "value": 101.2,
        "unit": "F",
        "system": codes.UCUM,
        "code": "[degF]",
    }
    assert by_code["59408-5"]["valueQuantity"]["code"] == "%"
    assert by_code["29463-7"]["valueQuantity"]["code"] == "kg"
    for obs in by_code.values():
        assert obs["category"][0]["coding"][0]["code"] == "vital-signs"
        assert obs["status"] == "preliminary"  # the note is a draft
        assert obs["effectiveDateTime"] == "2024-05-01T10:30:00+05:30"


def test_scribe_composition_sections_and_entries(
    ctx: BundleContext, scribe_input: ScribeInput
) -> None:
    bundle = build_scribe_bundle(ctx, scribe_input)
    composition = one(bundle, "Composition")
    assert loinc_of(composition["type"]) == ["11488-4"]
    assert composition["status"] == "preliminary"
    assert composition["author"] == [
        {"type": "Device", "display": "CarePipe scribe (notes-llm-2024.04)"}
    ]
    sections = {s["title"]: s for s in composition["section"]}
    assert list(sections) == ["Subjective", "Objective", "Assessment", "Plan"]
    assert loinc_of(sections["Assessment"]["code"]) == ["51848-0"]
    assert "&lt;it's worse at night&gt;" in sections["Subjective"]["text"]["div"]
    urls = {e["fullUrl"]: e["resource"]["resourceType"] for e in bundle["entry"]}
    assert {urls[r["reference"]] for r in sections["Objective"]["entry"]} == {"Observation"}
    assert len(sections["Objective"]["entry"]) == 6
    assert {urls[r["reference"]] for r in sections["Assessment"]["entry"]} == {"Condition"}
    assert {urls[r["reference"]] for r in sections["Plan"]["entry"]} == {"MedicationStatement"}
    assert urls[composition["encounter"]["reference"]] == "Encounter"


def test_scribe_note_type_generic_and_empty_sections_dropped(
    ctx: BundleContext, scribe_input: ScribeInput
) -> None:
    note = ScribeInput(
        patient=scribe_input.patient,
        recorded_at=scribe_input.recorded_at,
        subjective="Only history was taken.",
        note_type="note",
    )
    bundle = build_scribe_bundle(ctx, note)
    assert validate_bundle(bundle) == []
    composition = one(bundle, "Composition")
    assert loinc_of(composition["type"]) == ["34109-9"]
    assert [s["title"] for s in composition["section"]] == ["Subjective"]


def test_scribe_medication_condition_allergy_transcript(
    ctx: BundleContext, scribe_input: ScribeInput
) -> None:
    bundle = build_scribe_bundle(ctx, scribe_input)
    med = one(bundle, "MedicationStatement")
    dosage = med["dosage"][0]
    assert med["medicationCodeableConcept"] == {"text": "Paracetamol 650 mg tablet"}
    assert dosage["timing"]["repeat"] == {
        "frequency": 3,
        "period": 1,
        "periodUnit": "d",
        "boundsDuration": {"value": 3, "unit": "d", "system": codes.UCUM, "code": "d"},
    }
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["doseAndRate"][0]["doseQuantity"]["code"] == "mg"

    conditions = resources(bundle, "Condition")
    coded = conditions[0]["code"]["coding"][0]
    assert (coded["system"], coded["code"]) == (codes.ICD10, "J02.9")
    assert conditions[1]["code"] == {"text": "Fever"}
    assert conditions[1]["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert conditions[0]["clinicalStatus"]["coding"][0]["code"] == "active"

    allergy = one(bundle, "AllergyIntolerance")
    assert allergy["code"] == {"text": "Penicillin"}
    assert allergy["criticality"] == "high"
    assert allergy["reaction"][0]["manifestation"] == [{"text": "Skin rash"}]

    attachment = one(bundle, "DocumentReference")["content"][0]["attachment"]
    assert attachment["contentType"].startswith("text/plain")
    assert base64.b64decode(attachment["data"]).decode() == scribe_input.transcript


def test_final_note_with_approval_and_known_encounter(
    ctx: BundleContext, scribe_input: ScribeInput
) -> None:
    note = replace(
        scribe_input,
        status="final",
        encounter=EncounterInput(server_id="enc-9"),
        author=PractitionerRef(server_id="dr-7", display="Dr. A. Rao"),
        approved_by=PractitionerRef(server_id="dr-7"),
        approved_at=scribe_input.recorded_at,
    )
    bundle = build_scribe_bundle(ctx, note)
    assert validate_bundle(bundle, known_server_ids={"Encounter/enc-9", "Practitioner/dr-7"}) == []
    assert resources(bundle, "Encounter") == []
    composition = one(bundle, "Composition")
    assert composition["encounter"] == {"reference": "Encounter/enc-9"}
    assert composition["attester"][0]["mode"] == "legal"
    assert composition["attester"][0]["party"] == {"reference": "Practitioner/dr-7"}
    assert {o["status"] for o in resources(bundle, "Observation")} == {"final"}


# --- HL7 ADT / ORU -----------------------------------------------------------------------


def test_adt_bundle_patient_and_encounter(
    ctx: BundleContext, patient_input: PatientInput, encounter_input: EncounterInput
) -> None:
    bundle = build_adt_bundle(ctx, patient_input, encounter_input)
    assert validate_bundle(bundle) == []
    patient = one(bundle, "Patient")
    assert patient["gender"] == "male"
    assert patient["birthDate"] == "1979-03-14"
    assert patient["name"] == [{"use": "official", "family": "Sharma", "given": ["Ravi", "Kumar"]}]
    systems = {i["system"]: i["value"] for i in patient["identifier"]}
    assert systems["urn:carepipe:acme:mrn:CITYHOSP"] == "MRN-7781"
    assert systems[codes.ABHA_SYSTEM] == "91-2345-6789-0123"
    entries = bundle["entry"]
    assert entries[0]["request"] == {
        "method": "POST",
        "url": "Patient",
        "ifNoneExist": "identifier=urn:carepipe:acme:mrn:CITYHOSP|MRN-7781",
    }
    encounter = one(bundle, "Encounter")
    assert encounter["class"]["code"] == "IMP"
    assert encounter["subject"] == {"reference": entries[0]["fullUrl"]}
    assert (
        entries[1]["request"]["ifNoneExist"]
        == "identifier=urn:carepipe:acme:visit:CITYHOSP|V-2024-0042"
    )


def test_adt_update_uses_conditional_put(
    ctx: BundleContext, patient_input: PatientInput, encounter_input: EncounterInput
) -> None:
    bundle = build_adt_bundle(ctx, patient_input, encounter_input, update=True)
    assert validate_bundle(bundle) == []
    assert [e["request"] for e in bundle["entry"]] == [
        {"method": "PUT", "url": "Patient?identifier=urn:carepipe:acme:mrn:CITYHOSP|MRN-7781"},
        {
            "method": "PUT",
            "url": "Encounter?identifier=urn:carepipe:acme:visit:CITYHOSP|V-2024-0042",
        },
    ]


@pytest.mark.parametrize(
    ("sex", "gender"),
    [
        ("M", "male"),
        ("F", "female"),
        ("O", "other"),
        ("U", "unknown"),
        ("A", "other"),
        ("f", "female"),
        ("female", "female"),
    ],
)
def test_hl7_sex_maps_to_fhir_gender(ctx: BundleContext, sex: str, gender: str) -> None:
    bundle = build_adt_bundle(ctx, PatientInput(mrn="1", gender=sex))
    assert one(bundle, "Patient")["gender"] == gender


def test_unsupported_sex_code_and_missing_identifier_are_permanent(ctx: BundleContext) -> None:
    with pytest.raises(FhirInvalid) as caught:
        build_adt_bundle(ctx, PatientInput(mrn="1", gender="Q"))
    assert "Q" not in caught.value.message.split()
    with pytest.raises(FhirInvalid, match="no MRN"):
        build_adt_bundle(ctx, PatientInput(family_name="Nobody"))


def test_mrn_system_from_oid_and_uri_authorities(ctx: BundleContext) -> None:
    oid = build_adt_bundle(ctx, PatientInput(mrn="1", mrn_authority="2.16.840.1.113883.19.5"))
    uri = build_adt_bundle(ctx, PatientInput(mrn="1", mrn_authority="https://hosp.example/mrn"))
    assert one(oid, "Patient")["identifier"][0]["system"] == "urn:oid:2.16.840.1.113883.19.5"
    assert one(uri, "Patient")["identifier"][0]["system"] == "https://hosp.example/mrn"


def test_encounter_status_for_adt_events() -> None:
    assert encounter_status_for_event("A01") == "in-progress"
    assert encounter_status_for_event("a03") == "finished"
    assert encounter_status_for_event("A04") == "arrived"
    assert encounter_status_for_event("Z99") == "in-progress"


def test_oru_bundle_report_and_results(ctx: BundleContext, oru_report) -> None:
    bundle = build_oru_bundle(ctx, PatientRef.by_id("501"), oru_report)
    assert validate_bundle(bundle, known_server_ids={"Patient/501"}) == []
    report = one(bundle, "DiagnosticReport")
    assert report["status"] == "final"
    assert loinc_of(report["code"]) == ["58410-2"]
    assert report["issued"] == "2024-05-01T12:00:00+05:30"
    observations = resources(bundle, "Observation")
    urls = [e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"]
    assert [r["reference"] for r in report["result"]] == urls

    hgb, wbc, glucose, smear = observations
    assert loinc_of(hgb["code"]) == ["718-7"]
    assert hgb["valueQuantity"] == {
        "value": 11.2,
        "unit": "g/dl",
        "system": codes.UCUM,
        "code": "g/dL",
    }
    assert hgb["interpretation"][0]["coding"][0]["code"] == "L"
    assert hgb["referenceRange"][0]["low"]["value"] == 13
    assert hgb["referenceRange"][0]["high"]["value"] == 17
    # A local code keeps its own system, with the LOINC alternate beside it.
    assert wbc["code"]["coding"][0] == {
        "system": "urn:carepipe:acme:code:99city",
        "code": "WBC",
        "display": "White cell count",
    }
    assert loinc_of(wbc["code"]) == ["6690-2"]
    assert wbc["valueQuantity"]["code"] == "10*3/uL"
    assert glucose["valueQuantity"]["comparator"] == "<"
    assert glucose["valueQuantity"]["value"] == 40
    assert "high" not in glucose["referenceRange"][0]
    assert glucose["referenceRange"][0]["low"]["value"] == 70
    assert smear["valueString"] == "Normocytic"
    assert smear["status"] == "preliminary"
    assert smear["code"]["coding"][0]["system"] == "urn:carepipe:acme:code:99city"


@pytest.mark.parametrize(
    ("obr", "status"), [("P", "preliminary"), ("C", "corrected"), ("F", "final")]
)
def test_oru_report_status(ctx: BundleContext, oru_report, obr: str, status: str) -> None:
    bundle = build_oru_bundle(ctx, PatientRef.by_id("501"), replace(oru_report, status=obr))
    assert one(bundle, "DiagnosticReport")["status"] == status


def test_oru_can_create_the_patient_from_pid(
    ctx: BundleContext, oru_report, patient_input: PatientInput
) -> None:
    bundle = build_oru_bundle(ctx, patient_input, oru_report)
    assert validate_bundle(bundle) == []
    patient_url = bundle["entry"][0]["fullUrl"]
    assert one(bundle, "DiagnosticReport")["subject"] == {"reference": patient_url}


# --- documents ---------------------------------------------------------------------------


def test_document_bundle(ctx: BundleContext, document_input: DocumentInput) -> None:
    bundle = build_document_bundle(ctx, PatientRef.by_abha("91-2345-6789-0123"), document_input)
    assert validate_bundle(bundle) == []
    doc = one(bundle, "DocumentReference")
    assert loinc_of(doc["type"]) == ["11502-2"]
    assert doc["docStatus"] == "preliminary"
    original, text = (c["attachment"] for c in doc["content"])
    assert original["contentType"] == "application/pdf"
    assert base64.b64decode(original["data"]) == document_input.content
    assert original["size"] == len(document_input.content)
    assert base64.b64decode(original["hash"]) == hashlib.sha1(document_input.content).digest()
    assert base64.b64decode(text["data"]).decode() == document_input.ocr_text

    doc_url = next(
        e["fullUrl"]
        for e in bundle["entry"]
        if e["resource"] is not None and e["resource"]["resourceType"] == "DocumentReference"
    )
    hb, tsh, group = resources(bundle, "Observation")
    assert hb["derivedFrom"] == [{"reference": doc_url}]
    assert loinc_of(hb["code"]) == ["718-7"]
    assert hb["code"]["text"] == "Haemoglobin"
    assert hb["effectiveDateTime"] == "2024-04-30"
    assert "confidence 0.94" in hb["note"][0]["text"]
    assert tsh["valueQuantity"]["code"] == "m[IU]/L"
    assert group["code"] == {"text": "Blood group"}
    assert group["valueString"] == "B positive"


@pytest.mark.parametrize(
    ("kind", "loinc"),
    [
        ("lab_report", "11502-2"),
        ("prescription", "57833-6"),
        ("discharge_summary", "18842-5"),
        ("other", "34133-9"),
    ],
)
def test_document_type_codes(
    ctx: BundleContext, document_input: DocumentInput, kind: str, loinc: str
) -> None:
    bundle = build_document_bundle(
        ctx, PatientRef.by_id("1"), replace(document_input, kind=kind, lab_values=())
    )
    assert loinc_of(one(bundle, "DocumentReference")["type"]) == [loinc]
    assert validate_bundle(bundle) == []


def test_document_content_type_is_checked(
    ctx: BundleContext, document_input: DocumentInput
) -> None:
    with pytest.raises(FhirInvalid, match="content type"):
        build_document_bundle(
            ctx, PatientRef.by_id("1"), replace(document_input, content_type="text/html")
        )


# --- orders ------------------------------------------------------------------------------


def test_orders_bundle(ctx: BundleContext, orders_input: OrdersInput) -> None:
    bundle = build_orders_bundle(ctx, orders_input)
    assert validate_bundle(bundle, known_server_ids={"Patient/501"}) == []
    metformin, salbutamol = resources(bundle, "MedicationRequest")
    assert (metformin["status"], metformin["intent"]) == ("active", "order")
    assert metformin["medicationCodeableConcept"]["coding"][0]["system"] == codes.RXNORM
    instruction = metformin["dosageInstruction"][0]
    assert instruction["timing"]["repeat"] == {
        "frequency": 2,
        "period": 1,
        "periodUnit": "d",
        "when": ["PC"],
    }
    assert instruction["doseAndRate"][0]["doseQuantity"]["code"] == "{tablet}"
    assert metformin["subject"] == {"reference": "Patient/501"}
    assert metformin["authoredOn"] == "2024-01-31T11:00:00+05:30"
    assert salbutamol["dosageInstruction"][0]["asNeededBoolean"] is True
    assert salbutamol["dosageInstruction"][0]["route"]["coding"][0]["code"] == "447694001"

    hba1c, lipids, xray = resources(bundle, "ServiceRequest")
    assert loinc_of(hba1c["code"]) == ["4548-4"]
    assert hba1c["category"][0]["coding"][0]["code"] == "108252007"
    assert lipids["priority"] == "urgent"
    assert xray["code"] == {"text": "Chest X-ray"}
    assert xray["category"][0]["coding"][0]["code"] == "363679005"

    appointment = one(bundle, "Appointment")
    assert appointment["status"] == "proposed"
    assert appointment["description"] == "Follow up in 1 month with reports"
    # 31 January + 1 month is the last day of February (2024 is a leap year).
    assert appointment["requestedPeriod"] == [{"start": "2024-02-29"}]
    assert appointment["participant"][0] == {
        "actor": {"reference": "Patient/501"},
        "status": "needs-action",
    }


def test_follow_up_as_service_request(ctx: BundleContext, orders_input: OrdersInput) -> None:
    bundle = build_orders_bundle(
        ctx, replace(orders_input, follow_up_as="service_request", medications=(), labs=())
    )
    assert validate_bundle(bundle) == []
    follow_up = one(bundle, "ServiceRequest")
    assert follow_up["occurrenceDateTime"] == "2024-02-29"
    assert follow_up["patientInstruction"] == "Follow up in 1 month with reports"
    assert resources(bundle, "Appointment") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BD", (2, 1, "d", ())),
        ("tds", (3, 1, "d", ())),
        ("q8h", (1, 8, "h", ())),
        ("HS", (1, 1, "d", ("HS",))),
        ("every 6 hours", (1, 6, "h", ())),
    ],
)
def test_timing_from_text(text: str, expected: tuple) -> None:
    timing = timing_from_text(text)
    assert timing is not None
    assert (timing.frequency, timing.period, timing.period_unit, tuple(timing.when)) == expected


def test_timing_from_unknown_text() -> None:
    assert timing_from_text("as the moon rises") is None


# --- determinism -------------------------------------------------------------------------


def _all_bundles(
    ctx, scribe_input, patient_input, encounter_input, oru_report, document_input, orders_input
):
    return [
        build_scribe_bundle(ctx, scribe_input),
        build_adt_bundle(ctx, patient_input, encounter_input),
        build_oru_bundle(ctx, PatientRef.by_id("501"), oru_report),
        build_document_bundle(ctx, PatientRef.by_id("501"), document_input),
        build_orders_bundle(ctx, orders_input),
    ]


def test_same_input_gives_the_same_bundle(
    ctx, scribe_input, patient_input, encounter_input, oru_report, document_input, orders_input
) -> None:
    args = (scribe_input, patient_input, encounter_input, oru_report, document_input, orders_input)
    first = _all_bundles(ctx, *args)
    again = _all_bundles(BundleContext(ctx.tenant, ctx.job_key), *args)
    assert first == again
    other_job = _all_bundles(BundleContext(ctx.tenant, "job-0002"), *args)
    for a, b in zip(first, other_job, strict=True):
        assert full_urls(a).isdisjoint(full_urls(b))
    for bundle in first:
        assert len(full_urls(bundle)) == len(bundle["entry"])
        assert validate_bundle(bundle) == []


def test_medication_without_dosage(ctx: BundleContext, scribe_input: ScribeInput) -> None:
    bundle = build_scribe_bundle(
        ctx, replace(scribe_input, medications=[MedicationInput("ORS sachets")])
    )
    assert validate_bundle(bundle) == []
    assert "dosage" not in one(bundle, "MedicationStatement")
