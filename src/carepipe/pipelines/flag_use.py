"""The feature flags the pipelines ask, and what each one changes (docs/openfeature.md).

``note-engine`` (string: ``rules`` or ``openai``): the scribe's note engine for the
tenant, over the model registry's deployment and ``CAREPIPE_NOTE_ENGINE``.
``review-required`` (boolean): whether a scribe job waits for a clinician, over
``CAREPIPE_REVIEW_TENANTS`` and the tenant's ``review_required`` policy.
``document-summaries`` (boolean, the "Document summaries" beta): the job result carries
a plain-text reverse summary of the orders / note (``summary``).
A flag that does not exist changes nothing: the behaviour before flags stays (for
``document-summaries``: the orders pipeline keeps its summary, the scribe adds none).
"""

from __future__ import annotations

from typing import Any

from carepipe.engines.notes import ENGINE_NAMES
from carepipe.engines.orders import summarize_bundle
from carepipe.flags.jobs import JobFlag, job_flag, job_variants, record_variants, variants_result
from carepipe.observability.logging import get_logger
from carepipe.pipelines.context import StageContext, StageOutput

NOTE_ENGINE = "note-engine"
REVIEW_REQUIRED = "review-required"
DOCUMENT_SUMMARIES = "document-summaries"
# What a reverse summary may name: the orders and findings, never the patient or the
# encounter (the job result is not encrypted the way artifacts are).
_SUMMARY_TYPES = (
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "ServiceRequest",
    "Appointment",
)

log = get_logger("carepipe.pipelines.flag_use")


def stage_flag(ctx: StageContext, key: str, default: bool | str) -> JobFlag:
    """Evaluate ``key`` for the stage's job (job id, tenant, pipeline, stage)."""
    return job_flag(
        ctx.db,
        key,
        default,
        job_id=ctx.job_id,
        tenant=ctx.tenant,
        pipeline=ctx.task.pipeline,
        stage=ctx.task.stage,
    )


def note_engine(ctx: StageContext) -> JobFlag:
    """The ``note-engine`` flag; a value that names no engine is ignored (and logged), so
    a typo in a flag cannot dead-letter every consultation."""
    flag = stage_flag(ctx, NOTE_ENGINE, "")
    if flag.variant is not None and str(flag.value).strip().lower() not in ENGINE_NAMES:
        log.warning("note_engine_flag_unknown_engine", variant=flag.variant)
        return JobFlag(flag.key, "", None)
    return flag


def note_settings(settings: Any, flag: JobFlag) -> Any:
    """``settings`` with the flag's note engine, if the flag chose one."""
    if flag.variant is None:
        return settings
    return settings.model_copy(update={"note_engine": str(flag.value).strip().lower()})


def summary_of(bundle: dict[str, Any]) -> str:
    """The reverse summary of a bundle's orders and findings (no patient, no encounter)."""
    entries = [
        e
        for e in bundle.get("entry", [])
        if (e.get("resource") or {}).get("resourceType") in _SUMMARY_TYPES
    ]
    return summarize_bundle({**bundle, "entry": entries})


def with_flags(ctx: StageContext, out: StageOutput, flags: list[JobFlag]) -> StageOutput:
    """``out`` plus the record of the variants the stage ran under: a row per flag in
    ``job_flag_variants`` (committed with the handoff) and ``flags`` in the job result."""
    if not any(f.variant is not None for f in flags):
        return out
    recorded = ctx.read(lambda s: job_variants(s, ctx.job_id))
    out.effects = [*out.effects, record_variants(ctx.job_id, ctx.tenant, ctx.task.pipeline, flags)]
    out.result = {**(out.result or {}), **variants_result(recorded, flags)}
    return out
