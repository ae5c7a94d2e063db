"""The ``scribe`` pipeline: consultation audio -> transcript -> SOAP note -> FHIR -> EMR.

``review`` holds the job for a clinician when the tenant requires review
(``CAREPIPE_REVIEW_TENANTS`` or the tenant's ``review_required`` setting), and
passes straight through otherwise.
"""

from __future__ import annotations

from typing import Any

from carepipe.core.models import Tenant
from carepipe.engines.asr import Transcript, load_asr_engine
from carepipe.engines.notes import SoapNote, load_note_engine
from carepipe.interop.fhir.inputs import (
    AllergyInput,
    CodedValue,
    DiagnosisInput,
    DosageInput,
    MedicationInput,
    ScribeInput,
    TimingInput,
    VitalSignInput,
)
from carepipe.interop.fhir.scribe import build_scribe_bundle
from carepipe.observability.metrics import (
    ASR_AUDIO_SECONDS,
    ASR_RTF,
    LLM_COST,
    LLM_TOKENS,
    NOTE_ENTITIES,
    NOTE_LOW_CONFIDENCE,
)
from carepipe.pipelines.common import bundle_context, bundle_output, emr_stage, patient_ref
from carepipe.pipelines.context import StageContext, StageOutput, phi_artifact
from carepipe.pipelines.registry import Pipeline, Stage, register

TRANSCRIPT = "transcript"
NOTE = "soap_note"
AUDIO_TYPES = ("audio/*", "video/ogg", "application/ogg", "application/octet-stream")
_VITAL_KINDS = {
    "blood_pressure",
    "heart_rate",
    "respiratory_rate",
    "temperature",
    "spo2",
    "weight",
    "height",
    "bmi",
}
_ALLERGY_CATEGORIES = {"medication", "food", "environment", "biologic"}


def asr_stage(ctx: StageContext) -> StageOutput:
    """Transcribe; unreadable audio is a permanent ``audio_unreadable`` (the raw file is kept)."""
    engine = load_asr_engine(ctx.settings)
    t = engine.transcribe(ctx.raw(), filename=ctx.message.filename)
    ASR_RTF.labels(t.model_version).observe(t.rtf)
    ASR_AUDIO_SECONDS.labels(t.model_version).inc(t.audio_seconds)
    summary = {
        "audio_seconds": round(t.audio_seconds, 2),
        "rtf": round(t.rtf, 3),
        "language": t.language,
        "segments": len(t.segments),
        "confidence": round(t.confidence, 3),
    }
    return StageOutput(
        artifacts=[
            phi_artifact(
                TRANSCRIPT,
                t.to_dict(),
                summary=summary,
                engine=t.engine,
                model_version=t.model_version,
                confidence=t.confidence,
            )
        ],
        result={"asr": {**summary, "model_version": t.model_version}},
    )


def note_stage(ctx: StageContext) -> StageOutput:
    """Draft the SOAP note; items below the confidence threshold are flagged for review."""
    transcript = Transcript.from_dict(ctx.load_json(TRANSCRIPT))
    note = load_note_engine(ctx.settings).generate(transcript.text)
    counts = {
        "vitals": len(note.vitals),
        "medications": len(note.medications),
        "diagnoses": len(note.diagnoses),
        "symptoms": len(note.symptoms),
        "allergies": len(note.allergies),
        "follow_up": len(note.follow_up),
    }
    for kind, n in counts.items():
        NOTE_ENTITIES.labels(note.model_version, kind).inc(n)
    NOTE_LOW_CONFIDENCE.labels(note.model_version).inc(note.low_confidence_count)
    result: dict[str, Any] = {
        "entities": counts,
        "low_confidence": note.low_confidence_count,
        "model_version": note.model_version,
    }
    if note.usage is not None:
        LLM_TOKENS.labels(note.model_version, "prompt").inc(note.usage.prompt_tokens)
        LLM_TOKENS.labels(note.model_version, "completion").inc(note.usage.completion_tokens)
        if note.usage.cost_usd:
            LLM_COST.labels(note.model_version).inc(note.usage.cost_usd)
        result["usage"] = note.usage.model_dump()
    items = [*note.vitals, *note.medications, *note.diagnoses, *note.symptoms, *note.allergies]
    return StageOutput(
        artifacts=[
            phi_artifact(
                NOTE,
                note.model_dump(mode="json"),
                summary={**counts, "low_confidence": note.low_confidence_count},
                engine=note.engine,
                model_version=note.model_version,
                confidence=min((i.confidence for i in items), default=None),
            )
        ],
        result={"note": result},
    )


def review_required(ctx: StageContext) -> bool:
    listed = {t.strip() for t in ctx.settings.review_tenants.split(",") if t.strip()}
    if ctx.tenant in listed:
        return True
    tenant = ctx.read(lambda s: s.get(Tenant, ctx.tenant))
    return bool(tenant and (tenant.settings or {}).get("review_required"))


def review_stage(ctx: StageContext) -> StageOutput:
    """Hold the draft for a clinician when the tenant requires it; otherwise pass it on."""
    if review_required(ctx):
        return StageOutput(wait=True, result={"review": {"status": "waiting"}})
    return StageOutput(result={"review": {"status": "not_required"}})


def _vital(v: Any) -> VitalSignInput | None:
    if v.kind not in _VITAL_KINDS:
        return None
    if v.kind == "blood_pressure":
        return VitalSignInput(
            kind="blood_pressure",
            systolic=v.components.get("systolic"),
            diastolic=v.components.get("diastolic"),
            unit=v.unit,
        )
    return VitalSignInput(kind=v.kind, value=v.value, unit=v.unit)


def _medication(m: Any) -> MedicationInput:
    timing = None
    if m.timing is not None:
        timing = TimingInput(
            frequency=m.timing.frequency,
            period=m.timing.period,
            period_unit=m.timing.period_unit,
            when=tuple(m.timing.when),
            duration=m.duration.value if m.duration else None,
            duration_unit=m.duration.unit if m.duration else None,
        )
    return MedicationInput(
        name=m.name,
        status="stopped" if m.action == "stop" else "active",
        code=CodedValue(code=m.rxnorm, display=m.name, system="RXN") if m.rxnorm else None,
        dosage=DosageInput(
            text=m.frequency_text or m.text,
            route=m.route,
            dose_value=m.dose,
            dose_unit=m.dose_unit,
            timing=timing,
            as_needed=m.as_needed,
        ),
    )


def _diagnosis(d: Any) -> DiagnosisInput:
    code = None
    if d.icd10:
        code = CodedValue(code=d.icd10, display=d.name, system="I10")
    elif d.snomed:
        code = CodedValue(code=d.snomed, display=d.name, system="SCT")
    return DiagnosisInput(
        text=d.name,
        code=code,
        verification_status="provisional" if d.verification == "provisional" else "confirmed",
    )


def _section(note: SoapNote, name: str) -> str:
    return " ".join(s.text for s in getattr(note.sections, name).sentences)


def scribe_input(
    ctx: StageContext, transcript: Transcript, note: SoapNote
) -> tuple[ScribeInput, list[str]]:
    """Map the note to the bundle builder's input; implausible vitals are withheld (listed)."""
    vitals, withheld = [], []
    for v in note.vitals:
        mapped = _vital(v) if v.plausible else None
        if mapped is None:
            withheld.append(v.kind)
        else:
            vitals.append(mapped)
    allergies = [
        AllergyInput(
            substance=a.substance,
            reaction=a.reaction,
            allergy_type=a.type,
            category=a.category if a.category in _ALLERGY_CATEGORIES else None,
            code=CodedValue(code=a.rxnorm, display=a.substance, system="RXN") if a.rxnorm else None,
        )
        for a in note.allergies
    ]
    scribe = ScribeInput(
        patient=patient_ref(ctx),
        recorded_at=ctx.message.received_at,
        subjective=_section(note, "subjective"),
        objective=_section(note, "objective"),
        assessment=_section(note, "assessment"),
        plan=_section(note, "plan"),
        status="preliminary",
        model_version=note.model_version,
        vitals=vitals,
        medications=[_medication(m) for m in note.medications],
        diagnoses=[_diagnosis(d) for d in note.diagnoses],
        allergies=allergies,
        transcript=transcript.text,
        transcript_language=transcript.language or None,
    )
    return scribe, withheld


def fhir_stage(ctx: StageContext) -> StageOutput:
    """Composition (SOAP), vitals, medications, conditions, allergies, transcript reference."""
    transcript = Transcript.from_dict(ctx.load_json(TRANSCRIPT))
    note = SoapNote.model_validate(ctx.load_json(NOTE))
    scribe, withheld = scribe_input(ctx, transcript, note)
    bundle = build_scribe_bundle(bundle_context(ctx), scribe)
    return bundle_output(bundle, result={"withheld_vitals": withheld} if withheld else None)


PIPELINE = register(
    Pipeline(
        name="scribe",
        stages=(
            Stage("asr", asr_stage),
            Stage("note", note_stage),
            Stage("review", review_stage),
            Stage("fhir", fhir_stage),
            Stage("emr", emr_stage),
        ),
        description="Consultation audio -> transcript -> draft SOAP note -> FHIR bundle -> EMR.",
        accepts=AUDIO_TYPES,
    )
)
