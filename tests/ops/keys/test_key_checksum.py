"""Key format (issue 16): a checksum refuses a mistyped or forged key before any look-up."""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.crypto import sha256_hex
from carepipe.core.errors import InvalidApiKey
from carepipe.core.maintenance.watch import THREAD_NAME as FENCE_THREAD
from carepipe.core.models import ApiKey
from carepipe.ops.api_keys import create_key
from carepipe.ops.key_format import BASE62, KEY_PATTERN, parse_key

BODY = {"pipeline": "echo", "payload": 1}


def _one_char_changes(key: str) -> list[str]:
    """Every key that differs from ``key`` in exactly one character (same alphabet)."""
    alphabet = BASE62 + "_"
    return [key[:i] + c + key[i + 1 :] for i in range(len(key)) for c in alphabet if c != key[i]]


def test_every_one_character_change_is_refused_without_a_database_query(settings, db, blobs):
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant="acme", name="lab", env="dev").plaintext
    # The documented pattern (docs/api-keys.md) matches what we issue.
    assert re.fullmatch(KEY_PATTERN, key)
    changed = _one_char_changes(key)
    statements: list[str] = []
    # Statements of the request path only: the maintenance fence's poller reads its row
    # every second on a thread of its own, whatever the requests do.
    event.listen(
        db.engine,
        "before_cursor_execute",
        lambda *a: threading.current_thread().name == FENCE_THREAD or statements.append(a[2]),
    )
    app = create_app(settings, db=db, blobs=blobs)
    with TestClient(app) as client:
        statements.clear()
        # Each candidate is checked by the parser (thousands, no database at all) ...
        assert len(changed) > 2000
        for candidate in changed:
            with pytest.raises(InvalidApiKey):
                parse_key(candidate)
        # ... and a sample through the API: 401 invalid_api_key and no SQL statement sent.
        for candidate in changed[:: len(changed) // 40]:
            r = client.post("/v1/jobs", json=BODY, headers={"Authorization": f"Bearer {candidate}"})
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "invalid_api_key"
        assert statements == []
        # The unchanged key works (and needs the database).
        r = client.post("/v1/jobs", json=BODY, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 202, r.text
        assert statements


def test_keys_issued_before_the_checksum_still_work(settings, db, blobs, clock):
    # A partner's cp_ key from before issue 16: no checksum, looked up as before.
    secret = "s" * 43
    with db.transaction() as s:
        s.add(
            ApiKey(
                id="legacy000001",
                tenant="acme",
                name="old",
                env="dev",
                secret_sha256=sha256_hex(secret.encode()),
                status="active",
                created_at=clock.now(),
                activated_at=clock.now(),
            )
        )
    app = create_app(settings, db=db, blobs=blobs)
    with TestClient(app) as client:
        ok = client.post(
            "/v1/jobs", json=BODY, headers={"Authorization": f"Bearer cp_dev_legacy000001_{secret}"}
        )
        assert ok.status_code == 202, ok.text
        wrong = client.post(
            "/v1/jobs",
            json=BODY,
            headers={"Authorization": f"Bearer cp_dev_legacy000001_{'t' * 43}"},
        )
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
