"""The one mapping from error types to HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from carepipe.core.errors import CarePipeError, PayloadTooLarge
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "auth_required",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        err["details"] = details
    return {"error": err}


# nginx's code for "the client closed the request": no response reaches anyone, but
# the access log and the latency histogram must not count it as our failure (500).
CLIENT_CLOSED = 499


def error_response(exc: CarePipeError) -> JSONResponse:
    headers: dict[str, str] = {}
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc.details, dict) and "retry_after_seconds" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    if isinstance(exc, PayloadTooLarge):
        # The rest of the body is never read: the connection cannot be reused.
        headers["Connection"] = "close"
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), exc.http_status, headers=headers
    )


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves at this request's path."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(request.scope)  # PARTIAL: the path matches, the method not
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CarePipeError)
    async def _carepipe(_: Request, exc: CarePipeError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse(error_body("validation_failed", "request is not valid", problems), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route that matched the path.
            headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return JSONResponse(error_body(code, message), exc.status_code, headers=headers or None)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> Response:
        log.info("api.client_disconnected")
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("api.unhandled", error=type(exc).__name__)
        return JSONResponse(error_body("internal_error", "internal error"), 500)
