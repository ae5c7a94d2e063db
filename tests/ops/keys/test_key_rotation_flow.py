"""Rotation without downtime, through the API (issue 16 done-when tests, both databases).

A partner's active key A; staff request key B under a ticket; B is refused until the
partner activates it with ``POST /api/keys/activate``; then both work (A in grace for the
tenant's grace period); after it the scheduler revokes A, and A's use is 401
``api_key_revoked``, counted in ``/metrics``, audited (key id, source address, at most
once a minute) and sent to the webhook, and stays recognised even if A's row is deleted.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import delete

from carepipe.api.auth import forget_verified_keys
from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.models import ApiKey
from carepipe.ops.api_keys import create_key, list_keys
from carepipe.ops.audit_export import AuditFilter, list_events
from carepipe.ops.key_rotation import export_rotation_due, request_key, revoke_expired
from carepipe.ops.tenants import set_tenant_settings

BODY = {"pipeline": "echo", "payload": 1}


def _post(client: TestClient, key: str) -> tuple[int, str]:
    r = client.post("/v1/jobs", json=BODY, headers={"Authorization": f"Bearer {key}"})
    return r.status_code, r.json().get("error", {}).get("code", "")


def _rejected(client: TestClient, tenant: str, reason: str) -> float:
    text = client.get("/metrics").text
    m = re.search(
        rf'^carepipe_api_key_rejected_total\{{reason="{reason}",tenant="{tenant}"\}} (\S+)$',
        text,
        re.M,
    )
    return float(m.group(1)) if m else 0.0


def _events(db, action: str) -> list:
    with db.session() as s:
        return list_events(s, SYSTEM, AuditFilter(action=action)).items


def test_overlapping_validity_then_revoked_key_is_refused_counted_audited_notified(
    settings, db, blobs, clock, webhook
):
    settings = settings.model_copy(
        update={"key_webhook_url": webhook.url, "api_key_usage_flush_seconds": 0}
    )
    with db.transaction() as s:
        # Per-tenant grace period: 48 h for acme instead of the default 24 h.
        set_tenant_settings(s, SYSTEM, "acme", {"api_key_grace_hours": 48})
        old = create_key(s, SYSTEM, tenant="acme", name="emr", env="dev")
        new = request_key(s, SYSTEM, tenant="acme", name="emr", env="dev", ticket="OPS-1234")
    assert new.status == "staged"
    app = create_app(settings, db=db, blobs=blobs)
    with TestClient(app) as client:
        assert _post(client, old.plaintext) == (202, "")
        # A staged key is refused everywhere but the activation endpoint.
        assert _post(client, new.plaintext) == (401, "invalid_api_key")
        # The active key cannot activate anything; the staged one activates itself.
        r = client.post("/api/keys/activate", headers={"Authorization": f"Bearer {new.plaintext}"})
        assert r.status_code == 200, r.text
        done = r.json()
        assert done["id"] == new.id and done["status"] == "active"
        assert [p["id"] for p in done["previous"]] == [old.id]
        assert done["previous"][0]["status"] == "grace"
        grace_until = datetime.fromisoformat(done["previous"][0]["grace_until"])
        assert grace_until == clock.now() + timedelta(hours=48)
        # Activation is audited with the ticket the key was requested under.
        (activated,) = _events(db, "api_key.activate")
        assert activated.reason == "OPS-1234" and activated.actor == f"api_key:{new.id}"

        # Overlap: both keys work during the grace period (47 h later too).
        clock.advance(hours=47)
        assert revoke_expired(db) == 0
        forget_verified_keys()
        assert _post(client, old.plaintext) == (202, "")
        assert _post(client, new.plaintext) == (202, "")

        # Grace over: the scheduler revokes A (audited as system), B goes on working.
        clock.advance(hours=2)
        before = _rejected(client, "acme", "revoked")
        assert revoke_expired(db) == 1
        (revoked,) = _events(db, "api_key.revoke")
        assert revoked.actor == "system:scheduler" and revoked.target_id == old.id
        forget_verified_keys()
        assert _post(client, new.plaintext) == (202, "")
        assert _post(client, old.plaintext) == (401, "api_key_revoked")
        assert _rejected(client, "acme", "revoked") == before + 1
        (event,) = _events(db, "api_key.rejected")
        assert event.target_id == old.id and event.tenant == "acme"
        assert event.after == {
            "reason": "revoked",
            "source": "testclient",
            "refusals_since_last_event": 0,
        }
        hook = webhook.next()
        assert hook["event"] == "api_key.revoked_use" and hook["key_id"] == old.id
        assert hook["source"] == "testclient"

        # Hammering: the metric counts every refusal, the audit log keeps one a minute.
        for _ in range(5):
            assert _post(client, old.plaintext) == (401, "api_key_revoked")
        assert _rejected(client, "acme", "revoked") == before + 6
        assert len(_events(db, "api_key.rejected")) == 1

        # Tombstone: even with its row deleted, A is recognised as revoked.
        with db.transaction() as s:
            s.execute(delete(ApiKey).where(ApiKey.id == old.id))
        assert _post(client, old.plaintext) == (401, "api_key_revoked")

        # Usage: request counts, last use and source address per key.
        with db.session() as s:
            views = {k.id: k for k in list_keys(s, SYSTEM, tenant="acme")}
        assert views[new.id].request_count == 2
        assert views[new.id].last_used_ip == "testclient"
        assert views[new.id].last_used_at == clock.now()
        assert views[new.id].masked == f"cpk_dev_{new.id}_…{new.plaintext[-4:]}"


def test_rotation_due_gauge_and_staff_actions(settings, db, blobs, clock):
    with db.transaction() as s:
        set_tenant_settings(s, SYSTEM, "beta", {"api_key_rotation_days": 30})
        create_key(s, SYSTEM, tenant="beta", name="lab", env="dev")
    clock.advance(days=20)
    app = create_app(settings, db=db, blobs=blobs)
    with TestClient(app) as client:
        assert export_rotation_due(db, settings) == 1
        text = client.get("/metrics").text
        m = re.search(
            r'^carepipe_api_key_rotation_due_seconds\{key_id="\w+",name="lab",tenant="beta"\} (\S+)$',
            text,
            re.M,
        )
        assert m and float(m.group(1)) == 10 * 86400
        # Zero series for the refusal alert exist before the first refusal.
        assert 'carepipe_api_key_rejected_total{reason="revoked",tenant="beta"} 0.0' in text
