"""The ingestion and status API, through HTTP."""

from __future__ import annotations

import base64

from sqlalchemy import func, select

from carepipe.core.models import Job, Message, Task
from tests.api.conftest import make_key


def _count(db, model) -> int:
    with db.session() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_submit_inline_json_returns_202_and_status(client, auth, db):
    r = client.post(
        "/v1/jobs", json={"pipeline": "echo", "payload": {"hello": "world"}}, headers=auth
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["status_url"] == f"/v1/jobs/{body['id']}"
    assert r.headers["location"] == body["status_url"]
    job = client.get(body["status_url"], headers=auth).json()
    assert job["pipeline"] == "echo" and job["priority"] == "normal"
    assert job["tasks"][0]["stage"] == "echo" and job["tasks"][0]["status"] == "ready"
    with db.session() as s:
        msg = s.get(Message, body["message_id"])
        assert msg.status == "accepted" and msg.kind == "application/json"


def test_multipart_upload(client, auth):
    r = client.post(
        "/v1/jobs",
        headers=auth,
        data={"pipeline": "echo", "priority": "urgent"},
        files={"file": ("note.txt", b"some text", "text/plain")},
    )
    assert r.status_code == 202, r.text
    job = client.get(r.json()["status_url"], headers=auth).json()
    assert job["priority"] == "urgent"


def test_base64_payload(client, auth, db, blobs):
    raw = bytes(range(256))
    r = client.post(
        "/v1/jobs",
        headers=auth,
        json={
            "pipeline": "echo",
            "payload_base64": base64.b64encode(raw).decode(),
            "content_type": "application/octet-stream",
        },
    )
    assert r.status_code == 202
    with db.session() as s:
        msg = s.get(Message, r.json()["message_id"])
        assert blobs.get(msg.blob_key) == raw


def test_idempotency_key_returns_existing_job(client, auth, db):
    req = {"pipeline": "echo", "payload": {"a": 1}, "idempotency_key": "order-1"}
    first = client.post("/v1/jobs", json=req, headers=auth)
    second = client.post("/v1/jobs", json=req, headers=auth)
    assert first.status_code == 202 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"] and second.json()["duplicate"] is True
    assert _count(db, Job) == 1 and _count(db, Task) == 1
    # Both receipts are archived; the second is marked duplicate.
    with db.session() as s:
        statuses = sorted(s.execute(select(Message.status)).scalars())
        dup = s.execute(select(Message).where(Message.status == "duplicate")).scalar_one()
    assert statuses == ["accepted", "duplicate"]
    assert dup.meta["duplicate_of_job"] == first.json()["id"]
    # The header form works too, and keys are per tenant.
    other = make_key(db, tenant="other")
    r = client.post(
        "/v1/jobs",
        json={"pipeline": "echo", "payload": 1},
        headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "order-1"},
    )
    assert r.status_code == 202 and r.json()["id"] != first.json()["id"]


def test_auth_failures_are_401_with_codes(client, db, api_key):
    body = {"pipeline": "echo", "payload": 1}
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"
    r = client.post("/v1/jobs", json=body, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    env, kid, secret = api_key.split("_", 3)[1:]
    wrong = f"cp_{env}_{kid}_{'x' * len(secret)}"
    r = client.post("/v1/jobs", json=body, headers={"Authorization": f"Bearer {wrong}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    from carepipe.core.auth import SYSTEM
    from carepipe.ops.api_keys import revoke_key

    with db.transaction() as s:
        revoke_key(s, SYSTEM, kid)
    r = client.post("/v1/jobs", json=body, headers={"Authorization": f"Bearer {api_key}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_revoked"
    assert _count(db, Job) == 0


def test_bad_input_gets_stable_codes_and_is_archived(client, auth, db):
    cases = [
        (dict(json={"pipeline": "nope", "payload": 1}), 422, "unknown_pipeline"),
        (
            dict(content=b"{not json", headers={"content-type": "application/json"}),
            400,
            "malformed_json",
        ),
        (
            dict(content=b"x=1", headers={"content-type": "application/x-www-form-urlencoded"}),
            415,
            "unsupported_media_type",
        ),
        (dict(json={"pipeline": "echo"}), 422, "validation_failed"),
        (
            dict(json={"pipeline": "echo", "payload": 1, "priority": "asap"}),
            422,
            "validation_failed",
        ),
        (dict(json={"pipeline": "echo", "payload_base64": "!!!"}), 422, "validation_failed"),
    ]
    for kwargs, status, code in cases:
        headers = {**auth, **kwargs.pop("headers", {})}
        r = client.post("/v1/jobs", headers=headers, **kwargs)
        assert r.status_code == status, (code, r.text)
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["message"]
    assert _count(db, Job) == 0 and _count(db, Task) == 0
    with db.session() as s:
        rejected = s.execute(
            select(Message.error_code).where(Message.status == "rejected")
        ).scalars()
        assert sorted(rejected) == sorted(c for _, _, c in cases)


def test_payload_too_large(client, auth, db, settings):
    big = b"x" * (settings.max_payload_bytes + 1)
    r = client.post(
        "/v1/jobs", headers=auth, files={"file": ("a.bin", big)}, data={"pipeline": "echo"}
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

    def chunks():
        for _ in range(settings.max_payload_bytes // 1024 + 2):
            yield b"y" * 1024

    r = client.post(
        "/v1/jobs", headers={**auth, "content-type": "application/json"}, content=chunks()
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert _count(db, Job) == 0


def test_other_tenants_jobs_are_not_found(client, auth, db):
    job_id = client.post("/v1/jobs", json={"pipeline": "echo", "payload": 1}, headers=auth).json()[
        "id"
    ]
    other = make_key(db, tenant="other")
    r = client.get(f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/v1/jobs", headers={"Authorization": f"Bearer {other}"})
    assert r.json()["items"] == []


def test_list_jobs_cursor_pagination_and_filters(client, auth, clock):
    ids = []
    for i in range(7):
        ids.append(
            client.post("/v1/jobs", json={"pipeline": "echo", "payload": i}, headers=auth).json()[
                "id"
            ]
        )
        clock.advance(1)
    seen = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/jobs", params=params, headers=auth).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    assert (
        client.get("/v1/jobs", params={"status": "succeeded"}, headers=auth).json()["items"] == []
    )
    assert (
        len(client.get("/v1/jobs", params={"pipeline": "echo"}, headers=auth).json()["items"]) == 7
    )
    # Outside the documented cursor alphabet: refused by the declared pattern.
    r = client.get("/v1/jobs", params={"cursor": "%%%"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    # In the alphabet but not a cursor we issued.
    r = client.get("/v1/jobs", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"
    r = client.get("/v1/jobs", params={"limit": 0}, headers=auth)
    assert r.status_code == 422


def test_health_ready_metrics_openapi(client, auth):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["migrations"] == "ok"
    client.post("/v1/jobs", json={"pipeline": "echo", "payload": 1}, headers=auth)
    client.get("/v1/jobs/abc", headers=auth)
    text = client.get("/metrics").text
    assert 'carepipe_queue_depth{queue="echo",status="ready"} 1.0' in text
    assert 'route="/v1/jobs/{job_id}"' in text  # the template, not the raw path
    assert "/v1/jobs/abc" not in text
    spec = client.get("/openapi.json").json()
    assert "/v1/jobs" in spec["paths"] and client.get("/docs").status_code == 200


def test_unknown_route_uses_error_shape(client):
    r = client.get("/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_readyz_reports_pending_migrations(tmp_path, blobs):
    from fastapi.testclient import TestClient

    from carepipe.app import create_app
    from carepipe.core.config import Settings
    from carepipe.core.db import Database

    s = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/empty.db", _env_file=None)
    with TestClient(create_app(s, db=Database(s.database_url), blobs=blobs)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["error"]["code"] == "not_ready"


def test_revoked_key_is_refused_once_its_verification_expires(settings, db, blobs):
    from fastapi.testclient import TestClient

    from carepipe.api.auth import forget_verified_keys
    from carepipe.app import create_app
    from carepipe.core.auth import SYSTEM
    from carepipe.ops.api_keys import revoke_key

    body = {"pipeline": "echo", "payload": 1}
    for ttl in (0.0, 30.0):
        key = make_key(db)
        headers = {"Authorization": f"Bearer {key}"}
        app = create_app(
            settings.model_copy(update={"api_key_cache_seconds": ttl}), db=db, blobs=blobs
        )
        with TestClient(app) as client:
            assert client.post("/v1/jobs", json=body, headers=headers).status_code == 202
            with db.transaction() as s:
                revoke_key(s, SYSTEM, key.split("_")[2])
            r = client.post("/v1/jobs", json=body, headers=headers)
            if ttl:
                # Remembered for up to ttl seconds (no database round trip per request)...
                assert r.status_code == 202
                forget_verified_keys()  # ...then verified again
                r = client.post("/v1/jobs", json=body, headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "api_key_revoked"
