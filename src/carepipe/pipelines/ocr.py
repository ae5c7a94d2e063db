"""The ``ocr`` pipeline: scanned document -> text -> structured fields -> FHIR -> EMR."""

from __future__ import annotations

from carepipe.core.errors import InvalidAbha
from carepipe.engines.documents import ExtractedDocument, extract_document
from carepipe.engines.ocr import OcrResult, load_ocr_engine
from carepipe.interop.fhir.documents import build_document_bundle
from carepipe.interop.fhir.inputs import DocumentInput, ExtractedLabValue, PatientRef
from carepipe.interop.identity.abha import normalize_abha
from carepipe.pipelines.common import (
    bundle_context,
    bundle_output,
    emr_stage,
    job_context,
    patient_ref,
)
from carepipe.pipelines.context import StageContext, StageOutput, phi_artifact
from carepipe.pipelines.registry import Pipeline, Stage, register

OCR_TEXT = "ocr_text"
EXTRACT = "document_extract"
DOCUMENT_TYPES = ("image/*", "application/pdf", "application/octet-stream")


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


def extract_stage(ctx: StageContext) -> StageOutput:
    """Document type, patient identifiers, lab values with units and ranges, flagged when unsure."""
    doc = extract_document(OcrResult.model_validate(ctx.load_json(OCR_TEXT)))
    low = sum(1 for r in doc.lab_results if r.low_confidence)
    summary = {
        "document_type": doc.document_type,
        "type_confidence": round(doc.document_type_confidence, 3),
        "lab_values": len(doc.lab_results),
        "medication_lines": len(doc.medications),
        "low_confidence": low,
        "needs_review": doc.needs_review,
    }
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


def document_patient(ctx: StageContext, doc: ExtractedDocument) -> PatientRef:
    """The job's patient context wins; else an ABHA number read off the document."""
    if job_context(ctx) or doc.patient.abha_number is None:
        return patient_ref(ctx)
    try:
        return PatientRef.by_abha(normalize_abha(doc.patient.abha_number.value))
    except InvalidAbha:
        return patient_ref(ctx)


def _range(low: float | None, high: float | None) -> str | None:
    if low is not None and high is not None:
        return f"{low:g}-{high:g}"
    if high is not None:
        return f"<{high:g}"
    if low is not None:
        return f">{low:g}"
    return None


def fhir_stage(ctx: StageContext) -> StageOutput:
    """DocumentReference (original + OCR text) and an Observation per extracted lab value."""
    ocr = OcrResult.model_validate(ctx.load_json(OCR_TEXT))
    doc = ExtractedDocument.model_validate(ctx.load_json(EXTRACT))
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
    ]
    document = DocumentInput(
        kind=doc.document_type,
        content=ctx.raw(),
        content_type=ocr.content_type,
        received_at=ctx.message.received_at,
        ocr_text=ocr.text,
        lab_values=labs,
        engine=f"{ocr.engine} + {doc.engine}",
        title=ctx.message.filename,
    )
    bundle = build_document_bundle(bundle_context(ctx), document_patient(ctx, doc), document)
    return bundle_output(bundle)


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
