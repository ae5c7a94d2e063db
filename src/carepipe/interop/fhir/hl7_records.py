"""Bundles of HL7 v2 records: MDM^T02 -> DocumentReference, VXU^V04 -> Immunization.

Rows followed (HL7 v2-to-FHIR IG, mappings/ in github.com/HL7/v2-to-fhir):
``TXA[DocumentReference]``, ``OBX[DocumentReference]``; ``RXA[Immunization]``,
``RXR[Immunization]``, ``ORC[Immunization]``, ConceptMap ``CompletionStatus`` (RXA-20).
Details and deviations: docs/hl7.md.
"""

from __future__ import annotations

import base64
from typing import Any

from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import TransactionBuilder, fhir_date, fhir_datetime, fhir_instant
from carepipe.interop.fhir.elements import (
    concept,
    local_system,
    parse_number,
    quantity,
    simple_concept,
    subject_reference,
)
from carepipe.interop.fhir.hl7_inputs import ClinicalDocumentInput, ImmunizationInput
from carepipe.interop.fhir.hl7_orders import soft_concept
from carepipe.interop.fhir.inputs import BundleContext, PatientInput, PatientRef

Json = dict[str, Any]

# TXA-17 document completion status (table 0271) -> DocumentReference.docStatus.
# (The IG copies the code; v2 codes are not FHIR codes, so we map them.)
DOC_COMPLETION: dict[str, str] = {
    "AU": "final",  # authenticated
    "LA": "final",  # legally authenticated
    "DO": "final",  # documented
    "DI": "preliminary",  # dictated
    "IP": "preliminary",  # in progress
    "IN": "preliminary",  # incomplete
    "PA": "preliminary",  # pre-authenticated
}
# TXA-19 availability (table 0273) -> DocumentReference.status.
DOC_AVAILABILITY: dict[str, str] = {"AV": "current", "OB": "superseded", "CA": "entered-in-error"}
# ConceptMap CompletionStatus: RXA-20 (table 0322) -> Immunization.status.
COMPLETION_STATUS: dict[str, str] = {
    "CP": "completed",
    "RE": "not-done",
    "NA": "not-done",
    "PA": "completed",
}


def build_document_bundle(
    ctx: BundleContext,
    patient: PatientRef | PatientInput,
    document: ClinicalDocumentInput,
) -> Json:
    """The DocumentReference of an MDM^T02, matched on TXA-12 (unique document number)."""
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, patient)
    content = []
    for att in document.attachments:
        if att.data_base64 is not None:
            data = att.data_base64
        else:
            data = base64.b64encode((att.text or "").encode("utf-8")).decode()
        content.append({"attachment": {"contentType": att.content_type, "data": data}})
    resource: Json = {
        "resourceType": "DocumentReference",
        "status": DOC_AVAILABILITY.get((document.availability or "").upper(), "current"),
        "subject": subject,
        "content": content,
    }
    doc_status = DOC_COMPLETION.get((document.completion_status or "").upper())
    if doc_status:
        resource["docStatus"] = doc_status
    if document.document_type is not None:
        resource["type"] = soft_concept(ctx.tenant, document.document_type)
    if document.date:
        resource["date"] = fhir_instant(document.date)
    if document.authors:
        resource["author"] = [{"type": "Practitioner", "display": a} for a in document.authors]
    match_on = None
    if document.unique_number and document.unique_number.strip():
        ident = {
            "system": local_system(ctx.tenant, "document", None),
            "value": document.unique_number.strip(),
        }
        resource["masterIdentifier"] = dict(ident)
        resource["identifier"] = [ident]
        match_on = ident
    builder.add(resource, natural_key="document", match_on=match_on, upsert=match_on is not None)
    return builder.to_dict()


def immunization_status(item: ImmunizationInput) -> str:
    """RXA-21 D -> entered-in-error; else RXA-20 via CompletionStatus; empty -> completed."""
    if (item.action_code or "").upper() == "D":
        return "entered-in-error"
    if item.completion_status:
        return COMPLETION_STATUS.get(item.completion_status.upper(), "completed")
    return "completed"


def immunization_resource(ctx: BundleContext, item: ImmunizationInput, subject: Json) -> Json:
    """One Immunization from an RXA (+ RXR)."""
    resource: Json = {
        "resourceType": "Immunization",
        "status": immunization_status(item),
        "vaccineCode": concept(ctx.tenant, item.vaccine),
        "patient": subject,
        "occurrenceDateTime": fhir_datetime(item.occurrence),
    }
    if item.primary_source is not None:
        resource["primarySource"] = item.primary_source
    # RXA-6 999 means "amount unknown" (CDC IG): no dose then.
    if item.dose_value is not None and item.dose_value != 999:
        number = parse_number(item.dose_value)
        if number is not None:
            resource["doseQuantity"] = quantity(number[0], item.dose_unit)
    if item.lot_number:
        resource["lotNumber"] = item.lot_number
    if item.expiration_date:
        resource["expirationDate"] = fhir_date(item.expiration_date)
    if item.manufacturer:
        resource["manufacturer"] = {"type": "Organization", "display": item.manufacturer}
    if item.refusal_reason is not None and resource["status"] == "not-done":
        resource["statusReason"] = soft_concept(ctx.tenant, item.refusal_reason)
    if item.route is not None:
        resource["route"] = soft_concept(ctx.tenant, item.route)
    if item.site is not None:
        resource["site"] = soft_concept(ctx.tenant, item.site)
    return resource


def build_immunization_bundle(
    ctx: BundleContext,
    patient: PatientRef | PatientInput,
    items: list[ImmunizationInput],
) -> Json:
    """One Immunization per RXA, matched on its ORC filler (else placer) order number."""
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, patient)
    seen: set[str] = set()
    for i, item in enumerate(items):
        resource = immunization_resource(ctx, item, subject)
        match_on = None
        for code, display, value in (
            ("FILL", "Filler Identifier", item.filler_order_number),
            ("PLAC", "Placer Identifier", item.placer_order_number),
        ):
            if value and value.strip() and value.strip() not in seen:
                match_on = {
                    "system": local_system(ctx.tenant, f"{code.lower()}-immunization", None),
                    "value": value.strip(),
                }
                resource["identifier"] = [
                    {"type": simple_concept(codes.V2_0203, code, display), **match_on}
                ]
                seen.add(value.strip())
                break
        builder.add(
            resource,
            natural_key=f"immunization:{i}",
            match_on=match_on,
            upsert=match_on is not None,
        )
    return builder.to_dict()
