"""Pure ASGI middleware: request ids, body size limit, latency metrics and access logs."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carepipe.core.errors import PayloadTooLarge
from carepipe.observability.context import request_id_var
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import HTTP_DURATION

log = get_logger("carepipe.http")
_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Request id in and out (``X-Request-ID``), latency by route template, one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _RID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_DURATION.labels(template, scope["method"], str(status)).observe(elapsed)
            if template not in ("/metrics", "/healthz"):
                log.info(
                    "http.request",
                    method=scope["method"],
                    route=template,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )
            request_id_var.reset(token)


class BodyTooLarge(PayloadTooLarge):
    """The body passed the limit; ``received`` is what was read up to it (for the archive)."""

    def __init__(self, limit: int, received: bytes, declared: int | None) -> None:
        super().__init__(_too_large(limit))
        self.limit = limit
        self.received = received
        self.declared = declared


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes.

    A request without credentials that declares a larger Content-Length is
    answered 413 at once. Otherwise the body is read up to the limit and
    ``BodyTooLarge`` is raised inside the app, which carries what was read, so
    an intake route can archive the refused submission of a known caller.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        credentials = b"authorization" in headers or b"cookie" in headers
        if declared is not None and declared > self.limit and not credentials:
            await _send_413(send, self.limit)
            return
        seen = 0
        chunks: list[bytes] = []  # references to what the app reads anyway: no copy

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                room = self.limit - seen
                seen += len(chunk)
                if seen > self.limit:
                    chunks.append(chunk[: max(room, 0)])
                    raise BodyTooLarge(self.limit, b"".join(chunks), declared)
                chunks.append(chunk)
            return message

        await self.app(scope, limited_receive, send)


class UrlGuardMiddleware:
    """Refuse a URL whose path or query holds a NUL (422), before any route sees it.

    No identifier, filter or name contains one, and PostgreSQL cannot compare a
    text column with a value that does: left alone it would surface as a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "")
            or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))
        ):
            await _send_error(
                send, 422, "validation_failed", "the URL contains a NUL character (%00)"
            )
            return
        await self.app(scope, receive, send)


def _too_large(limit: int) -> str:
    return f"request body exceeds the limit of {limit} bytes"


async def _send_413(send: Send, limit: int) -> None:
    await _send_error(send, 413, PayloadTooLarge.code, _too_large(limit), close=True)


async def _send_error(
    send: Send, status: int, code: str, message: str, *, close: bool = False
) -> None:
    """The error shape of ``carepipe.api.errors``, from middleware that runs before routing."""
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
