"""Every role x every protected route (API and console): allowed or 403, as the roles table says.

Expectations are computed from ``carepipe.core.auth.PERMISSIONS``, never written by hand;
a route of these areas missing from ROUTES fails the coverage test.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from carepipe.core.auth import PERMISSIONS, SYSTEM
from carepipe.core.errors import PatientNotFound
from carepipe.ops import users
from carepipe.ops.users import console_secret
from tests.support.console import make_dead, make_user
from tests.support.console_http import sign_in
from tests.support.console_pipelines import HL7_TYPE, adt_message

STAFF_ROLES = users.STAFF_ROLES
# (method, path template, permissions needed). {t}: a dead task, {h}: a patient_not_found
# dead task, {b}: a bulk replay, {u}: another user, {g}: a payload grant.
API = [
    ("GET", "/v1/dlq", {"dlq.read"}),
    ("GET", "/v1/dlq/{t}", {"dlq.read"}),
    ("GET", "/v1/dlq/{t}/payload", {"dlq.read"}),
    ("POST", "/v1/dlq/{t}/payload/reveal", {"dlq.read", "payload.read_phi"}),
    ("POST", "/v1/dlq/{t}/replay", {"dlq.replay"}),
    ("POST", "/v1/dlq/{h}/map-patient", {"patients.map", "dlq.replay"}),
    ("POST", "/v1/dlq/bulk-replay", {"dlq.replay"}),
    ("GET", "/v1/dlq/bulk-replay", {"dlq.read"}),
    ("GET", "/v1/dlq/bulk-replay/{b}", {"dlq.read"}),
    ("GET", "/v1/audit", {"audit.read"}),
    ("GET", "/v1/audit/export", {"audit.read"}),
    ("GET", "/v1/audit/verify", {"audit.read"}),
]
CONSOLE = [
    ("GET", "/console/dlq", {"dlq.read"}),
    ("GET", "/console/dlq/{t}", {"dlq.read"}),
    ("GET", "/console/dlq/{t}/status", {"dlq.read"}),
    ("POST", "/console/dlq/{t}/reveal", {"dlq.read", "payload.read_phi"}),
    ("GET", "/console/dlq/{t}/payload/raw?grant={g}", {"dlq.read", "payload.read_phi"}),
    ("POST", "/console/dlq/{t}/replay", {"dlq.read", "dlq.replay"}),
    ("POST", "/console/dlq/{h}/map-patient", {"dlq.read", "patients.map", "dlq.replay"}),
    ("GET", "/console/dlq/bulk-replay/confirm", {"dlq.read"}),
    ("POST", "/console/dlq/bulk-replay/confirm", {"dlq.read"}),
    ("POST", "/console/dlq/bulk-replay", {"dlq.read", "dlq.replay"}),
    ("GET", "/console/dlq/bulk-replay/{b}", {"dlq.read"}),
    ("GET", "/console/dlq/bulk-replay/{b}/progress", {"dlq.read"}),
    ("GET", "/console/audit", {"audit.read"}),
    ("GET", "/console/audit/verify", {"audit.read"}),
    ("GET", "/console/audit/export.csv", {"audit.read"}),
    ("GET", "/console/users", {"users.manage"}),
    ("POST", "/console/users", {"users.manage"}),
    ("POST", "/console/users/{u}/lock", {"users.manage"}),
    ("POST", "/console/users/{u}/unlock", {"users.manage"}),
]
MY_PREFIXES = ("/v1/dlq", "/v1/audit", "/console/dlq", "/console/audit", "/console/users")


def _template(path: str) -> str:
    import re

    p = path.split("?")[0]
    p = re.sub(r"\{[thbu]\}", "{x}", p)
    return p


def test_every_route_of_these_areas_is_in_the_matrix(app):
    import re

    declared = {(m, _template(p)) for m, p, _ in API + CONSOLE}
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(MY_PREFIXES):
            continue
        norm = re.sub(r"\{[a-z_]+\}", "{x}", path).replace("export.{x}", "export.csv")
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            assert (method, norm) in declared, f"{method} {path} is not in the permission matrix"


def _body(method: str, path: str, ids: dict) -> dict:
    if path.endswith("/payload/reveal"):
        return {"json": {"reason": "matrix test"}}
    if path.endswith("/map-patient"):
        data = {
            "mrn": "MRN12345",
            "assigning_authority": "CITYHOSP",
            "abha_number": "12-3456-7890-1234",
        }
        return {"json": data} if path.startswith("/v1") else {"data": data}
    if path == "/v1/dlq/bulk-replay" and method == "POST":
        return {"json": {"task_ids": [ids["spare"]], "reason": "matrix"}}
    if path == "/console/dlq/bulk-replay/confirm" and method == "POST":
        return {"data": {"task_id": str(ids["spare"])}}
    if path == "/console/dlq/bulk-replay":
        return {"data": {"task_id": str(ids["spare"]), "reason": "matrix"}}
    if path == "/console/users" and method == "POST":
        return {"data": {"username": f"new-{ids['role']}".replace("_", "-"), "role": "clinician"}}
    if path.endswith("/reveal") or path.endswith("/replay"):
        return (
            {"json": {"reason": "matrix"}}
            if path.startswith("/v1")
            else {"data": {"reason": "matrix"}}
        )
    return {}


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_role_matrix(role, app, db, blobs, settings):
    granted = PERMISSIONS[role]
    make_user(db, "victim", "clinician")
    username = make_user(db, f"u-{role}".replace("_", "-"), role)
    with db.transaction() as s:
        token = users.issue_token(s, SYSTEM, username).plaintext
    grant = URLSafeTimedSerializer(console_secret(settings), salt="carepipe.payload-grant")

    def fresh() -> dict:
        return {
            "t": make_dead(db, blobs),
            "h": make_dead(
                db,
                blobs,
                pipeline="mrn_match",
                payload=adt_message(),
                content_type=HL7_TYPE,
                error=PatientNotFound("x"),
            ),
            "spare": make_dead(db, blobs),
            "u": "victim",
            "role": role,
        }

    from carepipe.ops import bulk_replay

    seed = make_dead(db, blobs)  # its own transactions: not inside the one below
    with db.transaction() as s:
        bid = bulk_replay.request_bulk_replay(
            s, SYSTEM, bulk_replay.BulkSelection(task_ids=(seed,))
        ).id
    results = []
    with TestClient(app) as api, TestClient(app) as console:
        csrf = sign_in(console, username)
        for kind, routes in (("api", API), ("console", CONSOLE)):
            for method, path, needs in routes:
                ids = fresh()
                ids["b"] = bid
                ids["g"] = grant.dumps({"u": username, "t": ids["t"]})
                url = path.format(**ids)
                kw = _body(method, path, ids)
                if kind == "api":
                    r = api.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
                else:
                    headers = {"X-CSRF-Token": csrf} if method == "POST" else {}
                    r = console.request(method, url, headers=headers, follow_redirects=False, **kw)
                allowed = needs <= granted
                results.append((kind, method, path, r.status_code, allowed))
                if allowed:
                    assert r.status_code in (200, 202, 303), (
                        role,
                        method,
                        url,
                        r.status_code,
                        r.text[:300],
                    )
                else:
                    assert r.status_code == 403, (role, method, url, r.status_code, r.text[:300])
                    if kind == "api":
                        assert r.json()["error"]["code"] == "permission_denied"
                    else:
                        assert 'data-testid="error-code">permission_denied<' in r.text
    bulk_replay.runner.join(5)
    assert len(results) == len(API) + len(CONSOLE)
