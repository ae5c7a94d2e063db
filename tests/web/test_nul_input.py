"""A NUL in anything a person types is a 4xx on both databases, never a 500.

PostgreSQL cannot store U+0000 in text, SQLite can. The API states the rule in its
OpenAPI patterns; the console refuses it in every state-changing form. Found by
schemathesis on ``POST /v1/dlq/{id}/payload/reveal`` (a 500 on PostgreSQL).
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.core.models import AuditEvent
from carepipe.ops import users
from tests.conftest import _truncate_pg
from tests.support.console import make_dead, make_user
from tests.support.console_http import csrf_of, sign_in


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        target = tmp_path / "carepipe.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_schema_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def _reveals(db) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.execute(select(AuditEvent).where(AuditEvent.action == "payload.reveal"))
            .scalars()
            .all()
        )


def test_nul_in_a_reason_is_refused_by_api_and_console(client, db, blobs):
    tid = make_dead(db, blobs)
    make_user(db, "olga", "ops")
    with db.transaction() as s:
        from carepipe.core.auth import SYSTEM

        token = users.issue_token(s, SYSTEM, "olga").plaintext

    api = client.post(
        f"/v1/dlq/{tid}/payload/reveal",
        json={"reason": "INC-9\u0000"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 422, api.text
    assert api.json()["error"]["code"] == "validation_failed"

    sign_in(client, "olga")
    csrf = csrf_of(client.get(f"/console/dlq/{tid}").text)
    page = client.post(
        f"/console/dlq/{tid}/reveal", data={"csrf_token": csrf, "reason": "INC-9\u0000"}
    )
    assert 400 <= page.status_code < 500, page.text[:500]
    assert "U+0000" in page.text
    assert _reveals(db) == []  # nothing was revealed, so nothing to audit

    ok = client.post(f"/console/dlq/{tid}/reveal", data={"csrf_token": csrf, "reason": "INC-9"})
    assert ok.status_code == 200 and len(_reveals(db)) == 1
