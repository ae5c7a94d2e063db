"""API key verification time: an existing key id (wrong secret) beside an unknown key id.

    .venv/bin/python benchmarks/bench_key_timing.py [--n 200] [--pg-url postgresql+psycopg://...]

Issue 10 F10: if a wrong secret for an existing key id is answered measurably
slower (or faster) than a key id that does not exist, an attacker can probe which
ids exist. This runs the real API (uvicorn on 127.0.0.1, SQLite in a temp dir, and
PostgreSQL when ``--pg-url`` is given) with a real key, and sends ``--n`` requests
of each kind, interleaved, over one keep-alive connection to ``GET /v1/jobs/{id}``
with ``Authorization: Bearer cp_<env>_<id>_<secret>``. Every answer is 401
``invalid_api_key``. The client-side latency's median and p90 are printed for the
verification as it was before the fix (``verify_key`` of commit abb134c, loaded
into the same server) beside the current one, in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

RESULTS = ROOT / "benchmarks" / "results" / "key_timing.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def verify_key_before(session: Any, plaintext: str, *, now: Any = None) -> Any:
    """``carepipe.ops.api_keys.verify_key`` as it was before issue 10 (the baseline)."""
    from carepipe.core.clock import utcnow
    from carepipe.core.crypto import constant_time_equal, sha256_hex
    from carepipe.core.errors import InvalidApiKey, RevokedApiKey
    from carepipe.core.models import ApiKey
    from carepipe.ops.api_keys import parse_key

    env, key_id, secret = parse_key(plaintext)
    row = session.get(ApiKey, key_id)
    presented = sha256_hex(secret.encode())
    if row is None or row.env != env or not constant_time_equal(presented, row.secret_sha256):
        raise InvalidApiKey("invalid API key")
    now = now or utcnow()
    if row.status == "revoked":
        raise RevokedApiKey("API key revoked")
    if row.status == "grace" and row.grace_until is not None and row.grace_until <= now:
        raise RevokedApiKey("API key grace period is over")
    if row.status == "staged":
        raise InvalidApiKey("API key not active yet")
    return row


def serve(database_url: str, data_dir: Path) -> tuple[str, str, Callable[[], None]]:
    """Start the API on a free port; returns (base URL, a real key, stop)."""
    import uvicorn

    from carepipe.app import create_app
    from carepipe.core.auth import SYSTEM
    from carepipe.core.blobs import blob_store_from_settings
    from carepipe.core.config import Settings
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade
    from carepipe.ops.api_keys import create_key

    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        api_key_cache_seconds=0,
        log_level="WARNING",
        _env_file=None,  # type: ignore[call-arg]
    )
    upgrade(database_url)
    db = Database(database_url)
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant="bench", name="timing", env="dev").plaintext
    app = create_app(settings, db=db, blobs=blob_store_from_settings(settings))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        db.dispose()

    return f"http://127.0.0.1:{port}", key, stop


def probe_keys(real_key: str) -> tuple[str, str]:
    """(existing id + wrong secret, unknown id + wrong secret), same shape and length."""
    _, env, key_id, secret = real_key.split("_", 3)
    wrong = secrets.token_urlsafe(32)[: len(secret)]
    unknown_id = "z" + secrets.token_hex(6)[:11]
    return f"cp_{env}_{key_id}_{wrong}", f"cp_{env}_{unknown_id}_{wrong}"


def measure(base: str, existing: str, unknown: str, n: int, warmup: int = 30) -> dict[str, Any]:
    """``n`` interleaved requests of each kind; latencies in milliseconds."""
    import httpx

    url = f"{base}/v1/jobs/00000000-0000-0000-0000-000000000000"
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    codes: set[tuple[int, str]] = set()
    with httpx.Client(timeout=10) as client:
        for i in range(warmup + n):
            order = ("existing", "unknown") if i % 2 == 0 else ("unknown", "existing")
            for kind in order:
                key = existing if kind == "existing" else unknown
                t0 = time.perf_counter()
                r = client.get(url, headers={"Authorization": f"Bearer {key}"})
                dt = (time.perf_counter() - t0) * 1000
                codes.add((r.status_code, r.json()["error"]["code"]))
                if i >= warmup:
                    times[kind].append(dt)
    out: dict[str, Any] = {"answers": sorted(f"{s} {c}" for s, c in codes), "_raw": times}
    for kind, v in times.items():
        out[kind] = {
            "n": len(v),
            "median_ms": round(statistics.median(v), 3),
            "p90_ms": round(_pct(v, 90), 3),
        }
    out["median_gap_ms"] = round(out["existing"]["median_ms"] - out["unknown"]["median_ms"], 3)
    out["p90_gap_ms"] = round(out["existing"]["p90_ms"] - out["unknown"]["p90_ms"], 3)
    return out


def measure_calls(
    database_url: str, fn: Callable[..., Any], existing: str, unknown: str, n: int
) -> dict[str, Any]:
    """The verification function alone (one session per call, as the API opens it), in
    microseconds: the same comparison without HTTP and event-loop noise."""
    from carepipe.core.db import Database
    from carepipe.core.errors import InvalidApiKey

    db = Database(database_url)
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    try:
        for i in range(n + 200):
            order = ("existing", "unknown") if i % 2 == 0 else ("unknown", "existing")
            for kind in order:
                key = existing if kind == "existing" else unknown
                t0 = time.perf_counter()
                with db.session() as s, contextlib.suppress(InvalidApiKey):
                    fn(s, key)
                dt = (time.perf_counter() - t0) * 1e6
                if i >= 200:
                    times[kind].append(dt)
    finally:
        db.dispose()
    out: dict[str, Any] = {}
    for kind, v in times.items():
        out[kind] = {
            "n": len(v),
            "median_us": round(statistics.median(v), 1),
            "p90_us": round(_pct(v, 90), 1),
        }
    out["median_gap_us"] = round(out["existing"]["median_us"] - out["unknown"]["median_us"], 1)
    return out


def run(database_url: str, data_dir: Path, n: int) -> dict[str, Any]:
    import carepipe.api.auth as api_auth
    from carepipe.ops.api_keys import identify_key as verify_key  # what api/auth calls (issue 16)

    base, key, stop = serve(database_url, data_dir)
    try:
        existing, unknown = probe_keys(key)
        results: dict[str, Any] = {}
        # Alternate the two implementations in rounds so that drift of this shared
        # machine's speed falls on both alike.
        rounds = 4
        per = max(1, n // rounds)
        http: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(rounds):
            for label, fn in (("before", verify_key_before), ("after", verify_key)):
                api_auth.identify_key = fn  # type: ignore[assignment]
                http[label].append(measure(base, existing, unknown, per, warmup=10))
        api_auth.identify_key = verify_key  # type: ignore[assignment]
        for label in ("before", "after"):
            results[label] = _merge(http[label])
            fn = verify_key_before if label == "before" else verify_key
            results[label]["function"] = measure_calls(database_url, fn, existing, unknown, 5 * n)
        return results
    finally:
        stop()


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians/p90 over all rounds' raw latencies."""
    out: dict[str, Any] = {"answers": sorted({a for p in parts for a in p["answers"]})}
    for kind in ("existing", "unknown"):
        v = [x for p in parts for x in p["_raw"][kind]]
        out[kind] = {
            "n": len(v),
            "median_ms": round(statistics.median(v), 3),
            "p90_ms": round(_pct(v, 90), 3),
        }
    out["median_gap_ms"] = round(out["existing"]["median_ms"] - out["unknown"]["median_ms"], 3)
    out["p90_gap_ms"] = round(out["existing"]["p90_ms"] - out["unknown"]["p90_ms"], 3)
    return out


@contextlib.contextmanager
def _nothing(url: str) -> Iterator[str]:
    yield url


@contextlib.contextmanager
def _schema(pg_url: str) -> Iterator[str]:
    """A schema of its own on the PostgreSQL server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"cp_bench_keys_{secrets.token_hex(4)}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="requests of each kind (>= 150)")
    ap.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL"))
    args = ap.parse_args()
    from carepipe.observability.logging import configure_logging

    configure_logging("WARNING", False)
    rows = []
    report: dict[str, Any] = {"n": args.n, "databases": {}}
    with tempfile.TemporaryDirectory(prefix="cp-keytiming-") as tmp:
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'carepipe.db'}")]
        if args.pg_url:
            targets.append(("postgresql", args.pg_url))
        for name, url in targets:
            with _schema(url) if name == "postgresql" else _nothing(url) as db_url:
                res = run(db_url, Path(tmp) / name, args.n)
            report["databases"][name] = res
            for label in ("before", "after"):
                r = res[label]
                rows.append(
                    [
                        name,
                        label,
                        r["existing"]["median_ms"],
                        r["unknown"]["median_ms"],
                        r["median_gap_ms"],
                        r["existing"]["p90_ms"],
                        r["unknown"]["p90_ms"],
                        r["p90_gap_ms"],
                        r["function"]["existing"]["median_us"],
                        r["function"]["unknown"]["median_us"],
                        r["function"]["median_gap_us"],
                    ]
                )
    columns = [
        "database",
        "verify_key",
        "existing id median ms",
        "unknown id median ms",
        "median gap ms",
        "existing id p90 ms",
        "unknown id p90 ms",
        "p90 gap ms",
        "verify_key alone: existing median us",
        "unknown median us",
        "gap us",
    ]
    print(
        f"HTTP: {args.n} requests of each kind, interleaved, one keep-alive connection; "
        f"verify_key alone: {5 * args.n} calls of each kind"
    )
    print(" | ".join(columns))
    for r in rows:
        print(" | ".join(str(x) for x in r))
    report["title"] = "API key verification: existing vs unknown key id (issue 10 F10)"
    report["table"] = {"columns": columns, "rows": rows}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
