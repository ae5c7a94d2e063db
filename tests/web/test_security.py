"""Console security: CSRF, session fixation, cookie flags, lockout, payload masking by role."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from carepipe.core.auth import SYSTEM
from carepipe.core.errors import PatientNotFound
from carepipe.core.models import AuditEvent, Task
from carepipe.ops import users
from carepipe.ops.users import SESSION_COOKIE
from tests.support.console import PASSWORD, make_dead, make_user
from tests.support.console_http import csrf_of, sign_in
from tests.support.console_pipelines import HL7_TYPE, adt_message


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def test_csrf_missing_or_wrong_is_refused(client, db, blobs):
    make_user(db, "olga", "ops")
    tid = make_dead(db, blobs)
    # The sign-in form itself needs the double-submit token.
    r = client.post("/console/login", data={"username": "olga", "password": PASSWORD})
    assert r.status_code == 403 and 'error-code">csrf_failed<' in r.text
    token = sign_in(client, "olga")
    for data in ({"reason": "x"}, {"reason": "x", "csrf_token": "forged"}):
        r = client.post(f"/console/dlq/{tid}/replay", data=data, follow_redirects=False)
        assert r.status_code == 403 and 'error-code">csrf_failed<' in r.text
    # A cross-site Origin is refused even with the right token.
    r = client.post(
        f"/console/dlq/{tid}/replay",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    # The staff API with the session cookie needs the token header too; a bearer token does not.
    r = client.post(f"/v1/dlq/{tid}/replay", json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    with db.session() as s:
        assert s.get(Task, tid).status == "dead"
    r = client.post(
        f"/console/dlq/{tid}/replay", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    with db.session() as s:
        assert s.get(Task, tid).status == "ready"


def test_session_id_changes_at_login_and_old_one_dies(app, db):
    make_user(db, "olga", "ops")
    with TestClient(app) as c:
        # A planted (attacker-chosen) cookie is not adopted: login issues a fresh session.
        c.cookies.set(SESSION_COOKIE, "planted-value", domain="testserver.local")
        sign_in(c, "olga")
        first = c.cookies.get(SESSION_COOKIE)
        assert first and first != "planted-value"
        sign_in(c, "olga")
        second = c.cookies.get(SESSION_COOKIE)
        assert second != first
    with TestClient(app) as replayer:
        replayer.cookies.set(SESSION_COOKIE, first, domain="testserver.local")
        r = replayer.get("/console/dlq", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        replayer.cookies.set(SESSION_COOKIE, second, domain="testserver.local")
        assert replayer.get("/console/dlq").status_code == 200


def test_cookie_flags_http_and_https(app, db):
    make_user(db, "olga", "ops")
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with TestClient(app, base_url=base) as c:
            token = csrf_of(c.get("/console/login").text)
            r = c.post(
                "/console/login",
                data={"username": "olga", "password": PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            cookie = r.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=lax" in cookie
            assert ("secure" in cookie) is secure


def test_logout_ends_session(client, db):
    make_user(db, "olga", "ops")
    token = sign_in(client, "olga")
    cookie = client.cookies.get(SESSION_COOKIE)
    client.post("/console/logout", data={"csrf_token": token})
    client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
    assert client.get("/console/dlq", follow_redirects=False).status_code == 303


def test_lockout_through_the_form(client, db):
    make_user(db, "olga", "ops")
    for _ in range(users.MAX_FAILED_LOGINS):
        token = csrf_of(client.get("/console/login").text)
        r = client.post(
            "/console/login",
            data={"username": "olga", "password": "wrong-wrong", "csrf_token": token},
        )
        assert r.status_code == 401 and "invalid_credentials" in r.text
    token = csrf_of(client.get("/console/login").text)
    r = client.post(
        "/console/login", data={"username": "olga", "password": PASSWORD, "csrf_token": token}
    )
    # Locked out, right password: the same answer as a wrong one (issue 10 F9)
    assert r.status_code == 401 and "invalid_credentials" in r.text
    assert "account_locked" not in r.text


def test_clinician_cannot_see_dlq_payloads(client, db, blobs):
    make_user(db, "cleo", "clinician")
    tid = make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(),
        content_type=HL7_TYPE,
        error=PatientNotFound("x"),
    )
    sign_in(client, "cleo")
    for url in (f"/console/dlq/{tid}", "/console/dlq"):
        r = client.get(url)
        assert r.status_code == 403 and "permission_denied" in r.text and "MRN12345" not in r.text
    with db.transaction() as s:
        tok = users.issue_token(s, SYSTEM, "cleo").plaintext
    r = client.get(f"/v1/dlq/{tid}/payload", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 403 and "MRN12345" not in r.text


def test_ml_engineer_sees_structure_only(client, db, blobs):
    make_user(db, "milo", "ml_engineer")
    tid = make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(),
        content_type=HL7_TYPE,
        error=PatientNotFound("x"),
    )
    token = sign_in(client, "milo")
    page = client.get(f"/console/dlq/{tid}").text
    assert "PID-3" in page and "MRN12345" not in page and "Sharma" not in page
    assert 'data-testid="no-reveal"' in page
    r = client.post(f"/console/dlq/{tid}/reveal", data={"reason": "curious", "csrf_token": token})
    assert r.status_code == 403 and "MRN12345" not in r.text


def test_one_time_password_must_be_changed_first(client, db):
    with db.transaction() as s:
        otp = users.create_user(s, SYSTEM, username="newbie", roles=["ops"]).one_time_password
    sign_in(client, "newbie", otp)
    r = client.get("/console/dlq", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/password"


def test_not_signed_in_redirects_and_htmx_gets_header(client):
    r = client.get("/console/dlq?error_code=x", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")
    r = client.get("/console/dlq", headers={"HX-Request": "true"}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/console/login")
    assert client.get("/v1/dlq").json()["error"]["code"] == "auth_required"


def test_audit_verify_page_detects_tampering(client, db, blobs):
    make_user(db, "cora", "compliance")
    make_user(db, "olga", "ops")
    make_dead(db, blobs)
    sign_in(client, "cora")
    assert 'data-testid="chain-ok"' in client.get("/console/audit/verify").text
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 2).values(actor="user:mallory"))
    r = client.get("/console/audit/verify")
    assert 'data-testid="chain-bad"' in r.text and "#2" in r.text
