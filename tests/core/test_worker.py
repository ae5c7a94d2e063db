"""Workers end to end: in-process, separate processes, SIGKILL, crashes and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from carepipe.core.blobs import blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.core.models import Artifact, Job, Task
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.worker import Worker
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
KEY = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U="  # 32 bytes, base64


@pytest.fixture
def wsettings(settings: Settings) -> Settings:
    return settings.model_copy(update={"blob_encryption_key": _secret(KEY)})


def _secret(v: str):
    from pydantic import SecretStr

    return SecretStr(v)


def _env(s: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_")}
    env.update(
        {
            "CAREPIPE_DATABASE_URL": s.resolved_database_url,
            "CAREPIPE_DATA_DIR": str(s.data_dir),
            "CAREPIPE_BLOB_ENCRYPTION_KEY": KEY,
            "CAREPIPE_PIPELINE_MODULES": "tests.support.pipelines",
            "CAREPIPE_POLL_INTERVAL_SECONDS": "0.1",
            "CAREPIPE_LEASE_SECONDS": str(s.lease_seconds),
            "CAREPIPE_HEARTBEAT_SECONDS": str(s.heartbeat_seconds),
            "CAREPIPE_SHUTDOWN_GRACE_SECONDS": str(s.shutdown_grace_seconds),
            "CAREPIPE_LOG_LEVEL": "WARNING",
            "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
            **extra,
        }
    )
    return env


def _spawn_worker(s: Settings, *args: str, **extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "carepipe.cli", "worker", *args],
        cwd=ROOT,
        env=_env(s, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _submit(db, blobs, doc: dict, pipeline: str = "two_step", **kw) -> str:
    return submit(
        db,
        blobs,
        tenant="t",
        pipeline=pipeline,
        payload=json.dumps(doc).encode(),
        content_type="application/json",
        **kw,
    ).job_id


def _wait_for(pred, timeout: float = 60.0) -> None:
    wait_until(pred, timeout=timeout, interval=0.05)


def _job_status(db, job_id: str) -> str:
    with db.session() as s:
        return s.get(Job, job_id).status


def test_in_process_worker_runs_pipelines_end_to_end(db, wsettings, tmp_path):
    blobs = blob_store_from_settings(wsettings)
    counter = tmp_path / "count.txt"
    jobs = [_submit(db, blobs, {"count_file": str(counter), "n": i}) for i in range(10)]
    echo = _submit(db, blobs, {"x": 1}, pipeline="echo")
    w = Worker(db, blobs, wsettings, concurrency=2)
    w.start_background()
    try:
        _wait_for(lambda: all(_job_status(db, j) == "succeeded" for j in [*jobs, echo]))
    finally:
        w.stop()
        assert w.stopped.wait(10)
    lines = counter.read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == ["first"] * 10 + ["second"] * 10
    with db.session() as s:
        job = s.get(Job, jobs[0])
        assert job.result == {"stages": 2} and job.finished_at is not None
        kinds = s.execute(select(Artifact.kind).where(Artifact.job_id == jobs[0])).scalars().all()
        assert sorted(kinds) == ["first", "second"]
        echoed = s.execute(select(Artifact).where(Artifact.job_id == echo)).scalar_one()
        assert echoed.data["json"] == {"x": 1}


def test_failures_retry_then_dead_letter(db, wsettings):
    blobs = blob_store_from_settings(wsettings)
    s = wsettings.model_copy(update={"retry_base_seconds": 0.05, "retry_max_seconds": 0.1})
    perm = _submit(db, blobs, {"fail": "permanent"}, max_attempts=3)
    trans = _submit(db, blobs, {"fail": "transient"}, max_attempts=3)
    w = Worker(db, blobs, s, concurrency=2)
    w.start_background()
    try:
        _wait_for(lambda: _job_status(db, perm) == "dead" and _job_status(db, trans) == "dead")
    finally:
        w.stop()
        w.stopped.wait(10)
    with db.session() as sess:
        p = sess.execute(select(Task).where(Task.job_id == perm)).scalar_one()
        t = sess.execute(select(Task).where(Task.job_id == trans)).scalar_one()
    assert (p.attempts, p.last_error_code) == (1, "validation_failed")
    assert (t.attempts, t.last_error_code) == (3, "emr_unavailable")


def test_two_worker_processes_share_the_work(db, wsettings, tmp_path):
    blobs = blob_store_from_settings(wsettings)
    counter = tmp_path / "count.txt"
    # Stages that take a little time, so that the work outlasts the second process's
    # start-up: with instant stages the first process to start can drain the queue alone.
    jobs = [
        _submit(db, blobs, {"count_file": str(counter), "n": i, "sleep": 0.05}) for i in range(60)
    ]
    procs = [_spawn_worker(wsettings, "--concurrency", "2") for _ in range(2)]
    try:
        _wait_for(lambda: all(_job_status(db, j) == "succeeded" for j in jobs), timeout=120)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            assert p.wait(30) == 0
    lines = counter.read_text().splitlines()
    assert len(lines) == 120 and len(set(lines)) == 120  # every stage ran exactly once
    with db.session() as s:
        workers = set(s.execute(select(Task.worker_id)).scalars())
    assert len({w.split(":")[1] for w in workers}) == 2  # both processes took tasks


def test_sigkilled_worker_task_completes_later_exactly_once(db, wsettings, tmp_path):
    s = wsettings.model_copy(update={"lease_seconds": 2.0, "heartbeat_seconds": 0.5})
    blobs = blob_store_from_settings(s)
    counter = tmp_path / "count.txt"
    job = _submit(db, blobs, {"count_file": str(counter), "sleep": 3})
    victim = _spawn_worker(s)
    _wait_for(lambda: _leased(db, job))
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert not counter.exists()  # killed mid-stage: nothing recorded
    survivor = _spawn_worker(s)
    try:
        _wait_for(lambda: _job_status(db, job) == "succeeded", timeout=60)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(30)
    assert counter.read_text().splitlines().count(next(iter(_first_lines(counter)))) == 1
    assert [line.split()[0] for line in counter.read_text().splitlines()] == ["first", "second"]
    with db.session() as sess:
        first = sess.execute(
            select(Task).where(Task.job_id == job, Task.stage == "t_first")
        ).scalar_one()
        assert first.attempts == 2  # the killed attempt counted, then the reclaimed one


def _first_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("first")]


def _leased(db, job_id: str) -> bool:
    with db.session() as s:
        return (
            s.execute(select(Task.status).where(Task.job_id == job_id)).scalar_one_or_none()
            == "leased"
        )


def test_process_crash_between_stages_loses_and_duplicates_nothing(db, wsettings, tmp_path):
    s = wsettings.model_copy(update={"lease_seconds": 1.5, "heartbeat_seconds": 0.5})
    blobs = blob_store_from_settings(s)
    counter = tmp_path / "count.txt"
    marker = tmp_path / "crashed"
    jobs = [_submit(db, blobs, {"count_file": str(counter), "n": i}) for i in range(5)]
    crashing = _submit(db, blobs, {"count_file": str(counter), "crash_marker": str(marker)})
    first = _spawn_worker(s, "--concurrency", "1")
    code = first.wait(60)
    assert code == 17 and marker.exists(), first.stderr.read().decode()[-2000:]  # os._exit hook
    second = _spawn_worker(s)
    try:
        _wait_for(
            lambda: all(_job_status(db, j) == "succeeded" for j in [*jobs, crashing]), timeout=60
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    lines = counter.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 12
    with db.session() as sess:
        tasks = sess.execute(select(Task.job_id, Task.stage)).all()
        assert len(tasks) == len(set(tasks)) == 12  # one task per stage per job, no duplicates
        arts = sess.execute(select(Artifact.job_id, Artifact.kind)).all()
        assert len(arts) == len(set(arts)) == 12


def test_sigterm_releases_unfinished_tasks(db, wsettings, tmp_path):
    s = wsettings.model_copy(update={"shutdown_grace_seconds": 0.5})
    blobs = blob_store_from_settings(s)
    job = _submit(db, blobs, {"sleep": 20})
    proc = _spawn_worker(s, "--concurrency", "1")
    _wait_for(lambda: _leased(db, job))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    with db.session() as sess:
        task = sess.execute(select(Task).where(Task.job_id == job)).scalar_one()
    assert task.status == "ready" and task.attempts == 0 and task.lease_token is None
