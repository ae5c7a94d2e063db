"""Every staff role x every archive, backfill and dashboard route (API and console):
allowed or 403, as ``carepipe.core.auth.PERMISSIONS`` says (expectations are computed
from the table, never written by hand)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from carepipe.core.auth import PERMISSIONS, SYSTEM
from carepipe.core.clock import utcnow
from carepipe.ops import backfill as service
from carepipe.ops import users
from carepipe.ops.archive import ArchiveFilter
from carepipe.web.pages import dashboard as dashboard_page
from tests.ops.backfill.helpers import OPS, accepted, drain
from tests.support.console import make_user
from tests.support.console_http import sign_in

# {b}: a running backfill (to pause), {p}: a paused one, {c}: a running one (to cancel),
# {d}: a finished one (with its report).
API = [
    ("GET", "/v1/archive/messages", {"archive.read"}),
    ("POST", "/v1/backfills", {"backfill.run"}),
    ("GET", "/v1/backfills", {"backfill.read"}),
    ("GET", "/v1/backfills/{b}", {"backfill.read"}),
    ("GET", "/v1/backfills/{b}/items", {"backfill.read"}),
    ("POST", "/v1/backfills/{b}/pause", {"backfill.run"}),
    ("POST", "/v1/backfills/{p}/resume", {"backfill.run"}),
    ("POST", "/v1/backfills/{c}/cancel", {"backfill.run"}),
    ("GET", "/v1/backfills/{d}/report", {"backfill.read"}),
]
CONSOLE = [
    ("GET", "/console/", {"jobs.read"}),
    ("GET", "/console/dashboard/tiles", {"jobs.read"}),
    ("GET", "/console/events", {"jobs.read"}),
    ("GET", "/console/backfills", {"backfill.read"}),
    ("GET", "/console/backfills/archive", {"archive.read"}),
    ("GET", "/console/backfills/new", {"backfill.run"}),
    ("GET", "/console/backfills/confirm", {"backfill.run", "archive.read"}),
    ("POST", "/console/backfills", {"backfill.run"}),
    ("GET", "/console/backfills/{b}", {"backfill.read"}),
    ("GET", "/console/backfills/{b}/progress", {"backfill.read"}),
    ("POST", "/console/backfills/{b}/pause", {"backfill.run"}),
    ("POST", "/console/backfills/{p}/resume", {"backfill.run"}),
    ("GET", "/console/backfills/{c}/cancel", {"backfill.run"}),
    ("POST", "/console/backfills/{c}/cancel", {"backfill.run"}),
    ("GET", "/console/backfills/{d}/report", {"backfill.read"}),
]
PUBLIC = {("GET", "/console/dashboard.js"), ("GET", "/console/dashboard.css")}
PREFIXES = ("/v1/backfills", "/v1/archive", "/console/backfills", "/console/dashboard")
EXACT = ("/console/", "/console/events")


def _walk(routes, prefix: str = ""):
    """(path, methods) of every route, through included routers (FastAPI nests them)."""
    for route in routes:
        if hasattr(route, "original_router"):  # an included router: its routes, prefixed
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)
        elif getattr(route, "methods", None):
            yield prefix + route.path, route.methods


def test_every_route_of_these_areas_is_in_the_matrix(app):
    declared = {(m, re.sub(r"\{[a-z]\}", "{x}", p)) for m, p, _ in API + CONSOLE} | PUBLIC
    seen = set()
    for path, methods in _walk(app.routes):
        if not (path.startswith(PREFIXES) or path in EXACT):
            continue
        norm = re.sub(r"\{[a-z_]+\}", "{x}", path)
        for method in methods - {"HEAD"}:
            assert (method, norm) in declared, f"{method} {path} is not in the matrix"
            seen.add((method, norm))
    assert seen == declared


def _window(tenant: str) -> dict[str, str]:
    now = utcnow()
    return {
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(hours=1)).isoformat(),
        "tenant": tenant,
    }


def _backfill(db, tenant: str, *, pause: bool = False) -> str:
    view = service.start_backfill(
        db,
        OPS,
        archive_filter=ArchiveFilter.from_dict(_window(tenant)),
        pipeline="two_step",
        rate_per_minute=1,  # slow enough that nothing runs during the test
    )
    if pause:
        service.pause_backfill(db, OPS, view["id"])
    return view["id"]


def _body(kind: str, method: str, path: str) -> dict:
    if method != "POST":
        if path == "/console/backfills/confirm":
            w = _window(f"t-new-{kind}")
            return {"params": {**w, "target": "two_step", "rate": "5"}}
        return {}
    if path == "/v1/backfills":
        return {
            "json": {
                "filter": _window(f"t-new-{kind}"),
                "pipeline": "two_step",
                "rate_per_minute": 5,
            }
        }
    if path == "/console/backfills":
        return {"data": {**_window(f"t-new-{kind}"), "target": "two_step", "rate": "5"}}
    return {"json": {"reason": "matrix"}} if kind == "api" else {"data": {"reason": "matrix"}}


@pytest.mark.parametrize("role", users.STAFF_ROLES)
def test_role_matrix(role, app, db, blobs, settings, clock, monkeypatch):
    monkeypatch.setattr(dashboard_page, "MAX_STREAM_SECONDS", 0.0)  # one event, then end
    granted = PERMISSIONS[role]
    for tenant in ("t-b", "t-p", "t-c", "t-new"):
        for kind in ("api", "console"):  # each pass gets backfills of its own
            accepted(db, blobs, {"n": 1}, tenant=f"{tenant}-{kind}")
    drain(db, blobs, settings, clock)  # ended jobs: a backfill re-runs them
    username = make_user(db, f"u-{role}".replace("_", "-"), role)
    with db.transaction() as s:
        token = users.issue_token(s, SYSTEM, username).plaintext
    results = []
    with TestClient(app) as api, TestClient(app) as console:
        csrf = sign_in(console, username)
        for kind, routes in (("api", API), ("console", CONSOLE)):
            ids = {
                "b": _backfill(db, f"t-b-{kind}"),
                "p": _backfill(db, f"t-p-{kind}", pause=True),
                "c": _backfill(db, f"t-c-{kind}"),
                "d": _backfill(db, "t-none"),
            }
            for method, path, needs in routes:
                url = path.format(**ids)
                kw = _body(kind, method, path)
                if kind == "api":
                    r = api.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
                else:
                    headers = {"X-CSRF-Token": csrf} if method == "POST" else {}
                    r = console.request(method, url, headers=headers, follow_redirects=False, **kw)
                allowed = needs <= granted
                results.append((kind, method, path, r.status_code, allowed))
                if allowed:
                    assert r.status_code in (200, 201, 303), (role, method, url, r.text[:300])
                else:
                    assert r.status_code == 403, (role, method, url, r.status_code, r.text[:300])
                    if kind == "api":
                        assert r.json()["error"]["code"] == "permission_denied"
                    else:
                        assert 'data-testid="error-code">permission_denied<' in r.text
    assert len(results) == len(API) + len(CONSOLE)
    # Admin and ops may do everything here; a clinician nothing but watch the dashboard.
    if role == "clinician":
        assert [p for _, _, p, code, _ in results if code != 403] == [
            "/console/",
            "/console/dashboard/tiles",
            "/console/events",
        ]
