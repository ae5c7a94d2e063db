"""While the platform is fenced, writes are answered ``503 maintenance`` before any route.

Pure ASGI, outside authentication: a sender learns at once, with or without valid
credentials, that nothing was received and when to come back (``Retry-After``, from the
fence). Reads (GET, HEAD, OPTIONS) go on, so operators and dashboards still see the
platform; console sign-in and sign-out go on, so an operator can still look; OFREP
evaluations are POSTs that only read flags and go on too. Every HTTP request also
carries the fence in ``request.state.maintenance`` (the console's banner reads it).

The fence comes from this process's ``FenceWatch`` (a plain attribute read per request).
``carepipe up`` starts it; otherwise the app starts it at startup (lifespan), or, when
run without lifespan events, on its first request, off the event loop, since that first
start reads the database.
"""

from __future__ import annotations

import html
import json

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from carepipe.core.db import Database
from carepipe.core.errors import UnderMaintenance
from carepipe.core.maintenance.state import FenceState
from carepipe.core.maintenance.watch import FenceWatch, fence_watch
from carepipe.observability.metrics import API_REFUSED

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Writes that stay open while fenced (paths, or prefixes ending in "/").
EXEMPT = ("/console/login", "/console/logout", "/ofrep/")
CONSOLE = "/console/"


def maintenance_error(state: FenceState) -> UnderMaintenance:
    """The error a fenced platform answers writes with (the API's 503 ``maintenance``)."""
    return UnderMaintenance(
        f"the platform is fenced for maintenance ({state.reason}); nothing was received, "
        f"retry after {state.retry_after_seconds} s",
        details={
            "retry_after_seconds": state.retry_after_seconds,
            "fenced_at": state.fenced_at.isoformat(),
        },
    )


def is_exempt(path: str) -> bool:
    """Whether a write to ``path`` is let through while fenced."""
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in EXEMPT)


class MaintenanceMiddleware:
    """Refuse state-changing requests while ``db``'s fence is set."""

    def __init__(self, app: ASGIApp, *, db: Database) -> None:
        self.app = app
        self.db = db
        self._watch: FenceWatch | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # Read the fence at startup, so that no request waits for that first read (or
            # sends its query: a refused key must cost no SQL at all).
            self._watch = await run_in_threadpool(fence_watch, self.db)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watch = self._watch
        if watch is None or not watch.running:
            watch = self._watch = await run_in_threadpool(fence_watch, self.db)
        state = watch.current
        scope.setdefault("state", {})["maintenance"] = state
        path = scope.get("path", "")
        if state is None or scope["method"] not in WRITE_METHODS or is_exempt(path):
            await self.app(scope, receive, send)
            return
        API_REFUSED.labels("maintenance").inc()
        headers = dict(scope.get("headers") or [])
        console = path.startswith(CONSOLE)
        htmx = headers.get(b"hx-request") == b"true"
        if console and not htmx and b"text/html" in headers.get(b"accept", b""):
            await _refuse_html(send, state)
        else:
            await _refuse_json(send, state, reload=console and htmx)


def _headers(state: FenceState, content_type: bytes, length: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", content_type),
        (b"content-length", str(length).encode()),
        (b"retry-after", str(state.retry_after_seconds).encode()),
        # The body was not read: the connection cannot carry another request.
        (b"connection", b"close"),
    ]


async def _refuse_json(send: Send, state: FenceState, *, reload: bool) -> None:
    body = json.dumps({"error": maintenance_error(state).to_dict()}).encode()
    headers = _headers(state, b"application/json", len(body))
    if reload:
        # HTMX swaps no error response; a reload shows the page with its maintenance banner.
        headers.append((b"hx-refresh", b"true"))
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_html(send: Send, state: FenceState) -> None:
    """A console form posted by a browser: a readable page, not JSON."""
    err = maintenance_error(state)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>503 maintenance · CarePipe</title>"
        '<link rel="stylesheet" href="/console/static/console.css"></head><body><main>'
        '<section class="error-page"><h1>Maintenance: writes are paused</h1>'
        f'<p>{html.escape(err.message)}</p><p class="muted">Error code: '
        f'<code data-testid="error-code">{err.code}</code> · HTTP 503</p>'
        '<p><a href="/console/">Back to the console</a></p></section></main></body></html>'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": _headers(state, b"text/html; charset=utf-8", len(body)),
        }
    )
    await send({"type": "http.response.body", "body": body})
