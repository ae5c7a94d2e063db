"""The console home: tiles, the polling fragment, and the server-sent event stream
(real uvicorn: one shared computation per tick, listeners end when clients leave)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from carepipe.core.queue import control
from carepipe.web.pages.dashboard import Broadcaster, sse_event
from tests.ops.backfill.helpers import LiveServer, accepted
from tests.support.console import make_user
from tests.support.console_http import sign_in


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def test_home_tiles_and_assets(app, client, db, blobs):
    app.state.dashboard_broadcaster = Broadcaster(tick=0.0)  # a fresh snapshot per request
    assert client.get("/console/", follow_redirects=False).status_code == 303
    make_user(db, "cleo", "clinician")  # any signed-in role may watch the dashboard
    sign_in(client, "cleo")
    page = client.get("/console/")
    assert page.status_code == 200
    assert 'sse-connect="/console/events"' in page.text and 'sse-swap="tiles"' in page.text
    assert 'src="/console/dashboard.js"' in page.text
    assert 'data-testid="ready-t_first">0<' in page.text
    with db.transaction() as s:
        control.pause(s, "t_first")
    accepted(db, blobs, {"n": 1})
    accepted(db, blobs, {"n": 2})
    tiles = client.get("/console/dashboard/tiles")
    assert 'data-testid="ready-t_first">2<' in tiles.text
    assert 'data-testid="total-ready">2<' in tiles.text and "paused" in tiles.text
    js = client.get("/console/dashboard.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert 'hx-trigger", "every "' in js.text and "htmx:sseError" in js.text
    assert client.get("/console/dashboard.css").headers["content-type"].startswith("text/css")


def test_sse_event_format():
    assert (
        sse_event("tiles", "<p>a</p>\n<p>b</p>")
        == "event: tiles\ndata: <p>a</p>\ndata: <p>b</p>\n\n"
    )
    assert sse_event("tiles", "") == "event: tiles\ndata: \n\n"


def _read_events(chunks, n: int, out: list[str]) -> None:
    """Read ``n`` tile events from ``chunks`` (an iterator kept open by the caller: closing
    it would close the connection)."""
    buf = ""
    for chunk in chunks:
        buf += chunk
        while "\n\n" in buf:
            event, buf = buf.split("\n\n", 1)
            if event.startswith("event: tiles"):
                out.append(event)
                if len(out) >= n:
                    return


def test_event_stream_is_shared_and_ends_with_the_client(app, db, blobs):
    make_user(db, "olga", "ops")
    b = Broadcaster(tick=0.25)
    app.state.dashboard_broadcaster = b
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as c:
        sign_in(c, "olga")
        got: dict[int, list[str]] = {0: [], 1: []}
        streams = [c.stream("GET", "/console/events") for _ in range(2)]
        responses = [s.__enter__() for s in streams]
        try:
            for r in responses:
                assert r.status_code == 200
                assert r.headers["content-type"].startswith("text/event-stream")
            chunks = [r.iter_text() for r in responses]
            readers = [
                threading.Thread(target=_read_events, args=(it, 6, got[i]))
                for i, it in enumerate(chunks)
            ]
            for t in readers:
                t.start()
            for t in readers:
                t.join(15)
            assert len(got[0]) == 6 and len(got[1]) == 6
            assert b.listeners == 2
            # Twelve events delivered, about six computations: one per tick for both.
            assert b.computed <= 9
            assert 'data: <div class="tiles">' in got[0][0]
        finally:
            for s in streams:
                s.__exit__(None, None, None)
        deadline = time.monotonic() + 5
        while b.listeners and time.monotonic() < deadline:
            time.sleep(0.05)
        assert b.listeners == 0
        # A signed-out client gets no stream.
        with httpx.Client(base_url=live.url) as anon:
            r = anon.get("/console/events", follow_redirects=False)
            assert r.status_code == 303 and "/console/login" in r.headers["location"]
