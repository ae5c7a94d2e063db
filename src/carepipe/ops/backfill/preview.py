"""Before a backfill starts: the filter's choices, and what a request would replay.

The console's "new" and "confirm" steps are adapters over these; the rules are
the same ``check_request`` that ``start_backfill`` applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.models import ApiKey, Tenant
from carepipe.ops import archive
from carepipe.ops.archive import ArchiveFilter
from carepipe.ops.backfill.rules import check_request
from carepipe.pipelines.registry import all_pipelines

# Where archived messages come from (``messages.source``).
SOURCES = ("api", "mllp", "console", "cli", "backfill")
SAMPLE = 10


@dataclass(frozen=True)
class FilterOptions:
    """Choices for the archive filter's drop-downs."""

    pipeline: list[str]
    tenant: list[str]
    source: list[str]
    status: list[str]
    job_status: list[str]


def filter_options(session: Session, principal: Principal) -> FilterOptions:
    """The filter's choices, from small tables only (never a scan of the archive).

    Pipelines known here, tenants with settings or API keys (only its own for a
    tenant-scoped principal), the ingest sources and the message and job states.
    """
    require(principal, "archive.read")
    if principal.tenant is not None:
        tenants = {principal.tenant}
    else:
        tenants = set(session.execute(select(Tenant.id)).scalars())
        tenants |= set(session.execute(select(ApiKey.tenant).distinct()).scalars())
    return FilterOptions(
        pipeline=[p.name for p in all_pipelines()],
        tenant=sorted(tenants),
        source=list(SOURCES),
        status=list(archive.MESSAGE_STATUSES),
        job_status=list(archive.JOB_STATUSES),
    )


@dataclass(frozen=True)
class Preview:
    """How many messages a backfill would replay, where and how fast (nothing is written)."""

    pipeline: str
    rate_per_minute: float
    total: int
    by_status: Any
    sample: list[Any]

    @property
    def minutes(self) -> float:
        """How long the replay takes at the rate (the throttle, not the workers, is the limit)."""
        return self.total / self.rate_per_minute


def preview_backfill(
    session: Session,
    principal: Principal,
    *,
    archive_filter: ArchiveFilter,
    pipeline: str,
    rate_per_minute: float,
) -> Preview:
    """Validate a backfill request as ``start_backfill`` would, and count what it selects."""
    require(principal, "backfill.run")
    pipe = check_request(archive_filter, pipeline, rate_per_minute)
    return Preview(
        pipeline=pipe.name,
        rate_per_minute=rate_per_minute,
        total=archive.count_messages(session, principal, archive_filter),
        by_status=archive.count_by(session, principal, archive_filter, "job_status"),
        sample=archive.query_messages(session, principal, archive_filter, limit=SAMPLE).items,
    )
