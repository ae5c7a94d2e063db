"""How long the Flags console's adoption view takes to read, at its limits.

One flag with two variants; a window of 24 h holding one ``flag_evaluation_counts`` row
per variant per minute (2,880 rows) and ``MAX_JOBS`` (50,000) jobs recorded under the
flag (10 % ``on``, a few of them dead), each a real ``jobs`` row with its message.
Timed: ``carepipe.flags.adoption.adoption(..., hours=24)``, what ``/console/flags/{key}``
calls, median of 7 runs after one warm-up, on SQLite (a file) and, when reachable,
PostgreSQL (``CAREPIPE_TEST_DATABASE_URL`` or the tests' default URL, in a schema of its
own, dropped afterwards).

    .venv/bin/python benchmarks/bench_flag_adoption.py

Writes benchmarks/results/flag_adoption.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from carepipe.core.auth import SYSTEM
from carepipe.core.db import Database
from carepipe.core.migrate import upgrade
from carepipe.core.models import Job, Message
from carepipe.flags.adoption import MAX_JOBS, adoption
from carepipe.flags.models import FlagEvaluationCount, JobFlagVariant

KEY = "bench-flag"
RESULTS = Path(__file__).parent / "results" / "flag_adoption.json"
PG_URL = os.environ.get(
    "CAREPIPE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _seed(db: Database, now: datetime) -> None:
    start = now - timedelta(hours=24)
    messages, jobs, variants = [], [], []
    for i in range(MAX_JOBS):
        at = start + timedelta(seconds=i * 86_400 / MAX_JOBS)
        mid, jid = f"m{i:031d}", f"j{i:031d}"
        variant = "on" if i % 10 == 0 else "off"
        dead = i % 50 == 0
        messages.append(
            {
                "id": mid, "tenant": "bench", "source": "api", "kind": "application/json",
                "pipeline": "p", "content_sha256": "0" * 64, "blob_key": mid, "size_bytes": 1,
                "status": "processed", "received_at": at, "meta": {},
            }
        )  # fmt: skip
        jobs.append(
            {
                "id": jid, "tenant": "bench", "pipeline": "p", "message_id": mid,
                "status": "dead" if dead else "succeeded", "priority": 1, "replay": False,
                "created_at": at, "updated_at": at,
                "finished_at": None if dead else at + timedelta(milliseconds=200 + i % 300),
            }
        )  # fmt: skip
        variants.append(
            {
                "job_id": jid, "flag_key": KEY, "variant": variant, "tenant": "bench",
                "pipeline": "p", "recorded_at": at,
            }
        )  # fmt: skip
    counts = [
        {"flag_key": KEY, "variant": v, "minute": start + timedelta(minutes=m), "count": 100}
        for m in range(24 * 60)
        for v in ("on", "off")
    ]
    with db.transaction() as s:
        for model, rows in (
            (Message, messages),
            (Job, jobs),
            (JobFlagVariant, variants),
            (FlagEvaluationCount, counts),
        ):
            for k in range(0, len(rows), 5_000):
                s.execute(insert(model), rows[k : k + 5_000])


def _measure(url: str) -> dict[str, Any]:
    upgrade(url)
    db = Database(url)
    now = datetime.now(UTC)
    try:
        _seed(db, now)
        runs = []
        for i in range(8):
            t0 = time.perf_counter()
            with db.session() as s:
                seen = adoption(s, SYSTEM, KEY, hours=24, now=now)
            if i:  # the first run warms caches
                runs.append((time.perf_counter() - t0) * 1000)
        return {
            "median_ms": round(statistics.median(runs), 1),
            "max_ms": round(max(runs), 1),
            "jobs_read": sum(o.jobs for o in seen.outcomes),
            "evaluation_buckets": len(seen.evaluations.starts),
        }
    finally:
        db.dispose()


def main() -> None:
    results: dict[str, Any] = {"machine": platform.platform(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = _measure(f"sqlite:///{tmp}/bench.db")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # PostgreSQL is optional here: report why it was skipped
        results["postgresql"] = f"skipped: {type(exc).__name__}"
    else:
        try:
            sep = "&" if "?" in PG_URL else "?"
            results["postgresql"] = _measure(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
        finally:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
