"""What a backfill may be asked for, and the names and states it uses.

``check_request`` is the one place a backfill request is validated: the API,
the console's preview and the CLI all reach it through the service.
"""

from __future__ import annotations

from datetime import timedelta

from carepipe.core.errors import InvalidRequest
from carepipe.core.queue import JobStatus
from carepipe.ops.archive import ArchiveFilter
from carepipe.pipelines.registry import Pipeline, get_pipeline

BATCH = 500
MAX_RATE_PER_MINUTE = 60_000.0
RATE_WINDOW = timedelta(minutes=5)
BACKFILL_PRIORITY = 0  # "low": live traffic on the shared later-stage queues goes first
QUEUE_PREFIX = "backfill-"

ACTIVE = ("planning", "running", "paused")
OUTCOME_OF_JOB = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.DEAD: "failed",
    JobStatus.WAITING_REVIEW: "waiting_review",
    JobStatus.CANCELLED: "cancelled",
}
OUTCOMES = ("succeeded", "failed", "waiting_review", "cancelled")


def queue_name(backfill_id: str) -> str:
    """The backfill's own (throttled) queue for its first-stage tasks."""
    return f"{QUEUE_PREFIX}{backfill_id}"


def check_request(archive_filter: ArchiveFilter, pipeline: str, rate_per_minute: float) -> Pipeline:
    """Validate a backfill request; returns the target pipeline.

    Raises ``InvalidRequest`` (no target, rate out of range, no date range) or
    ``UnknownPipeline``.
    """
    if not pipeline:
        raise InvalidRequest("choose the pipeline to replay into")
    pipe = get_pipeline(pipeline)
    if not 0 < rate_per_minute <= MAX_RATE_PER_MINUTE:
        raise InvalidRequest(f"rate per minute must be between 1 and {MAX_RATE_PER_MINUTE:g}")
    if archive_filter.since is None or archive_filter.until is None:
        raise InvalidRequest("a backfill needs a date range (since and until)")
    return pipe
