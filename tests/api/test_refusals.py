"""Refused input through the HTTP API: a 4xx with a code, and the input archived.

Regression tests for issue 10 rows F1, F3, F4, F5, F7 (the /v1/jobs variants),
F8, F11 and issue 9 item 6, each on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from sqlalchemy import select

from carepipe.core.models import Message
from tests.api.conftest import make_key
from tests.support.live_server import live_server
from tests.support.waiting import wait_until


def _staff(db) -> dict[str, str]:
    """Headers of an admin acting through a personal token."""
    from carepipe.core.auth import SYSTEM
    from carepipe.ops import users
    from tests.support.console import FAST_HASHER, make_user

    previous = users.use_password_hasher(FAST_HASHER)
    try:
        make_user(db, "ada", "admin")
    finally:
        users.use_password_hasher(previous)
    with db.transaction() as s:
        token = users.issue_token(s, SYSTEM, "ada").plaintext
    return {"Authorization": f"Bearer {token}"}


def _rejected(db) -> list[Message]:
    with db.session() as s:
        return list(
            s.execute(select(Message).where(Message.status == "rejected").order_by(Message.id))
            .scalars()
            .all()
        )


def _only_rejected(db, code: str) -> Message:
    (msg,) = _rejected(db)
    assert msg.error_code == code
    return msg


# -- F1: a partner key on a staff route is refused (403), not a crash ------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/dlq"),
        ("GET", "/v1/dlq/1"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/audit/verify"),
        ("GET", "/v1/backfills"),
        ("GET", "/v1/archive/messages"),
        ("GET", "/v1/tenants/acme"),
        ("POST", "/v1/dlq/1/replay"),
    ],
)
def test_partner_key_on_staff_route_is_403(client, auth, method, path):
    r = client.request(method, path, headers=auth, json={} if method == "POST" else None)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "permission_denied"


def test_revoked_or_unknown_key_on_staff_route_is_401(client):
    r = client.get("/v1/dlq", headers={"Authorization": "Bearer cp_dev_nokey_nosecret"})
    assert r.status_code == 401 and r.json()["error"]["code"] in (
        "invalid_api_key",
        "auth_required",
    )


# -- F3: deep nesting ----------------------------------------------------------------------


def test_deeply_nested_json_is_422_and_archived(client, auth, db, blobs):
    body = "[" * 5000 + "]" * 5000
    r = client.post("/v1/jobs", content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    assert "nested deeper" in r.json()["error"]["message"]
    msg = _only_rejected(db, "validation_failed")
    assert blobs.get(msg.blob_key) == body.encode()


def test_deep_payload_inside_a_valid_request_is_refused_too(client, auth, db):
    payload: object = "x"
    for _ in range(100):
        payload = [payload]
    r = client.post("/v1/jobs", json={"pipeline": "echo", "payload": payload}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    _only_rejected(db, "validation_failed")


# -- F4 / F5: text a database cannot store ---------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        {"idempotency_key": "a\u0000b"},
        {"filename": "x\u0000.txt"},
        {"pipeline": "ec\u0000ho"},
        {"payload": {"x": "a\u0000b"}},
        {"payload": {"x\u0000": 1}},
    ],
)
def test_nul_anywhere_is_422_and_archived(client, auth, db, field):
    req = {"pipeline": "echo", "payload": {}, **field}
    r = client.post("/v1/jobs", json=req, headers=auth)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    _only_rejected(db, "validation_failed")


def test_lone_surrogate_is_422_and_archived(client, auth, db):
    raw = b'{"pipeline": "echo", "payload": {"x": "\\ud800"}}'
    r = client.post("/v1/jobs", content=raw, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "surrogate" in r.json()["error"]["message"]
    _only_rejected(db, "validation_failed")


def test_unstorable_json_from_the_cli_dies_permanently_on_both_databases(db, blobs, settings):
    """A JSON file with a NUL that bypasses the API ends as one clear dead letter, not retries."""
    from carepipe.core.models import Task
    from carepipe.pipelines.ingest import submit
    from carepipe.pipelines.worker import Worker

    sub = submit(
        db,
        blobs,
        tenant="acme",
        pipeline="echo",
        payload=b'{"x": "a\\u0000b"}',
        content_type="application/json",
    )
    worker = Worker(db, blobs, settings, concurrency=1)
    worker.start_background()
    try:

        def dead() -> Task | None:
            with db.session() as s:
                return s.execute(
                    select(Task).where(Task.job_id == sub.job_id, Task.status == "dead")
                ).scalar_one_or_none()

        task = wait_until(dead, timeout=20, what="the echo task to die")
    finally:
        worker.stop()
        worker.stopped.wait(10)
    assert task.attempts == 1 and task.last_error_code == "validation_failed"


# -- F7: every refusal of /v1/jobs is archived -------------------------------------------


def test_body_over_the_limit_is_413_and_archived_truncated(client, auth, db, blobs, settings):
    limit = settings.max_payload_bytes
    body = json.dumps({"pipeline": "echo", "payload": "x" * (limit + 10)}).encode()
    # Declared by Content-Length, and streamed without one (chunked).
    r = client.post("/v1/jobs", content=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert r.headers["connection"] == "close"

    def chunks():
        for i in range(0, len(body), 4096):
            yield body[i : i + 4096]

    r = client.post(
        "/v1/jobs", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    first, second = _rejected(db)
    for msg in (first, second):
        assert msg.error_code == "payload_too_large" and msg.tenant == "acme"
        assert msg.meta["truncated"] is True and msg.meta["limit"] == limit
        assert blobs.get(msg.blob_key) == body[:limit]
    # Message ids are random: which row is which is told by what each request declared.
    assert sorted((m.meta["declared_bytes"] or 0) for m in (first, second)) == [0, len(body)]


def test_body_over_the_limit_without_credentials_is_refused_unread(client, db, settings):
    body = b"x" * (settings.max_payload_bytes + 1)
    r = client.post("/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert _rejected(db) == []  # nothing of an unknown sender is kept


@pytest.mark.parametrize(
    ("data", "files", "problem"),
    [
        ({"pipeline": "echo"}, None, "'file' part"),
        (
            {"pipeline": "echo", "priority": "asap"},
            {"file": ("a.txt", b"hi", "text/plain")},
            "priority",
        ),
        (
            {"pipeline": "echo", "context": "[1]"},
            {"file": ("a.txt", b"hi", "text/plain")},
            "context",
        ),
        (  # JSON null is not "no context": leave the part out for that
            {"pipeline": "echo", "context": "null"},
            {"file": ("a.txt", b"hi", "text/plain")},
            "context",
        ),
        ({}, {"file": ("a.txt", b"hi", "text/plain")}, "pipeline"),
    ],
)
def test_multipart_refusals_are_archived(client, auth, db, blobs, data, files, problem):
    if files is None:
        # httpx sends a urlencoded form without files: force multipart with a dummy field.
        r = client.post(
            "/v1/jobs",
            headers=auth,
            files={"pipeline": (None, data["pipeline"])},
        )
    else:
        r = client.post("/v1/jobs", headers=auth, data=data, files=files)
    assert r.status_code == 422, r.text
    assert problem in json.dumps(r.json()["error"])
    msg = _only_rejected(db, "validation_failed")
    # The whole multipart body is archived as it was sent.
    kept = blobs.get(msg.blob_key)
    assert kept == r.request.content and msg.kind.startswith("multipart/form-data")


def test_unsupported_media_type_is_415_and_archived(client, auth, db, blobs):
    r = client.post("/v1/jobs", content=b"<x/>", headers={**auth, "Content-Type": "text/xml"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    assert blobs.get(_only_rejected(db, "unsupported_media_type").blob_key) == b"<x/>"


# -- F8: ids beyond BIGINT -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v1/dlq/99999999999999999999999",
        "/v1/dlq/99999999999999999999999/payload",
        "/v1/dlq/9223372036854775808",
        "/v1/audit?before_id=99999999999999999999999",
    ],
)
def test_ids_beyond_bigint_are_422(client, db, path):
    r = client.get(path, headers=_staff(db))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"


# -- item 6: time filters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1700000000",
        "1700000000.5",
        "2026-01-01T00:00:00",  # no zone
        "yesterday",
    ],
)
def test_bad_time_filters_are_4xx_with_a_code(client, auth, db, value):
    r = client.get("/v1/jobs", params={"created_after": value}, headers=auth)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    staff = _staff(db)
    for path, name in (
        ("/v1/dlq", "since"),
        ("/v1/dlq", "until"),
        ("/v1/archive/messages", "since"),
        ("/v1/audit", "until"),
    ):
        r = client.get(path, params={name: value}, headers=staff)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["error"]["code"] == "validation_failed"


def test_extreme_but_valid_times_work(client, auth):
    submitted = client.post("/v1/jobs", json={"pipeline": "echo", "payload": {}}, headers=auth)
    assert submitted.status_code == 202, submitted.text
    for value, found in (
        ("0001-01-01T00:00:00Z", 1),
        ("9999-12-31T23:59:59Z", 0),
        ("2026-01-01T05:30:00+05:30", 1),
        # Valid RFC 3339, yet before year 1 / after 9999 in UTC: the earliest / latest time.
        ("0001-01-01T00:00:00+00:01", 1),
        ("9999-12-31T23:59:59-01:00", 0),
    ):
        r = client.get("/v1/jobs", params={"created_after": value}, headers=auth)
        assert r.status_code == 200, (value, r.text)
        assert len(r.json()["items"]) == found, value


# -- F11: a client that goes away is not our 500 ------------------------------------------


def _metric(text: str, route: str, status: str) -> float:
    prefix = "carepipe_http_request_duration_seconds_count{"
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix) and f'route="{route}"' in line and f'status="{status}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_client_disconnect_is_not_counted_as_a_server_error(app, db):
    key = make_key(db)
    with live_server(app) as base:
        before = httpx.get(f"{base}/metrics").text
        host, port = base.removeprefix("http://").split(":")
        for _ in range(3):
            with socket.create_connection((host, int(port))) as sock:
                sock.sendall(
                    b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Authorization: Bearer " + key.encode() + b"\r\n"
                    b"Content-Length: 1000\r\n\r\n" + b'{"pipeline": "echo", '
                )
                time.sleep(0.05)
        # Wait until the server has finished with all three requests.
        wait_until(
            lambda: (
                _metric(httpx.get(f"{base}/metrics").text, "/v1/jobs", "499")
                >= _metric(before, "/v1/jobs", "499") + 3
            ),
            timeout=10,
            what="three 499s",
        )
        after = httpx.get(f"{base}/metrics").text
    assert _metric(after, "/v1/jobs", "500") == _metric(before, "/v1/jobs", "500")
