"""The EMR push is idempotent even when the stage runs to completion twice (issue 10).

A worker whose lease runs out while it waits on a slow EMR loses the task to
another worker, which pushes again; then the first push completes too. Both
pushes reach the FHIR server, and because every create is conditional
(``ifNoneExist`` on the job's identifiers) the server ends with one copy of each
resource. The FHIR server here is the sandbox that honours conditional creates.
"""

from __future__ import annotations

import httpx
from sqlalchemy import select

from carepipe.core.auth import SYSTEM
from carepipe.core.models import Task, TaskAttempt
from carepipe.ops.jobs import submit_job
from carepipe.pipelines.worker import Worker
from tests.support.fhir_test_server import running_fhir_test_server
from tests.support.waiting import wait_until


def _transactions(emr) -> int:
    return sum(1 for r in emr.requests() if r["method"] == "POST" and r["path"].rstrip("/") == "")


def test_emr_stage_run_twice_after_a_lease_takeover_creates_nothing_twice(db, blobs, settings):
    with running_fhir_test_server() as emr:
        r = httpx.put(f"{emr.base_url}/Patient/p-5", json={"resourceType": "Patient", "id": "p-5"})
        assert r.status_code in (200, 201)
        base = settings.model_copy(update={"emr_fhir_url": emr.base_url, "emr_timeout_seconds": 30})
        # Worker A holds short leases and never renews them (its heartbeat is slower than
        # its lease): as if it hung while the EMR took its time.
        slow = base.model_copy(update={"lease_seconds": 2.0, "heartbeat_seconds": 60.0})
        sub = submit_job(
            db,
            blobs,
            SYSTEM,
            tenant="clinic",
            pipeline="orders",
            payload=b"Start metformin 500 mg twice daily, order HbA1c",
            content_type="text/plain",
            idempotency_key="visit-77",
            context={"patient_id": "p-5"},
        )
        emr.delay(5.0, count=1)  # the first push waits 5 s, then goes through
        a = Worker(db, blobs, slow, concurrency=1, queues=["extract", "fhir", "emr"])
        b = None
        a.start_background()
        try:
            wait_until(lambda: _emr_leased(db, sub.job_id), timeout=60, what="A in the emr stage")
            # Worker B takes the task back once A's lease has run out, and pushes again.
            b = Worker(db, blobs, base, concurrency=1, queues=["emr"])
            b.start_background()
            wait_until(lambda: _emr_done(db, sub.job_id), timeout=60, what="the emr stage done")
            wait_until(lambda: _transactions(emr) >= 2, timeout=30, what="A's push to land")
        finally:
            a.stop()
            if b is not None:
                b.stop()
            a.stopped.wait(20)
            if b is not None:
                b.stopped.wait(20)
        assert _transactions(emr) == 2  # both runs pushed the whole bundle
        stored = emr.resources()
        assert len(stored["MedicationRequest"]) == 1
        assert len(stored["ServiceRequest"]) == 1
        assert len(stored["Patient"]) == 1  # the one the EMR already had
        with db.session() as s:
            task = s.execute(
                select(Task).where(Task.job_id == sub.job_id, Task.stage == "emr")
            ).scalar_one()
            outcomes = sorted(
                s.execute(select(TaskAttempt.outcome).where(TaskAttempt.task_id == task.id))
                .scalars()
                .all()
            )
        assert outcomes == ["done", "expired"]  # A's run was taken back, B's committed


def _emr_task(db, job_id: str) -> Task | None:
    with db.session() as s:
        return s.execute(
            select(Task).where(Task.job_id == job_id, Task.stage == "emr")
        ).scalar_one_or_none()


def _emr_leased(db, job_id: str) -> bool:
    t = _emr_task(db, job_id)
    return t is not None and t.status == "leased"


def _emr_done(db, job_id: str) -> bool:
    t = _emr_task(db, job_id)
    return t is not None and t.status == "done"
