"""The ``ocr`` pipeline: scanned document -> text -> structured fields -> FHIR -> EMR.

What needs a person never flows on silently: implausible values are held out of the
bundle, unreadable result rows are counted, and a document with either (or with a
low-confidence field) is tagged ``needs-review`` in the bundle with a review Task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from carepipe.core.errors import InvalidAbha
from carepipe.engines.documents import ExtractedDocument, extract_document
from carepipe.engines.documents.medications import instruction_text
from carepipe.engines.ocr import OcrResult, load_ocr_engine
from carepipe.engines.orders import MedicationOrder, load_orders_engine
from carepipe.interop.fhir.bundle import carepipe_system
from carepipe.interop.fhir.documents import build_document_bundle
from carepipe.interop.fhir.inputs import (
    BundleContext,
    DocumentInput,
    DosageInput,
    ExtractedLabValue,
    IdentifierInput,
    MedicationInput,
    PatientInput,
    PatientRef,
    TimingInput,
)
from carepipe.interop.identity.abha import normalize_abha
from carepipe.pipelines.common import (
    bundle_context,
    bundle_output,
    emr_stage,
    job_context,
    job_tenant_settings,
    patient_ref,
)
from carepipe.pipelines.context import StageContext, StageOutput, phi_artifact
from carepipe.pipelines.registry import Pipeline, Stage, register

OCR_TEXT = "ocr_text"
EXTRACT = "document_extract"
DOCUMENT_TYPES = ("image/*", "application/pdf", "application/octet-stream")
#: Labels whose number identifies the patient at the facility (an MRN); OPD/IP
#: numbers identify a visit and go out as other identifiers.
MRN_LABELS = ("MRN", "UHID", "Patient ID", "Hospital No")
_MED_STATUS = {"start": "active", "continue": "active", "change": "active", "stop": "stopped"}


def ocr_stage(ctx: StageContext) -> StageOutput:
    """Recognise text with per-word confidence; unreadable files fail with ``image_unreadable``."""
    result = load_ocr_engine(ctx.settings).recognize(ctx.raw(), content_type=ctx.message.kind)
    summary = {
        "pages": len(result.pages),
        "mean_confidence": round(result.mean_confidence, 3),
        "seconds": round(result.processing_seconds, 3),
        "content_type": result.content_type,
    }
    return StageOutput(
        artifacts=[
            phi_artifact(
                OCR_TEXT,
                result.model_dump(mode="json"),
                summary=summary,
                engine=result.engine,
                model_version=result.model_version,
                confidence=result.mean_confidence,
            )
        ],
        result={"ocr": {**summary, "model_version": result.model_version}},
    )


def tenant_date_order(ctx: StageContext) -> str | None:
    """The tenant's ``date_order`` setting (DMY | MDY), if it has one."""
    return job_tenant_settings(ctx).date_order


def read_medications(doc: ExtractedDocument, engine: Any) -> ExtractedDocument:
    """Each medication line read by the orders engine (dose, route, frequency, duration)."""
    lines = []
    for line in doc.medications:
        orders = engine.extract(instruction_text(line.text))
        lines.append(
            line.model_copy(
                update={"orders": list(orders.medications), "understood": bool(orders.medications)}
            )
        )
    return doc.model_copy(update={"medications": lines})


def extract_document_for(ctx: StageContext, ocr: OcrResult) -> ExtractedDocument:
    """Extraction with the tenant's date order, medications read by the orders engine."""
    doc = extract_document(
        ocr,
        date_order=tenant_date_order(ctx),
        default_date_order=str(getattr(ctx.settings, "ocr_date_order", "DMY")).upper(),
    )
    if doc.medications:
        doc = read_medications(doc, load_orders_engine(ctx.settings))
    return doc


def extract_summary(doc: ExtractedDocument) -> dict[str, Any]:
    """What the job result shows: counts and reasons, never values (PHI)."""
    return {
        "document_type": doc.document_type,
        "type_confidence": round(doc.document_type_confidence, 3),
        "lab_values": len(doc.lab_results),
        "held_values": len(doc.held_results),
        "unparsed_rows": len(doc.unparsed_rows),
        "medication_lines": len(doc.medications),
        "medications_understood": sum(1 for m in doc.medications if m.understood),
        "low_confidence": sum(1 for r in doc.lab_results if r.low_confidence),
        "date_order": f"{doc.date_order} ({doc.date_order_source})",
        "needs_review": doc.needs_review,
        "review_reasons": doc.review_reasons,
    }


def extract_stage(ctx: StageContext) -> StageOutput:
    """Document type, patient, lab values (checked for plausibility), medications."""
    doc = extract_document_for(ctx, OcrResult.model_validate(ctx.load_json(OCR_TEXT)))
    summary = extract_summary(doc)
    return StageOutput(
        artifacts=[
            phi_artifact(
                EXTRACT,
                doc.model_dump(mode="json"),
                summary=summary,
                engine=doc.engine,
                model_version=doc.model_version,
                confidence=doc.document_type_confidence,
            )
        ],
        result={"extract": summary},
    )


def patient_from_document(
    doc: ExtractedDocument, tenant: str, fallback: PatientRef | PatientInput
) -> PatientRef | PatientInput:
    """A Patient built from what is printed, matched on its surest identifier.

    Low-confidence identifiers never identify anyone (they go to review instead):
    without a sure one, the fallback (the job's stand-in patient) carries the
    demographics, and the bundle stays unidentified.
    """
    p = doc.patient
    sure = [f for f in (p.mrn, p.abha_number) if f is not None and not f.low_confidence]
    mrn = p.mrn if p.mrn in sure else None
    abha = None
    if p.abha_number in sure and p.abha_number is not None:
        try:
            abha = normalize_abha(p.abha_number.value)
        except InvalidAbha:
            abha = None
    others: list[IdentifierInput] = []
    mrn_value = None
    if mrn is not None and (mrn.label or "MRN") in MRN_LABELS:
        mrn_value = mrn.value
    elif mrn is not None:
        kind = (mrn.label or "id").lower().replace(" ", "-")
        others.append(IdentifierInput(carepipe_system(tenant, kind), mrn.value))
    if abha is not None and mrn_value is not None:
        # The ABHA number is matched on (national); the MRN goes along as another id.
        others.insert(0, IdentifierInput(carepipe_system(tenant, "mrn"), mrn_value))
        mrn_value = None
    if mrn_value is None and abha is None and not others:
        if isinstance(fallback, PatientInput):
            others.extend(fallback.other_identifiers)
        elif fallback.identifier is not None:
            others.append(fallback.identifier)
        else:
            return fallback
    name_sure = p.name is not None and not p.name.low_confidence
    sex = p.sex.value if p.sex is not None and not p.sex.low_confidence else None
    birth = (
        p.birth_date.value if p.birth_date is not None and not p.birth_date.low_confidence else None
    )
    return PatientInput(
        mrn=mrn_value,
        abha_number=abha,
        family_name=p.family_name if name_sure else None,
        given_names=tuple(p.given_names) if name_sure else (),
        gender=sex,
        birth_date=birth,
        other_identifiers=tuple(others),
    )


def document_patient(ctx: StageContext, doc: ExtractedDocument) -> PatientRef | PatientInput:
    """The job's patient context wins; else the identity printed on the document."""
    if job_context(ctx) is not None:
        return patient_ref(ctx)
    return patient_from_document(doc, ctx.tenant, patient_ref(ctx))


def _range(low: float | None, high: float | None) -> str | None:
    if low is not None and high is not None:
        return f"{low:g}-{high:g}"
    if high is not None:
        return f"<{high:g}"
    if low is not None:
        return f">{low:g}"
    return None


def medication_input(m: MedicationOrder) -> MedicationInput:
    """The orders engine's reading of one line, as the FHIR builders take it."""
    t = m.timing
    timing = None
    if t is not None and (t.frequency or t.period or t.when):
        timing = TimingInput(
            frequency=t.frequency or 1,
            period=t.period or 1,
            period_unit=t.periodUnit or "d",
            when=tuple(t.when or ()),
            duration=m.duration.value if m.duration else None,
            duration_unit=m.duration.unit if m.duration else None,
        )
    return MedicationInput(
        name=m.name,
        status=_MED_STATUS.get(m.action, "active"),
        dosage=DosageInput(
            text=m.text or None,
            route=m.route,
            dose_value=m.dose,
            dose_unit=m.dose_unit,
            timing=timing,
            as_needed=m.as_needed,
            as_needed_reason=m.as_needed_for,
        ),
    )


def document_bundle(
    ctx: BundleContext,
    patient: PatientRef | PatientInput,
    ocr: OcrResult,
    doc: ExtractedDocument,
    *,
    content: bytes,
    received_at: datetime | str,
    title: str | None = None,
) -> dict[str, Any]:
    """The bundle of one document: held values stay out, review is flagged."""
    labs = [
        ExtractedLabValue(
            name=r.display,
            value=f"{r.comparator}{r.value:g}" if r.comparator else r.value,
            unit=r.unit,
            loinc=r.loinc,
            reference_range=_range(r.ref_low, r.ref_high),
            flag=r.flag,
            confidence=r.confidence,
        )
        for r in doc.lab_results
        if not r.held
    ]
    medications = [medication_input(o) for line in doc.medications for o in line.orders]
    document = DocumentInput(
        kind=doc.document_type,
        content=content,
        content_type=ocr.content_type,
        received_at=received_at,
        ocr_text=ocr.text,
        lab_values=labs,
        engine=f"{ocr.engine} + {doc.engine}",
        title=title,
        medications=medications,
        medication_resource=(
            "MedicationRequest" if doc.document_type == "prescription" else "MedicationStatement"
        ),
        review_reasons=doc.review_reasons,
    )
    return build_document_bundle(ctx, patient, document)


def fhir_stage(ctx: StageContext) -> StageOutput:
    """DocumentReference, Observations, medications, and a review Task when needed."""
    ocr = OcrResult.model_validate(ctx.load_json(OCR_TEXT))
    doc = ExtractedDocument.model_validate(ctx.load_json(EXTRACT))
    bundle = document_bundle(
        bundle_context(ctx),
        document_patient(ctx, doc),
        ocr,
        doc,
        content=ctx.raw(),
        received_at=ctx.message.received_at,
        title=ctx.message.filename,
    )
    held = [r.test for r in doc.held_results]
    return bundle_output(
        bundle,
        result={
            "review": {
                "needs_review": doc.needs_review,
                "reasons": doc.review_reasons,
                "held_tests": held,
            }
        },
    )


PIPELINE = register(
    Pipeline(
        name="ocr",
        stages=(
            Stage("ocr", ocr_stage),
            Stage("extract", extract_stage),
            Stage("fhir", fhir_stage),
            Stage("emr", emr_stage),
        ),
        description="Scanned document (PNG/JPEG/TIFF/PDF) -> OCR -> extraction -> FHIR -> EMR.",
        accepts=DOCUMENT_TYPES,
    )
)
