"""The ``scribe`` pipeline: consultation audio -> transcript -> SOAP note -> FHIR -> EMR.

``asr`` transcribes with the tenant's vocabulary and checks the transcript as a whole
(coverage, loops, text over silence: :mod:`carepipe.engines.asr.quality`). ``note``
repairs Whisper's number forms and garbled drug names (every change recorded), drafts the
note, and gives each item a calibrated confidence and its flags
(:mod:`carepipe.engines.notes.assessment`). ``review`` holds the job for a clinician when
the tenant requires review (the ``review-required`` flag when it exists, else
``CAREPIPE_REVIEW_TENANTS`` or the tenant's ``review_required`` setting), with the
reasons; a suspect transcript of a tenant without review is a dead letter
``asr_suspect``, never a silent success. Items that need review reach the bundle with a
note why; implausible vitals are withheld; a dose said of no drug the note could read is a
Composition section ("Not read by the scribe"). Flags: docs/openfeature.md.

:func:`scribe_input` here and :mod:`carepipe.pipelines.scribe_steps` (:func:`transcribe`,
:func:`draft_note`): the stage logic, no database.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from carepipe.core.errors import AsrSuspect, EngineTimeout, StageTimeout
from carepipe.engines.asr import Transcript, load_asr_engine
from carepipe.engines.notes import SoapNote
from carepipe.flags.jobs import JobFlag
from carepipe.interop.fhir.inputs import (
    AllergyInput,
    ApprovalInput,
    CodedValue,
    DiagnosisInput,
    DosageInput,
    MedicationInput,
    ObservationInput,
    PatientInput,
    PatientRef,
    ScribeInput,
    TimingInput,
    VitalSignInput,
)
from carepipe.interop.fhir.scribe import build_scribe_bundle
from carepipe.mlops import observations
from carepipe.mlops.serving import Served, served_version
from carepipe.observability import model_quality
from carepipe.observability.metrics import (
    ASR_AUDIO_SECONDS,
    ASR_CORRECTIONS,
    ASR_RTF,
    ASR_SUSPECT,
    LLM_COST,
    LLM_TOKENS,
    NOTE_ENTITIES,
    NOTE_LOW_CONFIDENCE,
)
from carepipe.pipelines.common import (
    bundle_context,
    bundle_output,
    emr_stage,
    job_context,
    job_tenant_settings,
    patient_ref,
)
from carepipe.pipelines.context import StageContext, StageOutput, phi_artifact
from carepipe.pipelines.flag_use import (
    DOCUMENT_SUMMARIES,
    REVIEW_REQUIRED,
    note_engine,
    note_settings,
    stage_flag,
    summary_of,
    with_flags,
)
from carepipe.pipelines.registry import Pipeline, Stage, register
from carepipe.pipelines.scribe_steps import draft_note, transcribe
from carepipe.review.store import APPROVED_NOTE_KIND, open_review_effect, prepare_review

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


def _dialect(ctx: StageContext) -> str:
    """The job's dialect (context ``dialect``), else the tenant's, else the review default
    (``CAREPIPE_REVIEW_DEFAULT_DIALECT``): metrics and corrections use the same one."""
    context = job_context(ctx)
    value = getattr(context, "dialect", None) if context is not None else None
    value = value or getattr(job_tenant_settings(ctx), "dialect", None)
    return str(value or ctx.settings.review_default_dialect)


def _served(ctx: StageContext, kind: str) -> Served | None:
    """The deployed version serving this job's ``kind`` stage; None when nothing is
    deployed for the kind (the process settings serve)."""
    key = ctx.task.idempotency_key or ctx.job_id
    return served_version(ctx.db, ctx.settings, kind, ctx.tenant, key)


def _run_settings(ctx: StageContext, served: Served | None) -> Any:
    """The settings the stage runs with: the served version's over the process's."""
    return ctx.settings if served is None else served.settings(ctx.settings, ctx.blobs)


def _observe_failure(
    ctx: StageContext, dialect: str | None, exc: Exception, settings: Any = None
) -> None:
    """Count a failed transcription per model version and dialect (model quality metrics)."""
    try:
        version = load_asr_engine(settings or ctx.settings).model_version
    except Exception:  # the engine itself would not load: count it under "unknown"
        version = ""
    timeout = isinstance(exc, EngineTimeout | StageTimeout)
    reason = "timeout" if timeout else getattr(exc, "code", "error")
    model_quality.observe_asr_failure(model_version=version, dialect=dialect, reason=reason)


def asr_stage(ctx: StageContext) -> StageOutput:
    """Transcribe; unreadable audio is a permanent ``audio_unreadable`` (the raw file is kept).

    The result carries the model quality signals (docs/monitoring.md): the dialect, the
    audio's SNR estimate and speech ratio, and the flags ``hallucination_suspected`` and
    ``low_snr``; they are observed per model version x dialect for Prometheus.
    """
    model_quality.configure(wer_baseline=getattr(ctx.settings, "asr_wer_baseline", "0.15"))
    dialect = _dialect(ctx)
    served = _served(ctx, "asr")
    started = time.perf_counter()
    settings = ctx.settings
    try:
        settings = _run_settings(ctx, served)
        t = transcribe(settings, ctx.tenant, ctx.raw(), filename=ctx.message.filename)
    except Exception as exc:
        _observe_failure(ctx, dialect, exc, settings)
        observations.failed(ctx.db, served, ctx.job_id, ctx.tenant, started, exc)
        raise
    ASR_RTF.labels(t.model_version).observe(t.rtf)
    ASR_AUDIO_SECONDS.labels(t.model_version).inc(t.audio_seconds)
    quality = t.extra["quality"]
    for reason in quality["reasons"]:
        ASR_SUSPECT.labels(t.model_version, reason).inc()
    audio = t.extra.get("audio") or {}
    flags = list(quality.get("flags") or [])
    model_quality.observe_asr(
        model_version=t.model_version,
        dialect=dialect,
        rtf=t.rtf,
        processing_seconds=t.processing_seconds,
        confidence=float(quality["metrics"].get("mean_word_confidence", t.confidence)),
        snr_db=audio.get("snr_db"),
        speech_ratio=audio.get("speech_ratio"),
        low_snr="low_snr" in flags,
        hallucination="hallucination_suspected" in flags,
    )
    summary = {
        "audio_seconds": round(t.audio_seconds, 2),
        "rtf": round(t.rtf, 3),
        "language": t.language,
        "segments": len(t.segments),
        "confidence": round(t.confidence, 3),
        "suspect": quality["suspect"],
        "suspect_reasons": quality["reasons"],
        "dialect": model_quality.dialect_label(dialect),
        "snr_db": audio.get("snr_db"),
        "speech_ratio": audio.get("speech_ratio"),
        "bandwidth_hz": audio.get("bandwidth_hz"),
        "narrowband": "narrowband" in flags,
        "low_snr": "low_snr" in flags,
        "hallucination_suspected": "hallucination_suspected" in flags,
        "quality_flags": flags,
    }
    if served is not None:  # which registry version and canary arm served
        summary.update(registry_version=served.label, arm=served.arm)
    confidence = float(quality["metrics"].get("mean_word_confidence", t.confidence))
    effects = observations.asr_served(
        served, ctx.job_id, ctx.tenant, started, t, summary, confidence
    )
    return StageOutput(
        effects=effects,
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


def _age_years(ctx: StageContext) -> float | None:
    """The patient's age when the job context gives one (``age_years``), else None: used
    only to relax the low end of dose checks for children."""
    context = job_context(ctx)
    value = getattr(context, "age_years", None) if context is not None else None
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def note_stage(ctx: StageContext) -> StageOutput:
    """Draft the SOAP note; items that need review (and why) are marked."""
    transcript = Transcript.from_dict(ctx.load_json(TRANSCRIPT))
    engine_flag = note_engine(ctx)  # the flag, when it exists, decides over the registry
    served = None if engine_flag.variant is not None else _served(ctx, "note")
    started = time.perf_counter()
    try:
        settings = note_settings(_run_settings(ctx, served), engine_flag)
        note = draft_note(settings, transcript, age_years=_age_years(ctx))
    except Exception as exc:
        observations.failed(ctx.db, served, ctx.job_id, ctx.tenant, started, exc)
        raise
    counts = {
        "vitals": len(note.vitals),
        "labs": len(note.labs),
        "medications": len(note.medications),
        "diagnoses": len(note.diagnoses),
        "symptoms": len(note.symptoms),
        "allergies": len(note.allergies),
        "follow_up": len(note.follow_up),
    }
    for kind, n in counts.items():
        NOTE_ENTITIES.labels(note.model_version, kind).inc(n)
    NOTE_LOW_CONFIDENCE.labels(note.model_version).inc(note.low_confidence_count)
    for c in note.corrections:
        ASR_CORRECTIONS.labels(c["kind"]).inc()
    result: dict[str, Any] = {
        "entities": counts,
        "low_confidence": note.low_confidence_count,
        "needs_review": note.review_count,
        "corrections": len(note.corrections),
        "unread": len(note.unread),
        "flags": note.flags,
        "model_version": note.model_version,
    }
    if note.usage is not None:
        LLM_TOKENS.labels(note.model_version, "prompt").inc(note.usage.prompt_tokens)
        LLM_TOKENS.labels(note.model_version, "completion").inc(note.usage.completion_tokens)
        if note.usage.cost_usd:
            LLM_COST.labels(note.model_version).inc(note.usage.cost_usd)
        result["usage"] = note.usage.model_dump()
    items = [*note.vitals, *note.medications, *note.diagnoses, *note.symptoms, *note.allergies]
    confidence = min((i.confidence for i in items), default=None)
    if served is not None:
        result.update(registry_version=served.label, arm=served.arm)
    words = len(transcript.text.split())
    effects = observations.note_served(
        served, ctx.job_id, ctx.tenant, started, counts, confidence, words
    )
    out = StageOutput(
        effects=effects,
        artifacts=[
            phi_artifact(
                NOTE,
                note.model_dump(mode="json"),
                summary={
                    **counts,
                    "low_confidence": note.low_confidence_count,
                    "needs_review": note.review_count,
                    "corrections": len(note.corrections),
                    **{k: result[k] for k in ("registry_version", "arm") if k in result},
                },
                engine=note.engine,
                model_version=note.model_version,
                confidence=confidence,
            )
        ],
        result={"note": result},
    )
    return with_flags(ctx, out, [engine_flag])


def review_required(ctx: StageContext, flag: JobFlag) -> bool:
    """Whether the job waits for a clinician: the ``review-required`` flag when it exists,
    else ``CAREPIPE_REVIEW_TENANTS`` or the tenant's ``review_required`` policy."""
    if flag.variant is not None:  # the flag, when it exists, overrides the tenant policy
        return bool(flag.value)
    listed = {t.strip() for t in ctx.settings.review_tenants.split(",") if t.strip()}
    if ctx.tenant in listed:
        return True
    return job_tenant_settings(ctx).review_required


def review_stage(ctx: StageContext) -> StageOutput:
    """Hold the draft for a clinician when the tenant requires it; otherwise pass it on.

    A suspect transcript (truncated, looping, text over silence) never passes silently:
    it waits for review with its reasons, or, for a tenant without review, is a dead
    letter ``asr_suspect`` (replay it once someone has listened to the recording).
    """
    transcript = ctx.load_json(TRANSCRIPT) or {}
    quality = (transcript.get("extra") or {}).get("quality") or {}
    reasons = list(quality.get("reasons") or [])
    note = ctx.load_json(NOTE) or {}
    to_review = int(note.get("review_count") or 0)
    flag = stage_flag(ctx, REVIEW_REQUIRED, False)
    if review_required(ctx, flag):
        review: dict[str, Any] = {"status": "waiting", "items_to_review": to_review}
        if reasons:
            review["asr_suspect"] = reasons
        if note.get("flags"):
            review["flags"] = note["flags"]
        hold = StageOutput(wait=True, result={"review": review}, effects=[_open_review(ctx)])
        return with_flags(ctx, hold, [flag])
    if quality.get("suspect"):
        raise AsrSuspect(
            "transcript failed the ASR quality checks: " + ", ".join(reasons),
            details={"reasons": reasons, "metrics": quality.get("metrics", {})},
        )
    passed = {"status": "not_required", "items_to_review": to_review}
    return with_flags(ctx, StageOutput(result={"review": passed}), [flag])


def _open_review(ctx: StageContext) -> Any:
    """The effect that opens the job's clinician review (``carepipe.review``) with the hold."""
    transcript_art, note_art = ctx.artifact(TRANSCRIPT), ctx.artifact(NOTE)
    assert transcript_art is not None and note_art is not None
    transcript, note = ctx.load_json(TRANSCRIPT), ctx.load_json(NOTE)
    quality = (transcript.get("extra") or {}).get("quality") or {}
    nxt = PIPELINE.after(ctx.task.stage)
    assert nxt is not None
    return open_review_effect(
        prepare_review(ctx.blobs, transcript, note),
        job_id=ctx.job_id,
        tenant=ctx.tenant,
        priority=ctx.task.priority,
        deadline_minutes=ctx.settings.review_deadline_minutes,
        resume_stage=nxt.name,
        resume_queue=nxt.queue_name,
        resume_max_attempts=nxt.max_attempts or ctx.settings.max_attempts,
        transcript_artifact_id=transcript_art.id,
        note_artifact_id=note_art.id,
        signals={
            "asr_suspect": list(quality.get("reasons") or []),
            "asr_flags": list(quality.get("flags") or []),
            "note_flags": list(note.get("flags") or []),
            "dialect": _dialect(ctx),
        },
        model_versions={
            "asr": transcript_art.model_version or "",
            "note": note_art.model_version or "",
        },
    )


def _review_note(item: Any) -> str | None:
    """Why a reviewer should look at ``item`` (codes only: no transcript words)."""
    if not getattr(item, "needs_review", False):
        return None
    reasons = list(item.flags)
    if item.confidence < 0.9:
        reasons.insert(0, f"confidence {item.confidence:.2f}")
    return "Needs review (CarePipe scribe): " + "; ".join(reasons)


def _vital(v: Any) -> VitalSignInput | None:
    if v.kind not in _VITAL_KINDS:
        return None
    if v.kind == "blood_pressure":
        return VitalSignInput(
            kind="blood_pressure",
            systolic=v.components.get("systolic"),
            diastolic=v.components.get("diastolic"),
            unit=v.unit,
            note=_review_note(v),
        )
    return VitalSignInput(kind=v.kind, value=v.value, unit=v.unit, note=_review_note(v))


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
        note=_review_note(m),
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
    return scribe_input_for(patient_ref(ctx), ctx.message.received_at, transcript, note)


def scribe_input_for(
    patient: PatientRef | PatientInput, recorded_at: Any, transcript: Transcript, note: SoapNote
) -> tuple[ScribeInput, list[str]]:
    """:func:`scribe_input` without a stage context (the benchmark uses it)."""
    vitals, withheld = [], []
    observations = []
    for v in note.vitals:
        if v.kind == "fetal_heart_rate" and v.plausible and v.value is not None:
            observations.append(
                ObservationInput(
                    loinc=v.loinc, value=v.value, unit=v.unit, category="exam", note=_review_note(v)
                )
            )
            continue
        if v.kind == "blood_glucose" and v.plausible and v.value is not None:
            observations.append(
                ObservationInput(loinc=v.loinc, value=v.value, unit=v.unit, note=_review_note(v))
            )
            continue
        mapped = _vital(v) if v.plausible else None
        if mapped is None:
            withheld.append(v.kind)
        else:
            vitals.append(mapped)
    for lab in note.labs:
        if not lab.plausible:
            withheld.append(lab.kind)
            continue
        observations.append(
            ObservationInput(
                loinc=lab.loinc, value=lab.value, unit=lab.unit, note=_review_note(lab)
            )
        )
    allergies = [
        AllergyInput(
            substance=a.substance,
            reaction=a.reaction,
            allergy_type=a.type,
            category=a.category if a.category in _ALLERGY_CATEGORIES else None,
            code=CodedValue(code=a.rxnorm, display=a.substance, system="RXN") if a.rxnorm else None,
            note=_review_note(a),
        )
        for a in note.allergies
    ]
    scribe = ScribeInput(
        patient=patient,
        recorded_at=recorded_at,
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
        observations=observations,
        unread=[u.text for u in note.unread],
    )
    return scribe, withheld


def fhir_stage(ctx: StageContext) -> StageOutput:
    """Composition (SOAP), vitals, medications, conditions, allergies, transcript reference.

    A note a clinician approved (``approved_note``, written by :mod:`carepipe.review`) is
    used instead of the draft: its edits, a ``final`` status and a Provenance of the approval.
    """
    transcript = Transcript.from_dict(ctx.load_json(TRANSCRIPT))
    approved = ctx.load_json(APPROVED_NOTE_KIND)
    draft = ctx.artifact(NOTE)
    if (
        approved
        and draft is not None
        and approved["provenance"]["draft_note_artifact_id"] != draft.id
    ):
        approved = None  # approved from an earlier draft (the job ran again since): not this one
    if approved:
        note = SoapNote.model_validate(approved["note"])
        transcript = Transcript(**{**transcript.__dict__, "text": approved["transcript"]})
    else:
        note = SoapNote.model_validate(ctx.load_json(NOTE))
    scribe, withheld = scribe_input(ctx, transcript, note)
    if approved:
        p = approved["provenance"]
        scribe = replace(
            scribe,
            status="final",
            approval=ApprovalInput(
                approver=p["approved_by"],
                approver_display=p.get("approved_by_name") or "",
                approved_at=p["approved_at"],
                review_id=p.get("review_id") or "",
                draft_note_id=p.get("draft_note_artifact_id") or "",
                draft_transcript_id=p.get("draft_transcript_artifact_id") or "",
                asr_model_version=(p.get("model_versions") or {}).get("asr") or "",
                note_model_version=(p.get("model_versions") or {}).get("note") or "",
            ),
        )
    bundle = build_scribe_bundle(bundle_context(ctx), scribe)
    result: dict[str, Any] = {"withheld_vitals": withheld} if withheld else {}
    summaries = stage_flag(ctx, DOCUMENT_SUMMARIES, False)
    if summaries.value is True:  # the beta: only for tenants the flag is on for
        result["summary"] = summary_of(bundle)
    return with_flags(ctx, bundle_output(bundle, result=result or None), [summaries])


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
