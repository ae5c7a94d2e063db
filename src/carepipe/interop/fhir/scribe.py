"""The scribe pipeline's bundle: a SOAP consultation note and what it records.

Encounter, Composition (LOINC consult note / note, SOAP sections with narrative),
vital-sign Observations (LOINC + UCUM), MedicationStatements, Conditions,
AllergyIntolerances and the transcript as a DocumentReference; for a note a clinician
approved, a Provenance (who approved, when, from which draft and model versions).
"""

from __future__ import annotations

import base64
from typing import Any

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import (
    TransactionBuilder,
    carepipe_system,
    deterministic_uuid,
    fhir_datetime,
    fhir_instant,
    narrative,
    to_fhir,
    xml_safe,
)
from carepipe.interop.fhir.elements import (
    add_encounter,
    concept,
    loinc_concept,
    practitioner_reference,
    quantity,
    simple_concept,
    subject_reference,
)
from carepipe.interop.fhir.inputs import (
    AllergyInput,
    ApprovalInput,
    BundleContext,
    DiagnosisInput,
    EncounterInput,
    ObservationInput,
    ScribeInput,
    VitalSignInput,
)
from carepipe.interop.fhir.medication_statement import medication_statement_resource

Json = dict[str, Any]

#: The Composition section listing what was said as an order and could not be read.
UNREAD_SECTION_TITLE = "Not read by the scribe"
VITAL_SIGNS_CATEGORY = {
    "coding": [
        {"system": codes.OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}
    ]
}


def vital_sign_resource(
    vital: VitalSignInput, subject: Json, encounter: Json, default_time: str, status: str
) -> Json:
    """One vital-sign Observation (blood pressure as a panel with two components)."""
    if vital.kind not in codes.VITAL_SIGNS:
        raise FhirInvalid("unknown vital sign kind", details=[str(vital.kind)])
    loinc, default_unit = codes.VITAL_SIGNS[vital.kind]
    effective = fhir_datetime(vital.observed_at) if vital.observed_at else default_time
    resource: Json = {
        "resourceType": "Observation",
        "status": status,
        "category": [VITAL_SIGNS_CATEGORY],
        "code": loinc_concept(loinc),
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": effective,
    }
    unit = vital.unit or default_unit
    if vital.kind == "blood_pressure":
        parts = ((codes.SYSTOLIC, vital.systolic), (codes.DIASTOLIC, vital.diastolic))
        components = [
            {"code": loinc_concept(code), "valueQuantity": quantity(value, unit)}
            for code, value in parts
            if value is not None
        ]
        if not components:
            raise FhirInvalid("blood pressure has neither a systolic nor a diastolic value")
        resource["component"] = components
    else:
        if vital.value is None:
            raise FhirInvalid("vital sign has no value", details=[vital.kind])
        resource["valueQuantity"] = quantity(vital.value, unit)
    if vital.note:
        resource["note"] = [{"text": vital.note}]
    return resource


def observation_resource(
    obs: ObservationInput, subject: Json, encounter: Json, effective: str, status: str
) -> Json:
    """A coded measurement that is not a vital sign: a lab result, the fetal heart rate."""
    resource: Json = {
        "resourceType": "Observation",
        "status": status,
        "category": [
            {
                "coding": [
                    {
                        "system": codes.OBSERVATION_CATEGORY,
                        "code": obs.category,
                        "display": obs.category.capitalize(),
                    }
                ]
            }
        ],
        "code": loinc_concept(obs.loinc),
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": effective,
        "valueQuantity": quantity(obs.value, obs.unit),
    }
    if obs.note:
        resource["note"] = [{"text": obs.note}]
    return resource


def condition_resource(
    diagnosis: DiagnosisInput, tenant: str, subject: Json, encounter: Json, recorded: str
) -> Json:
    resource: Json = {
        "resourceType": "Condition",
        "verificationStatus": simple_concept(
            codes.CONDITION_VER_STATUS, diagnosis.verification_status
        ),
        "category": [simple_concept(codes.CONDITION_CATEGORY, diagnosis.category)],
        "code": concept(tenant, diagnosis.code, diagnosis.text),
        "subject": subject,
        "encounter": encounter,
        "recordedDate": recorded,
    }
    # con-5: no clinicalStatus on a condition entered in error.
    if diagnosis.verification_status != "entered-in-error":
        resource["clinicalStatus"] = simple_concept(
            codes.CONDITION_CLINICAL, diagnosis.clinical_status
        )
    if diagnosis.onset:
        resource["onsetDateTime"] = fhir_datetime(diagnosis.onset)
    return resource


def allergy_resource(
    allergy: AllergyInput, tenant: str, subject: Json, encounter: Json, recorded: str
) -> Json:
    resource: Json = {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": simple_concept(codes.ALLERGY_CLINICAL, allergy.clinical_status),
        "verificationStatus": simple_concept(
            codes.ALLERGY_VERIFICATION, allergy.verification_status
        ),
        "code": concept(tenant, allergy.code, allergy.substance),
        "patient": subject,
        "encounter": encounter,
        "recordedDate": recorded,
    }
    if allergy.allergy_type:
        resource["type"] = allergy.allergy_type
    if allergy.category:
        resource["category"] = [allergy.category]
    if allergy.criticality:
        resource["criticality"] = allergy.criticality
    if allergy.reaction:
        resource["reaction"] = [{"manifestation": [{"text": allergy.reaction}]}]
    if allergy.note:
        resource["note"] = [{"text": allergy.note}]
    return resource


def _author(note: ScribeInput) -> Json:
    if note.author is not None:
        return practitioner_reference(note.author)
    label = "CarePipe scribe"
    if note.model_version:
        label = f"{label} ({note.model_version})"
    return {"type": "Device", "display": label}


def build_scribe_bundle(ctx: BundleContext, note: ScribeInput) -> Json:
    """The transaction Bundle of one consultation note.

    The Encounter is created (matched on its visit number when given) unless
    ``note.encounter`` has a server id; without ``note.encounter`` a finished
    ambulatory Encounter starting at ``recorded_at`` is created. Observations take
    the note's status (``preliminary`` until a clinician approves, then ``final``).
    """
    builder = TransactionBuilder(ctx)
    tenant = ctx.tenant
    recorded = fhir_datetime(note.recorded_at)
    subject = subject_reference(builder, note.patient)
    encounter = add_encounter(
        builder, note.encounter or EncounterInput(), subject, default_start=recorded
    )
    obs_status = "final" if note.status in ("final", "amended") else "preliminary"

    vitals = [
        builder.add(
            vital_sign_resource(vital, subject, encounter, recorded, obs_status),
            natural_key=f"vital:{i}:{vital.kind}",
        )
        for i, vital in enumerate(note.vitals)
    ]
    vitals += [
        builder.add(
            observation_resource(obs, subject, encounter, recorded, obs_status),
            natural_key=f"obs:{i}:{obs.loinc}",
        )
        for i, obs in enumerate(note.observations)
    ]
    conditions = [
        builder.add(
            condition_resource(d, tenant, subject, encounter, recorded), natural_key=f"dx:{i}"
        )
        for i, d in enumerate(note.diagnoses)
    ]
    medications = [
        builder.add(
            medication_statement_resource(m, tenant, subject, recorded, encounter=encounter),
            natural_key=f"med:{i}",
        )
        for i, m in enumerate(note.medications)
    ]
    allergies = [
        builder.add(
            allergy_resource(a, tenant, subject, encounter, recorded),
            natural_key=f"allergy:{i}",
        )
        for i, a in enumerate(note.allergies)
    ]

    transcript_ref = None
    if note.transcript:
        attachment: Json = {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(note.transcript.encode("utf-8")).decode("ascii"),
            "title": "Consultation transcript",
        }
        if note.transcript_language:
            attachment["language"] = note.transcript_language
        transcript_ref = builder.add(
            {
                "resourceType": "DocumentReference",
                "status": "current",
                "docStatus": note.status,
                "type": {"text": "Consultation transcript"},
                "subject": subject,
                "date": fhir_instant(note.recorded_at),
                "author": [_author(note)],
                "description": "Transcript of the consultation audio",
                "content": [{"attachment": attachment}],
                "context": {"encounter": [encounter]},
            },
            natural_key="transcript",
        )

    section_entries = {
        "subjective": allergies,
        "objective": vitals,
        "assessment": conditions,
        "plan": medications,
    }
    sections = []
    for key, (loinc, title) in codes.SOAP_SECTIONS.items():
        text = xml_safe(getattr(note, key))
        entries = section_entries[key]
        if not text.strip() and not entries:
            continue  # cmp-1: a section needs text, entries or sub-sections
        section: Json = {"title": title, "code": loinc_concept(loinc)}
        if text.strip():
            section["text"] = narrative(text)
        if entries:
            section["entry"] = entries
        sections.append(section)
    if note.unread:
        sections.append(
            {
                "title": UNREAD_SECTION_TITLE,
                "text": narrative(
                    "Said as an order and not read (check the recording): "
                    + "; ".join(f'"{u}"' for u in note.unread)
                ),
            }
        )

    composition: Json = {
        "resourceType": "Composition",
        "status": note.status,
        "type": loinc_concept(codes.NOTE_TYPES[note.note_type]),
        "subject": subject,
        "encounter": encounter,
        "date": recorded,
        "author": [_author(note)],
        "title": note.title,
    }
    if sections:
        composition["section"] = sections
    if note.approved_by is not None:
        attester: Json = {"mode": "legal", "party": practitioner_reference(note.approved_by)}
        if note.approved_at:
            attester["time"] = fhir_datetime(note.approved_at)
        composition["attester"] = [attester]
    composition_ref = builder.add(composition, natural_key="note")
    bundle = builder.to_dict()
    if note.approval is not None:
        targets = [composition_ref, *vitals, *conditions, *medications, *allergies]
        if transcript_ref is not None:
            targets.append(transcript_ref)
        bundle["entry"].append(_provenance_entry(ctx, note.approval, targets))
    return bundle


def _provenance_entry(ctx: BundleContext, approval: ApprovalInput, targets: list[Json]) -> Json:
    """The approval as a Provenance entry.

    Provenance has no identifier to make a conditional create on, so the entry is a
    ``PUT Provenance/<id>`` with an id derived from the job (update-as-create): pushing
    the bundle again (a retried or taken-over ``emr`` stage) rewrites the same
    Provenance instead of adding a second one.
    """
    tenant = ctx.tenant
    approver: Json = {
        "identifier": {"system": carepipe_system(tenant, "user"), "value": approval.approver}
    }
    if approval.approver_display:
        approver["display"] = approval.approver_display
    models = ", ".join(
        f"{what} {version}"
        for what, version in (
            ("ASR", approval.asr_model_version),
            ("note", approval.note_model_version),
        )
        if version
    )
    entities: list[Json] = []
    for role, kind, ident, label, version in (
        (
            "revision",
            "draft-note",
            approval.draft_note_id,
            "Draft note",
            approval.note_model_version,
        ),
        (
            "source",
            "draft-transcript",
            approval.draft_transcript_id,
            "Draft transcript",
            approval.asr_model_version,
        ),
    ):
        if ident:
            display = f"{label} ({version})" if version else label
            entities.append(
                {
                    "role": role,
                    "what": {
                        "identifier": {"system": carepipe_system(tenant, kind), "value": ident},
                        "display": display,
                    },
                }
            )
    resource: Json = {
        "resourceType": "Provenance",
        "target": targets,
        "recorded": fhir_instant(approval.approved_at),
        "activity": simple_concept(
            "http://terminology.hl7.org/CodeSystem/v3-DataOperation", "UPDATE", "revise"
        ),
        "agent": [
            {
                "type": simple_concept(
                    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "verifier",
                    "Verifier",
                ),
                "who": approver,
            },
            {
                "type": simple_concept(
                    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                    "assembler",
                    "Assembler",
                ),
                "who": {"display": f"CarePipe scribe ({models})" if models else "CarePipe scribe"},
            },
        ],
        "entity": entities,
    }
    if approval.review_id:
        resource["reason"] = [{"text": f"Clinician review {approval.review_id}"}]
    uid = deterministic_uuid(ctx, "provenance", "approval")
    resource["id"] = str(uid)
    return {
        "fullUrl": f"urn:uuid:{uid}",
        "resource": to_fhir(resource),
        "request": {"method": "PUT", "url": f"Provenance/{uid}"},
    }
