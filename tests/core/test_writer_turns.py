"""The embedded writer lock: arrival order within a lane, turns between lanes, reentrant."""

from __future__ import annotations

import threading
import time

from carepipe.core.db import WriterTurns, mark_worker_thread
from tests.support.waiting import wait_until


def _waiters(turns: WriterTurns) -> int:
    with turns._guard:
        return len(turns._lanes[0]) + len(turns._lanes[1])


def _queue_up(turns: WriterTurns, name: str, order: list[str], *, work: bool) -> threading.Thread:
    def run() -> None:
        if work:
            mark_worker_thread()
        with turns:
            order.append(name)

    t = threading.Thread(target=run, name=name)
    before = _waiters(turns)
    t.start()
    wait_until(lambda: _waiters(turns) == before + 1, timeout=5, what=f"{name} to wait")
    return t


def test_lanes_alternate_and_each_lane_keeps_arrival_order():
    turns = WriterTurns()
    order: list[str] = []
    turns.acquire()
    threads = [_queue_up(turns, f"api{i}", order, work=False) for i in range(4)]
    threads += [_queue_up(turns, f"work{i}", order, work=True) for i in range(2)]
    turns.release()
    for t in threads:
        t.join(5)
    # The workers get every other turn while both lanes wait, in their arrival order.
    assert order == ["work0", "api0", "work1", "api1", "api2", "api3"]


def test_reentrant_for_its_owner_and_exclusive_for_others():
    turns = WriterTurns()
    order: list[str] = []
    with turns, turns:  # the owner may take it again (nested transactions)
        t = _queue_up(turns, "other", order, work=False)
        time.sleep(0.05)
        assert order == []  # still held: one release is not enough
    t.join(5)
    assert order == ["other"]


def test_no_waiters_no_handoff_cost():
    turns = WriterTurns()
    started = time.perf_counter()
    for _ in range(10_000):
        with turns:
            pass
    assert time.perf_counter() - started < 2.0
