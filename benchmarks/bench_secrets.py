"""Secrets store benchmark (docs/secrets.md): what the store and the log filter cost.

Figures, each beside its baseline from the same run:

- seal (fresh DEK, encrypt, wrap) and unseal of a 40-character value;
- ``redact_text`` on a 200-character JSON log line with 0 (baseline) and 20 registered
  secret values, and the structlog processor on an 8-field event;
- ``resolve_settings`` per task: settings without references (baseline), with one
  ``secret://`` reference cached, and its first read (database + unseal);
- a rewrap of 1,000 versions in one transaction.

SQLite in a temporary directory; PostgreSQL too when ``CAREPIPE_TEST_DATABASE_URL`` (or
the test suite's default) answers, in a schema of its own that is dropped afterwards.

    .venv/bin/python benchmarks/bench_secrets.py

Writes benchmarks/results/secrets.json.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

RESULTS = ROOT / "benchmarks" / "results" / "secrets.json"
PG_URL = os.environ.get(
    "CAREPIPE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
LINE = (
    '{"task_id": 2, "stage": "note", "attempt": 1, "code": "engine_unavailable", '
    '"outcome": "retry", "event": "task.failed", "job_id": "cce490fcb8684be28ed5864999bb9a58", '
    '"level": "warning", "timestamp": "2026-11-27T23:40:55.497984Z"}'
)


def per_call_us(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return round((time.perf_counter() - start) / n * 1e6, 1)


def crypto_and_logs() -> list[list[Any]]:
    from carepipe.core.secrets import Kek
    from carepipe.core.secrets.envelope import seal, unseal
    from carepipe.observability import redaction

    kek = Kek.from_bytes(os.urandom(32))
    sealed = seal(kek, "emr.token", 1, "x" * 40)
    rows: list[list[Any]] = [
        ["seal, 40 chars", per_call_us(lambda: seal(kek, "emr.token", 1, "x" * 40), 5000), "-"],
        ["unseal, 40 chars", per_call_us(lambda: unseal(kek, "emr.token", 1, sealed), 5000), "-"],
    ]
    bare = per_call_us(lambda: redaction.redact_text(LINE), 20000)
    for i in range(20):
        redaction.register(f"value-{i}-{os.urandom(8).hex()}")
    with20 = per_call_us(lambda: redaction.redact_text(LINE), 20000)
    rows.append(["redact a 200-char log line, 20 values (baseline: 0)", with20, bare])
    event = json.loads(LINE)
    rows.append(
        [
            "structlog processor, 8 fields, 20 values",
            per_call_us(lambda: redaction.structlog_processor(None, "", dict(event)), 20000),
            "-",
        ]
    )
    return rows


def database(url: str) -> list[list[Any]]:
    from pydantic import SecretStr

    from carepipe.core.config import Settings
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade
    from carepipe.core.secrets import Kek, clear_cache, resolve_settings, store

    upgrade(url)
    db = Database(url)
    kek, new = Kek.from_bytes(os.urandom(32)), Kek.from_bytes(os.urandom(32))
    with db.transaction() as s:
        for i in range(1000):
            store.put(s, kek, f"s{i:04d}", f"value-{os.urandom(8).hex()}", actor="bench")
    start = time.perf_counter()
    with db.transaction() as s:
        store.rewrap_all(s, kek, new)
    rewrap_ms = round((time.perf_counter() - start) * 1e3, 1)
    data_dir = Path(tempfile.mkdtemp())
    plain = Settings(data_dir=data_dir, database_url=url, _env_file=None)  # type: ignore[call-arg]
    ref = plain.model_copy(
        update={
            "secrets_kek": SecretStr(base64.b64encode(new.key).decode()),
            "llm_api_key": SecretStr("secret://s0001"),
        }
    )
    clear_cache()
    start = time.perf_counter()
    resolve_settings(db, ref)
    first_ms = round((time.perf_counter() - start) * 1e3, 2)
    baseline = per_call_us(lambda: resolve_settings(db, plain), 2000)
    cached = per_call_us(lambda: resolve_settings(db, ref), 2000)
    db.dispose()
    name = db.dialect
    return [
        [f"{name}: resolve_settings, 1 reference cached (baseline: none)", cached, baseline],
        [f"{name}: resolve_settings, first read (ms)", first_ms, "-"],
        [f"{name}: rewrap 1,000 versions (ms)", rewrap_ms, "-"],
    ]


def postgres() -> list[list[Any]]:
    from sqlalchemy import create_engine, text

    schema = f"cp_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        print(f"PostgreSQL skipped: {type(exc).__name__}", file=sys.stderr)
        return []
    try:
        sep = "&" if "?" in PG_URL else "?"
        return database(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    rows = crypto_and_logs()
    with tempfile.TemporaryDirectory() as d:
        rows += database(f"sqlite:///{d}/bench.db")
    rows += postgres()
    result = {
        "title": "Secrets store: envelope crypto, log redaction, resolution, rewrap",
        "method": "time.perf_counter over 2,000-20,000 calls (µs per call unless marked "
        "ms); the baseline column is the same call without the feature's work.",
        "table": {"columns": ["figure", "value", "baseline"], "rows": rows},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for row in rows:
        print(*row, sep="\t")


if __name__ == "__main__":
    main()
