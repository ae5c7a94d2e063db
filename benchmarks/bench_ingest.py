"""Ingestion latency: ``POST /v1/jobs`` (echo pipeline) beside a bare 202 endpoint.

    .venv/bin/python benchmarks/bench_ingest.py [--rates 100,200] [--duration 20]

The server (``benchmarks/ingest_server.py``) is the real API on SQLite in a temp
dir with its worker running in the same process, as ``carepipe up`` runs it, plus
a bare FastAPI endpoint returning 202 served by the same uvicorn process. A load
generator in another process (asyncio + httpx) sends requests open loop at a fixed
rate: request i is due at ``start + i / rate`` whatever happened to earlier ones,
and its latency is measured from when it was due (so a stalled server shows up as
latency, not as a lower rate). Each rate runs for ``--duration`` seconds against
the bare endpoint, then against ours, after a short warm-up. Target: our p99 <= 3x
the bare endpoint's p99 at the same rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

RESULTS = ROOT / "benchmarks" / "results" / "ingest.json"
TARGET_P99_RATIO = 3.0
KEY = "aW5nZXN0LWJlbmNoLWtleS0zMi1ieXRlcy1sb25nISE="  # 32 bytes, base64


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


# -- load generator (runs in its own process) ---------------------------------------------


async def _open_loop(url: str, key: str, rate: float, duration: float) -> dict[str, Any]:
    import httpx

    n = int(rate * duration)
    lat: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2

        async def one(i: int) -> None:
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            body = json.dumps(
                {"pipeline": "echo", "priority": "normal", "payload": {"n": i, "note": "bench"}}
            )
            try:
                r = await client.post(url, content=body, headers=headers)
                if r.status_code != 202:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return
            lat.append((loop.time() - due) * 1000.0)

        await asyncio.gather(*(one(i) for i in range(n)))
        elapsed = loop.time() - start
    return {
        "sent": n,
        "ok": len(lat),
        "errors": errors,
        "achieved_rps": round(len(lat) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(_pct(lat, 50), 2),
        "p95_ms": round(_pct(lat, 95), 2),
        "p99_ms": round(_pct(lat, 99), 2),
        "max_ms": round(max(lat), 2) if lat else None,
    }


def loadgen_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--duration", type=float, required=True)
    a = ap.parse_args(argv)
    print(json.dumps(asyncio.run(_open_loop(a.url, a.key, a.rate, a.duration))))
    return 0


# -- orchestration ------------------------------------------------------------------------


def _create_key(env: dict[str, str]) -> str:
    """Create a partner API key in the benchmark database (as ``carepipe keys create``)."""
    code = (
        "from carepipe.core.config import Settings\n"
        "from carepipe.core.db import Database\n"
        "from carepipe.core.migrate import upgrade\n"
        "from carepipe.core.auth import Principal\n"
        "from carepipe.ops.api_keys import create_key\n"
        "s = Settings()\n"
        "upgrade(s.resolved_database_url)\n"
        "db = Database(s.resolved_database_url)\n"
        "with db.transaction() as session:\n"
        "    k = create_key(session, Principal(kind='cli', id='bench', roles=('admin',)),"
        " tenant='bench', name='bench', env=s.env)\n"
        "print(k.plaintext)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def _loadgen(url: str, key: str, rate: float, duration: float) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--loadgen",
            "--url",
            url,
            "--key",
            key,
            "--rate",
            str(rate),
            "--duration",
            str(duration),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 120,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wait_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"server did not answer {url}")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _measure(
    env: dict[str, str],
    tmp: Path,
    key: str,
    rates: list[float],
    duration: float,
    rows: list[dict[str, Any]],
    label: str,
    api_only: bool,
) -> None:
    """Serve the API (and the bare endpoint) in one process and load both endpoints."""
    port = _free_port()
    server_env = {**env, **({"BENCH_API_ONLY": "1"} if api_only else {})}
    server = worker = None
    try:
        log = (tmp / "server.log").open("ab")
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "ingest_server.py"), "--port", str(port)],
            cwd=ROOT,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if api_only:
            worker = subprocess.Popen(
                [sys.executable, "-m", "carepipe.cli", "worker"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz")
        # Warm-up: both endpoints, so first-request costs are not measured.
        _loadgen(f"{base}/bare/v1/jobs", key, 50, 2)
        _loadgen(f"{base}/v1/jobs", key, 50, 2)
        for rate in rates:
            for name, path in (("bare FastAPI 202", "/bare/v1/jobs"), (label, "/v1/jobs")):
                print(f"{name} at {rate:.0f} req/s for {duration:.0f} s ...", flush=True)
                r = _loadgen(f"{base}{path}", key, rate, duration)
                rows.append({"endpoint": name, "rate": rate, "config": label, **r})
    finally:
        _stop(worker)
        _stop(server)


def main() -> int:
    if "--loadgen" in sys.argv:
        return loadgen_main([a for a in sys.argv[1:] if a != "--loadgen"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="100,200")
    ap.add_argument("--duration", type=float, default=20.0)
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",") if r.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-ingest-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_")}
    env.update(
        CAREPIPE_DATA_DIR=str(tmp / "var"),
        CAREPIPE_BLOB_ENCRYPTION_KEY=KEY,
        CAREPIPE_LOG_LEVEL="WARNING",
        CAREPIPE_ENV="bench",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src")]),
    )
    rows: list[dict[str, Any]] = []
    error = None
    try:
        key = _create_key(env)
        # 1) As `carepipe up`: workers in the API process. 2) Production shape: the API
        #    process alone, a `carepipe worker` process beside it doing the same work.
        for label, api_only in (("CarePipe (up)", False), ("CarePipe (API + worker proc)", True)):
            _measure(env, tmp, key, rates, args.duration, rows, label, api_only)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        print(f"FAILED: {error}", file=sys.stderr)
        if (tmp / "server.log").exists():
            print((tmp / "server.log").read_text(errors="replace")[-3000:], file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    ratios: dict[str, float] = {}
    configs = sorted({r["config"] for r in rows}, key=lambda c: "API" in c)
    for config in configs:
        tag = "api_only" if "API" in config else "up"
        for rate in rates:
            same = [r for r in rows if r["rate"] == rate and r["config"] == config]
            b = next((r for r in same if r["endpoint"].startswith("bare")), None)
            o = next((r for r in same if not r["endpoint"].startswith("bare")), None)
            if not (b and o and b["p99_ms"] > 0):
                continue
            if b["achieved_rps"] < 0.95 * rate:
                # The baseline itself (or the load generator) could not keep the rate:
                # a ratio to a saturated baseline says nothing.
                print(
                    f"{config}, rate {rate:.0f}: bare endpoint reached only "
                    f"{b['achieved_rps']} req/s; no ratio (load generator or server saturated)"
                )
                continue
            ratios[f"p99_ratio_{tag}_at_{rate:.0f}"] = round(o["p99_ms"] / b["p99_ms"], 2)

    print(f"\ningestion latency (open loop, {args.duration:.0f} s per row)\n")
    print(
        f"{'endpoint':<30}{'req/s':>7}{'achieved':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}  errors"
    )
    for r in rows:
        print(
            f"{r['endpoint']:<30}{r['rate']:>7.0f}{r['achieved_rps']:>10.1f}{r['p50_ms']:>9.2f}"
            f"{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['max_ms'] or 0:>9.2f}  {r['errors'] or '-'}"
        )
    print()
    met = {}
    for k, v in ratios.items():
        met[k] = v <= TARGET_P99_RATIO
        print(f"{k}: {v:.2f}x the bare endpoint ({'met' if met[k] else 'MISSED'}: <= 3x)")

    from bench_queue import machine

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "ingest",
                "title": "Ingestion latency: POST /v1/jobs vs a bare FastAPI 202",
                "method": (
                    "uvicorn process serving create_app (SQLite) and a bare FastAPI app on "
                    "/bare; 'up' runs the worker in that process as carepipe up does, 'API + "
                    "worker proc' runs it in a carepipe worker process beside it; open-loop "
                    "httpx generator in another process; latency from each request's due time."
                ),
                "duration_s": args.duration,
                "machine": machine(),
                "rows": rows,
                "ratios": ratios,
                "target_p99_ratio": TARGET_P99_RATIO,
                "targets_met": met,
                "error": error,
                "notes": [
                    "CarePipe (up): one process, as `carepipe up` runs; the in-process worker "
                    "runs each job's echo stage right after its POST, so request handling shares "
                    "the GIL and the SQLite writer with it. That, not the endpoint, is most of "
                    "the p99 gap.",
                    "API + worker proc on SQLite: the API, the worker and the load generator "
                    "are three busy processes on 2 cores, and the two CarePipe processes take "
                    "turns on SQLite's one write lock. BEGIN IMMEDIATE retries in 50 us-2 ms "
                    "steps (carepipe.core.db.begin_immediate); with SQLite's own busy handler "
                    "(1-100 ms sleeps) this row fell to 70 of 200 req/s with a p50 of 8 s.",
                ],
                "table": {
                    "columns": ["endpoint", "req/s", "achieved", "p50 ms", "p95 ms", "p99 ms"],
                    "rows": [
                        [
                            r["endpoint"],
                            r["rate"],
                            r["achieved_rps"],
                            r["p50_ms"],
                            r["p95_ms"],
                            r["p99_ms"],
                        ]
                        for r in rows
                    ],
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 1 if error else 0


if __name__ == "__main__":
    raise SystemExit(main())
