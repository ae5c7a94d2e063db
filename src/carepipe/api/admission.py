"""Admission control: a bounded number of API requests at work, the rest refused fast.

Without a bound, a platform that cannot keep up makes every sender wait: requests
pile up in the server's thread pool and on the database's write lock, and at twice
the sustainable rate senders waited 10-30 s before timing out (issue 10). With it,
at most ``max_inflight`` requests are at work; a request that finds no free slot
waits up to ``wait_seconds`` for one and is then answered ``503 overloaded`` with
``Retry-After``, within that time. Accepted requests keep a bounded latency, and a
sender learns at once to come back later (its message was not received: it keeps it
and resends, as with any 503). Health, readiness and metrics are never refused.
"""

from __future__ import annotations

import asyncio
import json
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from carepipe.observability.metrics import API_INFLIGHT, API_REFUSED

_EXEMPT = ("/healthz", "/readyz", "/metrics")


class AdmissionMiddleware:
    """Bound the requests at work under ``/v1``; refuse what waits longer than allowed."""

    def __init__(
        self, app: ASGIApp, *, max_inflight: int, wait_seconds: float, retry_after: int = 1
    ) -> None:
        self.app = app
        self.max_inflight = max_inflight
        self.wait_seconds = wait_seconds
        self.retry_after = retry_after
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or self.max_inflight <= 0 or not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # created on the serving loop, not at import
            self._slots = asyncio.Semaphore(self.max_inflight)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.wait_seconds)
        except TimeoutError:
            API_REFUSED.labels("overloaded").inc()
            await self._refuse(send)
            return
        API_INFLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            API_INFLIGHT.dec()
            slots.release()

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "overloaded",
                    "message": "the platform is at capacity; nothing was received, "
                    f"retry after {self.retry_after} s",
                }
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(max(1, math.ceil(self.retry_after))).encode()),
                    # The body was not read: the connection cannot carry another request.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
