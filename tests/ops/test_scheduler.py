"""The scheduler runs each periodic job on time and survives a failing one."""

from __future__ import annotations

import threading

from carepipe.ops.scheduler import Periodic, Scheduler, default_jobs


def test_jobs_run_and_failures_do_not_stop_the_scheduler():
    ran = threading.Event()
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    def fine() -> None:
        calls.append("fine")
        ran.set()

    s = Scheduler([Periodic("broken", 0.1, broken), Periodic("fine", 0.1, fine)]).start()
    try:
        assert ran.wait(5)
    finally:
        s.stop()
    assert "broken" in calls and "fine" in calls


def test_default_jobs_run_against_a_real_database(db, blobs):
    names = []
    for job in default_jobs(db, blobs):
        job.run()  # an empty install: nothing to finalise or resume, and no error
        names.append(job.name)
    assert names[:3] == ["backfill.finalize", "bulk_replay.resume", "audit.checkpoint"]
    assert "model.drift_check" in names
