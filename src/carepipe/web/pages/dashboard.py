"""The console home: live tiles (queue depth, throughput, API latency, dead letters,
oldest waiting task), pushed over server-sent events, polled when the stream drops.

The stream is cheap by construction: one ``Broadcaster`` per application computes
the snapshot (three queries) and renders the tiles at most once per tick, and
every listener gets that same HTML. A listener's generator ends when its client
disconnects (the next write fails, or ``is_disconnected`` says so) and after
``MAX_STREAM_SECONDS`` at the latest (the browser's EventSource reconnects).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from carepipe.core.auth import Principal
from carepipe.ops import dashboard
from carepipe.pipelines.registry import all_queues
from carepipe.web.auth import app_state, console_user
from carepipe.web.templating import TEMPLATE_DIR, render, templates

router = APIRouter(prefix="/console", include_in_schema=False)

TICK_SECONDS = 2.0
POLL_SECONDS = 5
MAX_STREAM_SECONDS = 600.0
RETRY_MS = 3000
_ASSETS = TEMPLATE_DIR / "dashboard"


def _viewer(principal: Principal = Depends(console_user)) -> Principal:
    dashboard.check_access(principal)
    return principal


class Broadcaster:
    """Computes and renders the tiles at most once per tick, for every listener."""

    def __init__(self, tick: float = TICK_SECONDS) -> None:
        self.tick = tick
        self.latency = dashboard.LatencyWindow()
        self.listeners = 0
        self.computed = 0  # how many snapshots were taken (tests check the sharing)
        self._lock: asyncio.Lock | None = None
        self._html = ""
        self._at = -1e9

    def _compute_html(self, request: Request) -> str:
        state = app_state(request)
        with state.db.session() as s:
            snap = dashboard.compute(s, latency=self.latency, known_queues=all_queues())
        self.computed += 1
        return templates.env.get_template("dashboard/_tiles.html").render(
            snap=snap, poll_seconds=POLL_SECONDS
        )

    async def latest(self, request: Request) -> str:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._at >= self.tick * 0.9:
                self._html = await run_in_threadpool(self._compute_html, request)
                self._at = time.monotonic()
            return self._html


def broadcaster(request: Request) -> Broadcaster:
    """The application's broadcaster (one per app: tests run several apps in one process)."""
    b = getattr(request.app.state, "dashboard_broadcaster", None)
    if b is None:
        b = Broadcaster()
        request.app.state.dashboard_broadcaster = b
    return b  # type: ignore[no-any-return]


def sse_event(event: str, html: str) -> str:
    """One server-sent event; every line of the payload gets its own ``data:`` field."""
    lines = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"event: {event}\n{lines}\n"


@router.get("/")
async def home(request: Request, principal: Principal = Depends(_viewer)) -> Response:
    html = await broadcaster(request).latest(request)
    return await run_in_threadpool(
        render,
        request,
        "dashboard/home.html",
        {"tiles_html": html, "poll_seconds": POLL_SECONDS},
    )


@router.get("/dashboard/tiles")
async def tiles(request: Request, principal: Principal = Depends(_viewer)) -> Response:
    """The tiles alone: what the page polls when the event stream is down."""
    html = await broadcaster(request).latest(request)
    return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})


@router.get("/events")
async def events(request: Request, principal: Principal = Depends(_viewer)) -> Response:
    """``text/event-stream``: a ``tiles`` event (HTML) every tick until the client leaves."""
    b = broadcaster(request)

    async def stream() -> AsyncIterator[str]:
        b.listeners += 1
        try:
            yield f"retry: {RETRY_MS}\n\n"
            deadline = time.monotonic() + MAX_STREAM_SECONDS
            while time.monotonic() < deadline:
                if await request.is_disconnected():
                    break
                yield sse_event("tiles", await b.latest(request))
                await asyncio.sleep(b.tick)
        finally:
            b.listeners -= 1

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _asset(name: str, media_type: str) -> Response:
    body = (_ASSETS / name).read_text()
    return Response(body, media_type=media_type, headers={"Cache-Control": "max-age=300"})


@router.get("/dashboard.js")
def dashboard_js() -> Response:
    """The page's 30 lines of glue (served from our origin: the CSP allows no inline script)."""
    return _asset("live.js", "text/javascript")


@router.get("/dashboard.css")
def dashboard_css() -> Response:
    return _asset("dashboard.css", "text/css")
