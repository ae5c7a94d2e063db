"""Celery (Redis broker) peer for the queue benchmark: an app with one no-op task.

The broker URL comes from ``BENCH_CELERY_BROKER`` (a dedicated Redis DB number
that the benchmark flushes before and after). No result backend: completion is
seen from the broker (queue empty and nothing left unacknowledged, with
``acks_late`` so a message is acknowledged only after its task ran).
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery("bench", broker=os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/13"))
app.conf.update(
    task_ignore_result=True,
    task_acks_late=True,
    task_default_queue="bench_noop",
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="bench_noop")
def noop() -> None:
    """Do nothing (the same work as CarePipe's no-op stage)."""
