"""Mounts the operations console at ``/console`` on the API application.

Every page module is listed in ``PAGES`` (an area is added by adding its module
there). Static
files (CSS, the vendored HTMX) are served from ``/console/static``. Errors on
console paths are rendered as HTML pages (sign-in redirect, 403 with its code);
everywhere else they keep the API's ``{"error": {...}}`` shape.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from carepipe.api.errors import error_body, error_response
from carepipe.core.errors import CarePipeError, LoginRequired
from carepipe.ops.users import PasswordChangeRequired
from carepipe.web.auth import LOGIN_PATH, PASSWORD_PATH
from carepipe.web.pages import (
    account,
    audit,
    backfills,
    backups,
    dashboard,
    deployments,
    dlq,
    drills,
    flags,
    keys,
    model_compare,
    model_drift,
    model_quality,
    models,
    patients,
    reviews,
    secrets,
    users,
)
from carepipe.web.templating import STATIC_DIR, render

CONSOLE_PREFIX = "/console"
PAGES = (
    account,
    dashboard,
    dlq,
    audit,
    backfills,
    patients,
    users,
    reviews,
    model_quality,
    models,
    model_compare,
    deployments,
    model_drift,
    flags,
    keys,
    secrets,
    backups,
    drills,
)


def _is_console(request: Request) -> bool:
    path = request.url.path
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _redirect(request: Request, target: str) -> Response:
    if _is_htmx(request):
        # HTMX follows this header with a full page load instead of swapping a fragment.
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def console_error_page(request: Request, exc: CarePipeError) -> Response:
    """How the console shows a refused or failed request."""
    if isinstance(exc, LoginRequired):
        nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return _redirect(request, f"{LOGIN_PATH}?next={quote(nxt, safe='')}")
    if isinstance(exc, PasswordChangeRequired):
        return _redirect(request, PASSWORD_PATH)
    template = "fragments/error.html" if _is_htmx(request) else "error.html"
    return render(
        request,
        template,
        {"code": exc.code, "message": exc.message, "status": exc.http_status},
        status=exc.http_status,
    )


def _install_error_handlers(app: FastAPI) -> None:
    """Console paths get HTML error pages; the API keeps its JSON errors."""

    async def carepipe_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CarePipeError)
        if _is_console(request):
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(console_error_page, request, exc)
        return error_response(exc)

    previous_http = app.exception_handlers.get(StarletteHTTPException)
    previous_validation = app.exception_handlers.get(RequestValidationError)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _is_console(request):
            err = CarePipeError(str(exc.detail))
            err.code = {404: "not_found", 405: "method_not_allowed"}.get(  # type: ignore[misc]
                exc.status_code, "http_error"
            )
            err.http_status = exc.status_code  # type: ignore[misc]
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(console_error_page, request, err)
        if previous_http is not None:
            return await previous_http(request, exc)  # type: ignore[no-any-return]
        return Response(status_code=exc.status_code)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_console(request):
            err = CarePipeError("the form is incomplete or not valid")
            err.code = "validation_failed"  # type: ignore[misc]
            err.http_status = 422  # type: ignore[misc]
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(console_error_page, request, err)
        if previous_validation is not None:
            return await previous_validation(request, exc)  # type: ignore[no-any-return]
        return Response(str(error_body("validation_failed", "invalid")), status_code=422)

    app.add_exception_handler(CarePipeError, carepipe_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)


def mount_console(app: FastAPI) -> None:
    """Add the console (pages, static files, HTML error pages) to ``app``."""
    app.mount(f"{CONSOLE_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    for module in PAGES:
        app.include_router(module.router)
    paths = {getattr(r, "path", None) for r in app.routes}
    if CONSOLE_PREFIX not in paths:

        @app.get(CONSOLE_PREFIX, include_in_schema=False)
        def _root() -> RedirectResponse:
            return RedirectResponse(f"{CONSOLE_PREFIX}/", status_code=307)

    _install_error_handlers(app)
