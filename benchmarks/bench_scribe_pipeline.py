"""Scribe pipeline end to end: wall time per minute of audio and jobs/hour with 2 workers.

The 12 committed consultation clips are submitted to the ``scribe`` pipeline
(SQLite in a temp dir) and worked by two ``carepipe worker`` processes
(ASR with one CPU thread each, so the two share the 2 cores); the clock runs
from the first submission to the last job done. Baseline in the same run: the
bare ASR engine plus the note engine on the same clips, one after another in
one process (what the pipeline adds: archive, queue, FHIR, two processes).

    .venv/bin/python benchmarks/bench_scribe_pipeline.py [--rounds 1]

Writes benchmarks/results/scribe_pipeline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "scribe"
OUT = ROOT / "benchmarks" / "results" / "scribe_pipeline.json"
KEY = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="


def clips() -> list[Path]:
    manifest = json.loads((DATA / "manifest.json").read_text())
    return [DATA / e["file"] for e in manifest]


def baseline(paths: list[Path]) -> dict[str, float]:
    from carepipe.core.config import Settings
    from carepipe.engines.asr import load_asr_engine
    from carepipe.engines.notes import load_note_engine

    s = Settings(_env_file=None, asr_cpu_threads=2)  # type: ignore[call-arg]
    asr, notes = load_asr_engine(s), load_note_engine(s)
    audio = 0.0
    t = time.perf_counter()
    for p in paths:
        tr = asr.transcribe(p.read_bytes())
        notes.generate(tr.text)
        audio += tr.audio_seconds
    return {"seconds": time.perf_counter() - t, "audio_seconds": audio}


def pipeline(paths: list[Path], rounds: int, tmp: Path) -> dict[str, float]:
    from sqlalchemy import func, select

    from carepipe.core.blobs import blob_store_from_settings
    from carepipe.core.config import Settings
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade
    from carepipe.core.models import Artifact, Job
    from carepipe.pipelines.catalog import load_pipelines
    from carepipe.pipelines.ingest import submit

    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_")}
    env.update(
        CAREPIPE_DATA_DIR=str(tmp),
        CAREPIPE_BLOB_ENCRYPTION_KEY=KEY,
        CAREPIPE_ASR_CPU_THREADS="1",
        CAREPIPE_LOG_LEVEL="WARNING",
        CAREPIPE_POLL_INTERVAL_SECONDS="0.2",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    )
    s = Settings(data_dir=tmp, _env_file=None, blob_encryption_key=KEY)  # type: ignore[call-arg]
    upgrade(s.resolved_database_url)
    load_pipelines()
    db, blobs = Database(s.resolved_database_url), blob_store_from_settings(s)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "carepipe.cli", "worker", "--concurrency", "1"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        time.sleep(3)  # workers load their engines on first use; let them start
        t = time.perf_counter()
        ids = [
            submit(
                db,
                blobs,
                tenant="bench",
                pipeline="scribe",
                payload=p.read_bytes(),
                content_type="audio/wav",
                filename=p.name,
            ).job_id
            for _ in range(rounds)
            for p in paths
        ]
        while True:
            with db.session() as sess:
                done = sess.execute(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.id.in_(ids), Job.status.in_(("succeeded", "dead")))
                ).scalar_one()
            if done == len(ids):
                break
            time.sleep(0.2)
        wall = time.perf_counter() - t
        with db.session() as sess:
            ok = sess.execute(
                select(func.count())
                .select_from(Job)
                .where(Job.id.in_(ids), Job.status == "succeeded")
            ).scalar_one()
            audio = sum(
                a.data["audio_seconds"]
                for a in sess.execute(
                    select(Artifact).where(Artifact.kind == "transcript")
                ).scalars()
            )
        return {"seconds": wall, "audio_seconds": audio, "jobs": len(ids), "succeeded": ok}
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1, help="times each clip is submitted")
    args = ap.parse_args()
    paths = clips()
    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-scribe-"))
    try:
        base = baseline(paths)
        pipe = pipeline(paths, args.rounds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    per_min_pipe = pipe["seconds"] / (pipe["audio_seconds"] / 60)
    per_min_base = base["seconds"] / (base["audio_seconds"] / 60)
    jobs_h = pipe["jobs"] / pipe["seconds"] * 3600
    base_jobs_h = len(paths) / base["seconds"] * 3600
    rows = [
        [
            "scribe pipeline, 2 worker processes",
            f"{per_min_pipe:.2f}",
            f"{jobs_h:.0f}",
            f"{pipe['succeeded']}/{pipe['jobs']}",
        ],
        [
            "baseline: ASR + note engines, one process",
            f"{per_min_base:.2f}",
            f"{base_jobs_h:.0f}",
            f"{len(paths)}/{len(paths)}",
        ],
    ]
    print(
        f"\nscribe: {len(paths)} clips x {args.rounds}, "
        f"{pipe['audio_seconds'] / 60:.1f} min of audio\n"
    )
    print(f"{'system':<44}{'s per audio min':>16}{'jobs/hour':>11}{'ok':>8}")
    for r in rows:
        print(f"{r[0]:<44}{r[1]:>16}{r[2]:>11}{r[3]:>8}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "scribe_pipeline",
                "title": "Scribe pipeline end to end (2 worker processes) beside the bare engines",
                "table": {
                    "columns": ["system", "wall s per audio minute", "jobs/hour", "succeeded"],
                    "rows": rows,
                },
                "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            },
            indent=2,
        )
    )
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
