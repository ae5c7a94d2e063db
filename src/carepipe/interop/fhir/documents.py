"""The OCR pipeline's bundle: the scanned document and what was read off it.

A DocumentReference (the original and its OCR text), an Observation per lab value,
and the medications of a prescription (MedicationRequest, ``reportedBoolean``: read
off a document, not ordered here) or of a discharge list (MedicationStatement).
When the extraction needs a person, the DocumentReference is tagged ``needs-review``
and a Task asks for the review, with the reasons (counts and kinds, never values).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import (
    TransactionBuilder,
    carepipe_system,
    fhir_datetime,
    fhir_instant,
)
from carepipe.interop.fhir.elements import (
    add_encounter,
    interpretation,
    loinc_concept,
    parse_number,
    quantity,
    reference_range,
    subject_reference,
)
from carepipe.interop.fhir.hl7 import LABORATORY_CATEGORY
from carepipe.interop.fhir.inputs import (
    BundleContext,
    DocumentInput,
    ExtractedLabValue,
    PatientInput,
    PatientRef,
)
from carepipe.interop.fhir.medication_statement import medication_statement_resource
from carepipe.interop.fhir.orders import medication_request_resource

Json = dict[str, Any]

#: Tag code of a document whose extraction waits for a person.
REVIEW_CODE = "needs-review"

ALLOWED_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff", "application/pdf"})


def _attachment(data: bytes, content_type: str, title: str) -> Json:
    return {
        "contentType": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "size": len(data),
        # Attachment.hash is the base64 SHA-1 of the data (FHIR says SHA-1).
        "hash": base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode(),
        "title": title,
    }


def extracted_observation(
    value: ExtractedLabValue,
    subject: Json,
    document: Json,
    default_time: str,
    status: str,
    engine: str | None,
) -> Json:
    """One lab Observation read off a document, derived from its DocumentReference."""
    code = loinc_concept(value.loinc, value.name) if value.loinc else {"text": value.name}
    effective = fhir_datetime(value.observed_at) if value.observed_at else default_time
    resource: Json = {
        "resourceType": "Observation",
        "status": status,
        "category": [LABORATORY_CATEGORY],
        "code": code,
        "subject": subject,
        "effectiveDateTime": effective,
        "derivedFrom": [document],
    }
    number = parse_number(value.value)
    if number is not None:
        resource["valueQuantity"] = quantity(number[0], value.unit, number[1])
    elif value.value is not None and str(value.value).strip():
        resource["valueString"] = str(value.value).strip()
    else:
        raise FhirInvalid("an extracted lab value has no value")
    if value.flag:
        interp = interpretation([value.flag])
        if interp:
            resource["interpretation"] = interp
    ranges = reference_range(value.reference_range, value.unit)
    if ranges:
        resource["referenceRange"] = ranges
    origin = f"Read from a scanned document by {engine or 'OCR'}"
    if value.confidence is not None:
        origin += f" (confidence {value.confidence:.2f})"
    resource["note"] = [{"text": origin}]
    return resource


def build_document_bundle(
    ctx: BundleContext, patient: PatientRef | PatientInput, document: DocumentInput
) -> Json:
    """DocumentReference (original + OCR text), Observations, medications, review Task.

    The DocumentReference carries two attachments: the original file (base64,
    with size and SHA-1 hash) and the OCR text as ``text/plain``; its type is
    the LOINC document code of ``document.kind``. ``document.medications`` become
    MedicationRequests (``reportedBoolean``) or MedicationStatements, as
    ``document.medication_resource`` says; with ``document.review_reasons`` the
    DocumentReference is tagged ``needs-review`` and a Task asks for the review.
    """
    if document.content_type not in ALLOWED_CONTENT_TYPES:
        raise FhirInvalid("unsupported document content type", details=[document.content_type])
    if not document.content:
        raise FhirInvalid("document has no content")
    builder = TransactionBuilder(ctx)
    subject = subject_reference(builder, patient)
    encounter = add_encounter(builder, document.encounter, subject) if document.encounter else None
    loinc = codes.DOCUMENT_TYPES[document.kind]
    title = document.title or codes.LOINC_TABLE[loinc].display
    content = [{"attachment": _attachment(document.content, document.content_type, title)}]
    if document.ocr_text:
        text = _attachment(
            document.ocr_text.encode("utf-8"), "text/plain; charset=utf-8", f"{title} (OCR text)"
        )
        content.append({"attachment": text})
    doc: Json = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": document.status,
        "type": loinc_concept(loinc),
        "subject": subject,
        "date": fhir_instant(document.received_at),
        "description": title,
        "content": content,
    }
    if document.review_reasons:
        doc["meta"] = {"tag": [review_tag(ctx.tenant)]}
    context: Json = {}
    if encounter is not None:
        context["encounter"] = [encounter]
    if document.created:
        context["period"] = {"start": fhir_datetime(document.created)}
    if context:
        doc["context"] = context
    doc_ref = builder.add(doc, natural_key="document")

    default_time = fhir_datetime(document.created or document.received_at)
    for i, value in enumerate(document.lab_values):
        resource = extracted_observation(
            value, subject, doc_ref, default_time, document.status, document.engine
        )
        if encounter is not None:
            resource["encounter"] = encounter
        builder.add(resource, natural_key=f"value:{i}")

    asserted = fhir_datetime(document.created or document.received_at)
    for i, med in enumerate(document.medications):
        if document.medication_resource == "MedicationRequest":
            common: Json = {"subject": subject, "authoredOn": asserted, "reportedBoolean": True}
            resource = medication_request_resource(med, builder.ctx, common)
            resource["supportingInformation"] = [doc_ref]
        else:
            resource = medication_statement_resource(
                med, builder.ctx.tenant, subject, asserted, derived_from=doc_ref
            )
        if encounter is not None:
            resource["encounter" if "authoredOn" in resource else "context"] = encounter
        builder.add(resource, natural_key=f"med:{i}")

    if document.review_reasons:
        builder.add(
            review_task(
                document.review_reasons, subject, doc_ref, fhir_instant(document.received_at)
            ),
            natural_key="review",
        )
    return builder.to_dict()


def review_tag(tenant: str) -> Json:
    """The tag on a DocumentReference whose extraction a person must check."""
    return {
        "system": carepipe_system(tenant, "review"),
        "code": REVIEW_CODE,
        "display": "Extraction needs clinician review",
    }


def review_task(reasons: Sequence[str], subject: Json, document: Json, authored: str) -> Json:
    """A Task asking a person to check what was read off ``document`` (reasons PHI-free)."""
    return {
        "resourceType": "Task",
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {"text": "Review document extraction"},
        "description": "; ".join(reasons),
        "focus": document,
        "for": subject,
        "authoredOn": authored,
    }
