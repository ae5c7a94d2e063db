"""Flags as jobs use them: one evaluation per job x flag, and the record of the variant.

A stage asks ``job_flag(...)``; the answer says the value and the variant, or that no
such flag exists (then the stage keeps the behaviour it had before flags: settings,
tenant policy, the registry's deployment). The variant is written to
``job_flag_variants`` by ``record_variants``, an effect committed with the stage's
handoff, so a job that failed before its handoff records nothing it did not run under.
This module is the only writer of that table.

The evaluation context is the job's id (its targeting key, also the attribute ``job``),
``tenant``, ``pipeline`` and ``stage``. A percentage rollout therefore splits jobs (every
stage and retry of one job lands in the same bucket); a rule with ``bucket_by: tenant``
splits tenants instead, so every job of one tenant gets the same variant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import FlagsUnavailable
from carepipe.flags.models import JobFlagVariant
from carepipe.flags.provider import flag_client
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.flags.jobs")


@dataclass(frozen=True)
class JobFlag:
    """A flag's answer for one job; ``variant`` None: the flag does not exist (or could
    not be evaluated as the asked type), and ``value`` is the caller's default."""

    key: str
    value: Any
    variant: str | None


def job_context(job_id: str, tenant: str, pipeline: str, stage: str) -> EvaluationContext:
    """The evaluation context of a job's stage (targeting key: the job id)."""
    return EvaluationContext(
        targeting_key=job_id,
        attributes={"job": job_id, "tenant": tenant, "pipeline": pipeline, "stage": stage},
    )


def job_flag(
    db: Database,
    key: str,
    default: bool | str,
    *,
    job_id: str,
    tenant: str,
    pipeline: str,
    stage: str,
) -> JobFlag:
    """Evaluate boolean or string flag ``key`` for a job (through the OpenFeature client)."""
    client = flag_client(db)
    context = job_context(job_id, tenant, pipeline, stage)
    if isinstance(default, bool):
        details: Any = client.get_boolean_details(key, default, context)
    else:
        details = client.get_string_details(key, default, context)
    if details.error_code is None or details.variant is not None:
        # A variant was served (on an error such as a rollout without its attribute, the
        # flag's default variant): the job ran under it.
        return JobFlag(key, details.value, details.variant)
    if details.error_code == ErrorCode.GENERAL:
        # The flags could not be read: retry the stage rather than run it without its
        # flags (a skipped review must not follow from a database hiccup).
        raise FlagsUnavailable(f"flag {key!r} could not be evaluated: {details.error_message}")
    if details.error_code != ErrorCode.FLAG_NOT_FOUND:
        # A flag of the wrong kind is a configuration mistake: say so, behave as before.
        log.warning("job_flag_unusable", flag=key, error=str(details.error_code))
    return JobFlag(key, default, None)


def record_variants(
    job_id: str, tenant: str, pipeline: str, flags: list[JobFlag]
) -> Callable[[Session], None]:
    """The effect that records the variants a job ran under (one row per job x flag; a
    retried or replayed stage overwrites its row with what it ran under this time)."""
    served = {f.key: f.variant for f in flags if f.variant is not None}

    def write(session: Session) -> None:
        if not served:
            return
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        now = utcnow()
        for key, variant in sorted(served.items()):
            stmt = dialect.insert(JobFlagVariant.__table__).values(
                job_id=job_id,
                flag_key=key,
                variant=variant,
                tenant=tenant,
                pipeline=pipeline,
                recorded_at=now,
            )
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["job_id", "flag_key"],
                    set_={"variant": stmt.excluded.variant, "recorded_at": now},
                )
            )

    return write


def job_variants(session: Session, job_id: str) -> dict[str, str]:
    """The variants recorded for a job, by flag key."""
    rows = session.execute(
        select(JobFlagVariant.flag_key, JobFlagVariant.variant).where(
            JobFlagVariant.job_id == job_id
        )
    )
    return {key: variant for key, variant in rows}


def variants_result(recorded: Mapping[str, str], flags: list[JobFlag]) -> dict[str, Any]:
    """The job result's ``flags`` entry: every variant so far (earlier stages' recorded
    ones plus this stage's), since a stage's result replaces keys, not merges them."""
    merged = {**recorded, **{f.key: f.variant for f in flags if f.variant is not None}}
    return {"flags": merged} if merged else {}
