"""A running worker picks a backfill's work up at once, woken by the queue, not its poll.

The worker polls only once a minute here, so anything done within seconds was
woken: by the backfill's batch commit, by the stage handoff, and by a resume.
No adapter or service sends the wake-up; the queue operations do (on SQLite an
in-process signal at commit, on PostgreSQL ``NOTIFY``).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from carepipe.app import create_app
from carepipe.pipelines.worker import Worker
from tests.ops.backfill.helpers import LiveServer, accepted, drain, personal_token
from tests.support.waiting import wait_until


@pytest.fixture
def live(settings, db, blobs, clock):
    slow_poll = settings.model_copy(update={"poll_interval_seconds": 60.0})
    worker = Worker(db, blobs, slow_poll, concurrency=1, worker_id="woken")
    app = create_app(settings, db=db, blobs=blobs)
    with LiveServer(app) as server:
        token = personal_token(db, "olga", "ops")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            thread = worker.start_background()
            try:
                yield client
            finally:
                worker.stop()
                thread.join(10)


def test_start_and_resume_wake_a_waiting_worker(live, db, blobs, settings, clock):
    t0 = clock.now()
    for n in range(3):
        accepted(db, blobs, {"n": n})
    drain(db, blobs, settings, clock)
    clock.advance(60)
    window = {"since": (t0 - timedelta(hours=1)).isoformat(), "until": clock.now().isoformat()}
    r = live.post(
        "/v1/backfills", json={"filter": window, "pipeline": "two_step", "rate_per_minute": 600}
    )
    assert r.status_code == 201, r.text
    bid = r.json()["id"]

    def processed() -> int:
        return int(live.get(f"/v1/backfills/{bid}").json()["processed"])

    # A new bucket holds one token and the clock is frozen: one message runs (both stages).
    wait_until(lambda: processed() == 1, timeout=10, what="the first message to be replayed")
    assert live.post(f"/v1/backfills/{bid}/pause").json()["status"] == "paused"
    clock.advance(10)  # a full bucket (10 tokens) for the other two, but the queue is paused
    assert live.post(f"/v1/backfills/{bid}/resume").json()["status"] == "running"
    wait_until(lambda: processed() == 3, timeout=10, what="the resumed backfill to finish")
    final = wait_until(
        lambda: (v := live.get(f"/v1/backfills/{bid}").json())["finished_at"] and v,
        timeout=10,
        what="the report",
    )
    assert (final["status"], final["succeeded"], final["remaining"]) == ("completed", 3, 0)
