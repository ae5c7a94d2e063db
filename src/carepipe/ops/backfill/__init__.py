"""Backfills: replay archived messages into a pipeline, throttled, pausable, reconciled.

How it works (one module each):

- **Selection** (``start``): the archive filter (``carepipe.ops.archive``) picks
  messages, walked in (received_at, id) order in batches; each batch is one
  transaction (its jobs, tasks, items, counters), so workers start on the first
  batch while later ones are still being planned.
- **Idempotency** (``plan``): a message's job is found by the job's ``message_id``,
  by ``duplicate_of_job`` for a duplicate submission, or by the idempotency key a
  job created for it would carry (``message:<id>`` unless the message recorded
  its own). An existing job that has ended is *re-run* (``core.queue.rerun_jobs``:
  a conditional UPDATE, so an overlapping backfill or a DLQ replay that got there
  first wins and this one skips the item), and gets a fresh first-stage task with
  ``replay=true``; its dead tasks are superseded (they leave the DLQ and cannot be
  replayed on top of the re-run). A message without a job gets one on its archived
  row and blob (``core.queue.create_missing_jobs``: the (tenant, idempotency key)
  unique constraint makes a race between two backfills create it once). FHIR
  pushes downstream are conditional, so a re-run never creates a second bundle.
- **Throttle**: first-stage tasks go on the backfill's own queue ``backfill-<id>``
  (stage unchanged), rate-limited with the queue's token bucket, which every
  worker honours at claim time; later stages go to the normal queues.
- **Control** (``control``): pause/resume is that queue's pause. Cancel marks its
  ready tasks ``cancelled`` and gives their jobs their earlier state back.
- **Progress and report** (``progress``, ``report``): once every queued item's job
  has ended and nothing is left on the queue, the items' outcomes are frozen, the
  reconciliation report (JSON and CSV, no PHI) goes to the blob store, and an
  audit event records both SHA-256s (the signed artifact for an RCA). Reads of a
  backfill finalise it when due; ``finalize_due`` does it for all (scheduler, CLI).

Every change of task and job state goes through ``carepipe.core.queue``; this
package writes only its own tables (``backfills``, ``backfill_items``).
"""

from carepipe.core.errors import BackfillNotFinished, BackfillStateConflict
from carepipe.ops.backfill.control import cancel_backfill, pause_backfill, resume_backfill
from carepipe.ops.backfill.metrics import BackfillCollector, install_backfill_collector
from carepipe.ops.backfill.preview import FilterOptions, Preview, filter_options, preview_backfill
from carepipe.ops.backfill.progress import Progress, read_progress
from carepipe.ops.backfill.report import (
    ReportFile,
    build_report,
    finalize_due,
    finalize_if_due,
    get_report,
)
from carepipe.ops.backfill.rules import (
    BATCH,
    MAX_RATE_PER_MINUTE,
    QUEUE_PREFIX,
    check_request,
    queue_name,
)
from carepipe.ops.backfill.start import start_backfill
from carepipe.ops.backfill.views import (
    BackfillItemView,
    BackfillView,
    backfill_view,
    get_backfill,
    list_backfills,
    list_items,
)

__all__ = [
    "BATCH",
    "MAX_RATE_PER_MINUTE",
    "QUEUE_PREFIX",
    "BackfillCollector",
    "BackfillItemView",
    "BackfillNotFinished",
    "BackfillStateConflict",
    "BackfillView",
    "FilterOptions",
    "Preview",
    "Progress",
    "ReportFile",
    "backfill_view",
    "build_report",
    "cancel_backfill",
    "check_request",
    "filter_options",
    "finalize_due",
    "finalize_if_due",
    "get_backfill",
    "get_report",
    "install_backfill_collector",
    "list_backfills",
    "list_items",
    "pause_backfill",
    "preview_backfill",
    "queue_name",
    "read_progress",
    "resume_backfill",
    "start_backfill",
]
