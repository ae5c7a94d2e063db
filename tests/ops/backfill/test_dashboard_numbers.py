"""The numbers behind the dashboard tiles, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carepipe.core.auth import Principal
from carepipe.core.errors import PermissionDenied
from carepipe.core.queue import control
from carepipe.observability.metrics import HTTP_DURATION
from carepipe.ops import dashboard
from carepipe.ops.archive import ArchiveFilter
from carepipe.ops.backfill import start_backfill
from tests.ops.backfill.helpers import CLINICIAN, OPS, accepted, drain

PARTNER = Principal(kind="api_key", id="k", roles=("partner",), tenant="acme")


def test_depth_dead_oldest_and_throughput(db, blobs, settings, clock):
    for n in range(3):
        accepted(db, blobs, {"n": n})
    accepted(db, blobs, {"fail": "permanent"})
    drain(db, blobs, settings, clock)  # 3 x 2 stages done, 1 dead: 7 finished tasks
    clock.advance(60)
    with db.transaction() as s:
        control.pause(s, "t_first")
    accepted(db, blobs, {"n": 9})
    clock.advance(42)
    accepted(db, blobs, {"n": 10})
    with db.session() as s:
        snap = dashboard.snapshot(s, OPS, known_queues=["t_first", "t_second", "idle"])
    rows = {q.name: q for q in snap.queues}
    assert set(rows) == {"t_first", "t_second", "idle"}
    assert (rows["t_first"].ready, rows["t_first"].dead, rows["t_first"].paused) == (2, 1, True)
    assert rows["t_first"].oldest_wait_seconds == pytest.approx(42.0)
    assert snap.oldest_queue == "t_first" and snap.oldest_wait_seconds == pytest.approx(42.0)
    assert rows["idle"].ready == 0 and rows["idle"].oldest_wait_seconds is None
    assert snap.finished_5m == 7 and snap.dead_5m == 1
    assert snap.throughput_per_minute == pytest.approx(7 / 5)
    assert rows["t_second"].finished_5m == 3
    assert snap.totals == {"ready": 2, "leased": 0, "dead": 1}
    clock.advance(5 * 60)  # the finished tasks leave the 5-minute window
    with db.session() as s:
        later = dashboard.snapshot(s, OPS)
    assert later.finished_5m == 0
    assert {q.name: q.oldest_wait_seconds for q in later.queues}["t_first"] == pytest.approx(342)


def test_backfill_queue_and_active_count(db, blobs, settings, clock):
    accepted(db, blobs, {"n": 1})
    drain(db, blobs, settings, clock)
    view = start_backfill(
        db,
        OPS,
        archive_filter=ArchiveFilter(
            since=clock.now() - timedelta(hours=1), until=clock.now() + timedelta(seconds=1)
        ),
        pipeline="two_step",
        rate_per_minute=30,
    )
    with db.session() as s:
        snap = dashboard.snapshot(s, OPS)
    rows = {q.name: q for q in snap.queues}
    assert rows[view["queue"]].ready == 1 and rows[view["queue"]].rate_limit_per_minute == 30
    assert snap.active_backfills == 1


def test_access(db):
    with db.session() as s:
        assert dashboard.snapshot(s, CLINICIAN).totals == {"ready": 0, "leased": 0, "dead": 0}
        with pytest.raises(PermissionDenied):
            dashboard.snapshot(s, Principal(kind="user", id="n", roles=()))


def test_quantile_interpolates_like_histogram_quantile():
    buckets = [(0.1, 50.0), (0.5, 90.0), (1.0, 100.0), (float("inf"), 100.0)]
    assert dashboard.quantile(0.5, buckets) == pytest.approx(0.1)
    assert dashboard.quantile(0.95, buckets) == pytest.approx(0.75)
    assert dashboard.quantile(0.25, buckets) == pytest.approx(0.05)
    assert dashboard.quantile(0.99, [(0.1, 1.0), (float("inf"), 100.0)]) == pytest.approx(0.1)
    assert dashboard.quantile(0.95, [(0.1, 0.0), (float("inf"), 0.0)]) is None


def test_latency_window_only_counts_the_window(clock):
    window = dashboard.LatencyWindow(prefix="/latency-test")
    route = HTTP_DURATION.labels("/latency-test/a", "GET", "200")
    for _ in range(100):
        route.observe(0.003)  # old, fast traffic
    window.sample()
    clock.advance(6 * 60)
    window.sample()  # the baseline: everything before it is outside the window
    clock.advance(60)
    for _ in range(90):
        route.observe(0.02)
    for _ in range(10):
        route.observe(2.0)
    lat = window.read()
    assert lat.requests == 100
    assert lat.window_seconds == pytest.approx(60)
    assert 10 < lat.p95_ms <= 2500 and lat.p95_ms > 1000  # the slow tail, not the old traffic
    assert lat.p99_ms >= lat.p95_ms
