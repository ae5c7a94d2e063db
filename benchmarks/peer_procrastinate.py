"""Procrastinate peer for the queue benchmark: an app with one no-op task.

The connection string comes from ``BENCH_PROCRASTINATE_DSN`` (a libpq DSN whose
``options`` put the benchmark's own schema first on the search path).
"""

from __future__ import annotations

import os

import procrastinate

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(
        conninfo=os.environ.get("BENCH_PROCRASTINATE_DSN", "postgresql://postgres@127.0.0.1/test"),
    )
)


@app.task(name="bench_noop", queue="bench_noop")
def noop() -> None:
    """Do nothing (the same work as CarePipe's no-op stage)."""
