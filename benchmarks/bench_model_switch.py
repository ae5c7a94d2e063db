"""Model switch benchmark: how long until a running worker serves a newly deployed version,
beside the baseline of switching by restarting the worker process with new settings.

One ``carepipe worker`` process (a separate process: its serving cache refreshes every
``CAREPIPE_MODEL_SERVING_REFRESH_SECONDS``, default 2 s) runs scribe jobs (the packaged
4-second smoke clip) with Whisper tiny.en. Two ASR versions differ in their engine settings
(greedy vs greedy + the clinical prompt), so each switch loads a different engine.

- deploy: ``deployments.deploy`` (health check, then commit) flips the version; from the
  commit, probe jobs are submitted one after another until one is served by the new
  version (its result's ``asr.registry_version``). Switch time = commit -> that probe done.
  Rollbacks are measured the same way (``rollback.rollback``).
- restart (baseline): SIGTERM the worker, wait for it to exit, start a new worker process
  with the other version's settings in its environment, and probe until a job is done.
  Switch time = the decision to restart -> that probe done.

Both include one probe job (~1 s) and the load of the new engine; each is measured
``--rounds`` times in the same run (median and max reported).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_model_switch.py [--rounds 3]

Writes benchmarks/results/model_switch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

OUT = ROOT / "benchmarks" / "results" / "model_switch.json"
KEY = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="
BASE = {
    "asr_model": "tiny.en",
    "asr_beam_size": 1,
    "asr_cpu_threads": 1,
    "asr_contextual_pass": False,
}
VERSIONS = (BASE, {**BASE, "asr_prompt": "clinical"})
REFRESH_SECONDS = 2.0


def _env(tmp: Path, extra: dict[str, Any] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_")}
    env.update(
        CAREPIPE_DATA_DIR=str(tmp),
        CAREPIPE_BLOB_ENCRYPTION_KEY=KEY,
        CAREPIPE_LOG_LEVEL="WARNING",
        CAREPIPE_POLL_INTERVAL_SECONDS="0.1",
        CAREPIPE_MODEL_SERVING_REFRESH_SECONDS=str(REFRESH_SECONDS),
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    for k, v in (extra or {}).items():
        env[f"CAREPIPE_{k.upper()}"] = str(v).lower() if isinstance(v, bool) else str(v)
    return env


def _start_worker(tmp: Path, extra: dict[str, Any] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "carepipe.cli", "worker", "--concurrency", "1"],
        env=_env(tmp, extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    worker.wait(60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="switches of each kind")
    args = ap.parse_args()

    from carepipe.core.auth import SYSTEM
    from carepipe.core.blobs import blob_store_from_settings
    from carepipe.core.config import Settings
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade
    from carepipe.core.models import Job
    from carepipe.mlops import deployments, registry, rollback
    from carepipe.mlops.health import SMOKE_CLIP
    from carepipe.pipelines.catalog import load_pipelines
    from carepipe.pipelines.ingest import submit

    tmp = Path(tempfile.mkdtemp(prefix="bench-model-switch-"))
    s = Settings(data_dir=tmp, _env_file=None, blob_encryption_key=KEY, **BASE)  # type: ignore[call-arg]
    upgrade(s.resolved_database_url)
    load_pipelines()
    db, blobs = Database(s.resolved_database_url), blob_store_from_settings(s)
    audio = SMOKE_CLIP.read_bytes()
    with db.transaction() as sess:  # two registered versions, as a user registers them
        registry.register_model(sess, SYSTEM, name="whisper-tiny", kind="asr")
        refs = [
            registry.register_version(
                sess, blobs, SYSTEM, "whisper-tiny", format="packaged-whisper",
                packaged="tiny.en",
                engine_config={k: v for k, v in config.items() if k != "asr_model"},
            ).label
            for config in VERSIONS
        ]  # fmt: skip

    def probe() -> tuple[float, str | None]:
        """Run one job to the end; (when it was done, the registry version that served)."""
        job_id = submit(
            db,
            blobs,
            tenant="bench",
            pipeline="scribe",
            payload=audio,
            content_type="audio/flac",
            filename="smoke.flac",
        ).job_id
        while True:
            with db.session() as sess:
                job = sess.get(Job, job_id)
                assert job is not None
                if job.status in ("succeeded", "dead", "waiting_review"):
                    asr = (job.result or {}).get("asr") or {}
                    return time.perf_counter(), asr.get("registry_version")
            time.sleep(0.02)

    def until_served(ref: str, since: float) -> tuple[float, int]:
        probes = 0
        while True:
            done, served = probe()
            probes += 1
            if served == ref:
                return done - since, probes
            assert probes < 50, f"{ref} never served"

    rows: list[dict[str, Any]] = []
    worker = _start_worker(tmp)
    try:
        dep = deployments.deploy(db, s, SYSTEM, engine_kind="asr", version_ref=refs[0])
        until_served(refs[0], time.perf_counter())  # warm: the worker has loaded v1
        for i in range(args.rounds):
            target = refs[(i + 1) % 2]
            t0 = time.perf_counter()
            if i % 2 == 0:
                deployments.deploy(db, s, SYSTEM, engine_kind="asr", version_ref=target)
                how = "deploy"
            else:
                rollback.rollback(db, s, SYSTEM, dep.id, to=target)
                how = "rollback"
            committed = time.perf_counter()
            seconds, probes = until_served(target, committed)
            rows.append(
                {
                    "method": how,
                    "round": i + 1,
                    "switch_seconds": round(seconds, 2),
                    "health_check_seconds": round(committed - t0, 2),
                    "probes": probes,
                }
            )
            print(rows[-1], flush=True)
    finally:
        _stop(worker)

    # Baseline: the same switch by restarting the worker with the other settings.
    with db.transaction() as sess:
        from sqlalchemy import delete

        from carepipe.mlops.models import MlDeployment, MlDeploymentEvent

        sess.execute(delete(MlDeploymentEvent))
        sess.execute(delete(MlDeployment))
    config = VERSIONS[0]
    worker = _start_worker(tmp, config)
    try:
        probe()  # warm
        for i in range(args.rounds):
            config = VERSIONS[(i + 1) % 2]
            t0 = time.perf_counter()
            _stop(worker)
            worker = _start_worker(tmp, config)
            done, _ = probe()
            rows.append(
                {
                    "method": "restart",
                    "round": i + 1,
                    "switch_seconds": round(done - t0, 2),
                    "health_check_seconds": None,
                    "probes": 1,
                }
            )
            print(rows[-1], flush=True)
    finally:
        _stop(worker)

    def summary(methods: tuple[str, ...]) -> list[Any]:
        xs = [r["switch_seconds"] for r in rows if r["method"] in methods]
        return [round(statistics.median(xs), 2), round(max(xs), 2), len(xs)]

    live, restart = summary(("deploy", "rollback")), summary(("restart",))
    table = {
        "columns": ["switch", "median s", "max s", "switches"],
        "rows": [
            ["deploy/rollback, running worker (commit -> first job on the new version)", *live],
            ["restart the worker with new settings (baseline)", *restart],
        ],
    }
    result = {
        "benchmark": "model_switch",
        "title": "Model switch: deploy/rollback in a running worker vs restarting it",
        "method": (
            f"One separate worker process, Whisper tiny.en, 4-s clip probes; serving cache "
            f"refresh {REFRESH_SECONDS:g} s. Times include one probe job and the new engine's load."
        ),
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "table": table,
        "rows": rows,
        "ratios": {"restart / live switch (median)": round(restart[0] / live[0], 2)},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{'switch':<75} {'median s':>9} {'max s':>7}")
    for r in table["rows"]:
        print(f"{r[0]:<75} {r[1]:>9} {r[2]:>7}")
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
