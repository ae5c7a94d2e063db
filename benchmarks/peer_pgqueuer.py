"""PgQueuer peer for the queue benchmark: a ``QueueManager`` with one no-op entrypoint.

The benchmark's worker processes run it the way ``pgq run`` runs a consumer::

    python -m benchmarks.peer_pgqueuer --batch-size B [--max-concurrent-tasks M]

which calls ``pgqueuer.run(factory, batch_size=..., max_concurrent_tasks=...)``, the
documented way to run a worker "as ``pgq run`` does, without the CLI" (the ``pgq``
command of pgqueuer 1.6.0 fails on start-up with typer 0.29: its ``--log-level``
reaches the logger as a string). The factory uses the asyncpg driver (the one
PgQueuer recommends; its own benchmark measures it at about twice psycopg's
throughput), one connection per process, under uvloop as ``pgq run`` does.

Environment, set by ``bench_queue.py``:

- ``BENCH_PGQUEUER_DSN``: a libpq URL (no ``options``; asyncpg does not take them);
- ``PGQUEUER_SCHEMA``: the benchmark's own schema, which PgQueuer qualifies every
  table, type and function name with;
- ``PGQUEUER_CHANNEL``: a NOTIFY channel of the run's own (channels are
  database-wide, schemas do not separate them).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pgqueuer
import uvloop
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager

ENTRYPOINT = "bench_noop"


def dsn() -> str:
    """The connection URL for this run (see the module docstring)."""
    return os.environ.get("BENCH_PGQUEUER_DSN", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def create_queue_manager() -> AsyncIterator[QueueManager]:
    """``pgq run`` factory: one asyncpg connection, one no-op entrypoint."""
    conn = await asyncpg.connect(dsn())
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint(ENTRYPOINT)
    async def noop(_job: Job) -> None:
        """Do nothing (the same work as CarePipe's no-op stage)."""

    try:
        yield qm
    finally:
        await conn.close()


def main() -> None:
    """Run one worker process until SIGTERM/SIGINT (PgQueuer handles the signals)."""
    ap = argparse.ArgumentParser(description="PgQueuer worker for bench_queue.py")
    ap.add_argument("--batch-size", type=int, default=10, help="pgq run's default: 10")
    ap.add_argument("--max-concurrent-tasks", type=int, default=None, help="default: no cap")
    args = ap.parse_args()
    uvloop.run(
        pgqueuer.run(
            create_queue_manager,
            batch_size=args.batch_size,
            max_concurrent_tasks=args.max_concurrent_tasks,
        )
    )


if __name__ == "__main__":
    main()
