"""``/v1/secrets`` through the app: write-only values, masked lists, admin only, audited
without the value (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.models import AuditEvent
from carepipe.ops import users

VALUE = "emr-bearer-0123456789-wxyz"


@pytest.fixture
def client(settings, db, blobs):
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


def _tokens(db, roles: dict[str, str]) -> dict[str, dict[str, str]]:
    tokens = {}
    with db.transaction() as s:
        for name, role in roles.items():
            users.create_user(s, SYSTEM, username=name, roles=[role], password="a long pw 12345")
            plaintext = users.issue_token(s, SYSTEM, name).plaintext
            tokens[name] = {"Authorization": f"Bearer {plaintext}"}
    return tokens


def test_values_go_in_and_never_come_out(client, db):
    t = _tokens(db, {"ada": "admin", "otto": "ops", "cleo": "compliance"})
    seen: list[str] = []

    def call(method: str, path: str, who: str, **kw) -> dict | list:
        r = client.request(method, path, headers=t[who], **kw)
        seen.append(r.text)
        return {"status": r.status_code, "body": r.json()}

    first = call("PUT", "/v1/secrets/emr.token", "ada", json={"value": VALUE, "reason": "T-1"})
    assert first["status"] == 200, first
    second = call("PUT", "/v1/secrets/emr.token", "ada", json={"value": VALUE + "2"})
    assert second["body"]["version"] == 2 and second["body"]["masked"] == "••••xyz2"
    back = call("POST", "/v1/secrets/emr.token/rollback", "ada", json={"version": 1})
    assert back["status"] == 200 and back["body"]["version"] == 3
    assert back["body"]["masked"] == "••••wxyz"  # version 1's value, current again
    missing = call("POST", "/v1/secrets/emr.token/rollback", "ada", json={"version": 9})
    assert missing["status"] == 404 and missing["body"]["error"]["code"] == "secret_not_found"
    short = call("PUT", "/v1/secrets/llm.key", "ada", json={"value": "sk-12345"})
    listed = call("GET", "/v1/secrets", "ada")
    assert listed["status"] == 200
    rows = {r["name"]: r for r in listed["body"]}
    assert rows["emr.token"]["version"] == 3 and rows["emr.token"]["versions"] == 3
    assert rows["emr.token"]["masked"] == "••••wxyz"  # last 4 of a value of 12 or more
    assert rows["llm.key"]["masked"] == "••••"  # 8 characters: nothing shown
    assert rows["emr.token"]["updated_by"].startswith("user:")
    assert len(rows["emr.token"]["kek_id"]) == 12

    # Others may neither list nor set; a refused value is not echoed back.
    for who in ("otto", "cleo"):
        assert call("GET", "/v1/secrets", who)["status"] == 403
        assert call("PUT", "/v1/secrets/x1", who, json={"value": VALUE})["status"] == 403
    bad = call("PUT", "/v1/secrets/llm.key", "ada", json={"value": f" {VALUE}"})
    assert bad["status"] == 422 and bad["body"]["error"]["code"] == "validation_failed"
    assert call("PUT", "/v1/secrets/Bad%20Name", "ada", json={"value": VALUE})["status"] == 422
    # There is no route that reads a value back.
    assert call("GET", "/v1/secrets/emr.token", "ada")["status"] in (404, 405)

    gone = call("DELETE", "/v1/secrets/llm.key", "ada")
    assert gone["body"] == {"name": "llm.key", "deleted": 1}
    again = call("DELETE", "/v1/secrets/llm.key", "ada")
    assert again["status"] == 404 and again["body"]["error"]["code"] == "secret_not_found"

    with db.session() as s:
        events = s.execute(
            select(AuditEvent).where(AuditEvent.action.like("secret.%")).order_by(AuditEvent.id)
        ).scalars()
        audited = [(e.action, e.target_id, e.after, e.reason) for e in events]
    assert [a[:2] for a in audited] == [
        ("secret.put", "emr.token"),
        ("secret.put", "emr.token"),
        ("secret.rollback", "emr.token"),
        ("secret.put", "llm.key"),
        ("secret.delete", "llm.key"),
    ]
    assert audited[0][2]["version"] == 1 and audited[0][3] == "T-1"
    everything = json.dumps(audited) + "".join(seen)
    for value in (VALUE, VALUE + "2", "sk-12345"):
        assert value not in everything
    assert short["status"] == 200
