"""One-time links (issue 16): staff request a key "by link", the partner opens the link,
reveals the key once, and activates it; a second view, or one after 24 h, is refused.
Through the console over HTTP, on both databases."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops.audit_export import AuditFilter, list_events
from carepipe.ops.key_format import KEY_PATTERN
from carepipe.ops.key_handover import purge_expired
from carepipe.ops.key_models import ApiKeyHandover
from tests.support.console import make_user
from tests.support.console_http import csrf_of, sign_in

LINK = re.compile(r"http://testserver(/console/keys/handover/[A-Za-z0-9_\-]+)")


def _request_by_link(client: TestClient, csrf: str, ticket: str) -> str:
    r = client.post(
        "/console/keys",
        data={
            "tenant": "acme",
            "name": "emr",
            "ticket": ticket,
            "handover": "link",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 200, r.text[:500]
    assert not re.search(KEY_PATTERN, r.text), "the key itself must not be shown to staff"
    m = LINK.search(r.text)
    assert m, r.text[:2000]
    return m.group(1)


def test_link_reveals_the_key_once_then_never_again(settings, db, blobs, clock):
    make_user(db, "olga", "ops")
    app = create_app(settings, db=db, blobs=blobs)
    with TestClient(app) as staff, TestClient(app) as partner:
        path = _request_by_link(staff, sign_in(staff, "olga"), "OPS-9")

        # Opening the link (as a chat preview would) does not use it up.
        for _ in range(2):
            page = partner.get(path)
            assert page.status_code == 200 and "Reveal the key" in page.text
            assert not re.search(KEY_PATTERN, page.text)
        revealed = partner.post(path, data={"csrf_token": csrf_of(page.text)})
        assert revealed.status_code == 200
        key = re.search(KEY_PATTERN, revealed.text).group(0)  # type: ignore[union-attr]

        # Used up: both the page and the reveal answer 404, and the ciphertext is gone.
        assert partner.get(path).status_code == 404
        assert partner.post(path, data={"csrf_token": csrf_of(page.text)}).status_code == 404
        with db.session() as s:
            rows = s.execute(select(ApiKeyHandover)).scalars().all()
        assert [(r.ciphertext, r.viewed_from) for r in rows] == [(None, "testclient")]

        # The revealed key is the staged key; the partner activates it with itself.
        r = partner.post("/api/keys/activate", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200 and r.json()["status"] == "active"
        with db.session() as s:
            actions = [
                e.action for e in list_events(s, SYSTEM, AuditFilter(action="api_key.")).items
            ]
        assert actions[:3] == [
            "api_key.activate",
            "api_key.handover_viewed",
            "api_key.handover_link",
        ]

        # A link not opened within 24 h is refused, and the scheduler clears its ciphertext.
        late = _request_by_link(staff, csrf_of(staff.get("/console/keys").text), "OPS-10")
        clock.advance(hours=24, seconds=1)
        assert partner.get(late).status_code == 404
        assert purge_expired(db) == 1
