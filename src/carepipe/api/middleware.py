"""Pure ASGI middleware: request ids, body size limit, latency metrics and access logs."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

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


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes: by Content-Length up front, else while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _send_413(send, self.limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise PayloadTooLarge(_too_large(self.limit))
            return message

        await self.app(scope, limited_receive, send)


def _too_large(limit: int) -> str:
    return f"request body exceeds the limit of {limit} bytes"


async def _send_413(send: Send, limit: int) -> None:
    body: dict[str, Any] = {"error": {"code": PayloadTooLarge.code, "message": _too_large(limit)}}
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})
