"""Issue 9: a paused backfill's observed rate must not keep falling (it read as a
throttling fault), and "Cancel backfill" asks before it cancels. Over HTTP, with the
frozen clock pacing the queue's token bucket."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from carepipe.core.queue import claim
from carepipe.ops.archive import ArchiveFilter
from carepipe.ops.backfill import start_backfill
from tests.ops.backfill.helpers import OPS, accepted, drain
from tests.support.console import make_user
from tests.support.console_http import csrf_of, sign_in


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def backfill(db, blobs, settings, clock):
    start = clock.now() - timedelta(minutes=1)
    for n in range(8):
        accepted(db, blobs, {"n": n})
    drain(db, blobs, settings, clock)
    clock.advance(60)
    return start_backfill(
        db,
        OPS,
        archive_filter=ArchiveFilter(since=start, until=clock.now()),
        pipeline="two_step",
        rate_per_minute=60,
        reason="INC-9",
    )


def _rate(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r'data-testid="bf-rate">(.*?)</dd>', html, re.S).group(1))


def test_paused_rate_is_frozen_at_the_running_rate(client, db, clock, backfill):
    bid, queue = backfill["id"], backfill["queue"]
    make_user(db, "olga", "ops")
    csrf = sign_in(client, "olga")
    # Three claims in the first minute (the bucket refills one a second; the clock paces it).
    for _ in range(3):
        clock.advance(20)
        assert len(claim(db, queues=[queue], worker_id="w", limit=1, lease_seconds=300)) == 1
    running = _rate(client.get(f"/console/backfills/{bid}/progress").text)
    assert running.startswith("3.0 per minute observed"), running
    r = client.post(f"/console/backfills/{bid}/pause", data={"csrf_token": csrf})
    assert 'data-testid="backfill-status">paused<' in r.text
    seen = []
    for _ in range(4):  # ten minutes paused: before, 3.0 fell to 1.5, 1.0, ... then vanished
        clock.advance(150)
        frag = client.get(f"/console/backfills/{bid}/progress").text
        seen.append(_rate(frag))
    assert all(s.startswith("paused (it ran at 3.0 per minute)") for s in seen), seen
    r = client.post(f"/console/backfills/{bid}/resume", data={"csrf_token": csrf})
    assert 'data-testid="backfill-status">running<' in r.text


def test_cancel_asks_first_and_says_what_it_does(client, db, backfill):
    bid = backfill["id"]
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    page = client.get(f"/console/backfills/{bid}").text
    # The control on the detail page leads to a question, it does not post the cancel.
    assert re.search(rf'<form method="get" action="/console/backfills/{bid}/cancel">', page)
    assert f'method="post" action="/console/backfills/{bid}/cancel"' not in page
    ask = client.get(f"/console/backfills/{bid}/cancel", params={"reason": "wrong window"})
    assert ask.status_code == 200
    assert "Cancel backfill" in ask.text and "cannot be undone" in ask.text
    assert re.search(r'data-testid="cancel-waiting">8<', ask.text)
    assert 'value="wrong window"' in ask.text
    still = client.get(f"/console/backfills/{bid}").text
    assert 'data-testid="backfill-status">running<' in still  # asking changed nothing
    r = client.post(
        f"/console/backfills/{bid}/cancel",
        data={"csrf_token": csrf_of(ask.text), "reason": "wrong window"},
    )
    assert 'data-testid="backfill-status">cancelled<' in r.text
    again = client.get(f"/console/backfills/{bid}/cancel")
    assert "nothing to cancel" in again.text and "confirm-cancel" not in again.text
