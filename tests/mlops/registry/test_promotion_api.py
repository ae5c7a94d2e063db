"""Promotion over ``/v1/models`` on both databases: gates that list every check with its
figure, approvals by role and person, one production version per model, an admin's forced
promotion, the webhook, and two concurrent promotions of which exactly one wins."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from carepipe.core.models import AuditEvent
from tests.mlops.registry.conftest import add_evaluation


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook():
    _Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Hook.received
    server.shutdown()


@pytest.fixture
def settings(settings, hook):
    server, _ = hook
    return settings.model_copy(
        update={"model_webhook_url": f"http://127.0.0.1:{server.server_port}/hook"}
    )


def _setup(client, people, versions=2):
    assert (
        client.post(
            "/v1/models", headers=people.dana, json={"name": "asr-ft", "kind": "asr"}
        ).status_code
        == 201
    )
    for _ in range(versions):
        r = client.post(
            "/v1/models/asr-ft/versions",
            headers=people.dana,
            json={"format": "packaged-whisper", "packaged": "base"},
        )
        assert r.status_code == 201, r.text


def _promote(client, who, version, to_stage, **extra):
    rev = client.get(f"/v1/models/asr-ft/versions/{version}", headers=who).json()["revision"]
    return client.post(
        f"/v1/models/asr-ft/versions/{version}/promote",
        headers=who,
        json={"to_stage": to_stage, "expected_revision": rev, **extra},
    )


def _checks(r):
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "promotion_blocked"
    return {c["name"]: c for c in err["details"]["checks"]}


def test_gates_approvals_one_production_and_force(client, people, db, hook):
    _, received = hook
    _setup(client, people, versions=3)
    # data_scientist registers but cannot promote.
    assert _promote(client, people.dana, 1, "staging").status_code == 403

    # No evaluation: every check is listed, the failed one says why.
    checks = _checks(_promote(client, people.eve, 1, "staging"))
    assert set(checks) == {"wer_max", "no_regression_vs_production"}
    assert checks["wer_max"]["passed"] is False and checks["wer_max"]["figure"] is None
    assert "no finished evaluation" in checks["wer_max"]["message"]
    assert checks["no_regression_vs_production"]["passed"] is True  # nothing in production

    add_evaluation(db, "asr-ft@1", {"wer": 0.42}, minutes_ago=10)
    checks = _checks(_promote(client, people.eve, 1, "staging"))
    assert checks["wer_max"] == {
        "name": "wer_max", "passed": False, "figure": 0.42, "limit": "<= 0.3",
        "message": "wer 0.42 on scribe-clips@1 fails <= 0.3",
    }  # fmt: skip
    add_evaluation(db, "asr-ft@1", {"wer": 0.21})
    r = _promote(client, people.eve, 1, "staging", reason="tuned on clinic audio")
    assert r.status_code == 200, r.text
    assert r.json()["version"]["stage"] == "staging" and r.json()["from_stage"] == "development"
    assert all(c["passed"] for c in r.json()["checks"])

    # To production: risk assessment and two approvals by people other than the requester.
    checks = _checks(_promote(client, people.eve, 1, "production"))
    assert {k: (c["passed"], c["figure"]) for k, c in checks.items()} == {
        "risk_assessment": (False, 0),
        "approval_compliance": (False, 0),
        "approval_ml_engineer": (False, 0),
    }
    approvals = "/v1/models/asr-ft/versions/1/approvals"
    assert client.post(approvals, headers=people.dana, json={}).status_code == 403
    assert (
        client.post(approvals, headers=people.eve, json={"kind": "risk_assessment"}).status_code
        == 403
    )
    assert client.post(approvals, headers=people.eve, json={"comment": "mine"}).status_code == 201
    r = client.post(
        approvals, headers=people.cleo, json={"kind": "risk_assessment", "comment": "DPIA-12"}
    )
    assert r.status_code == 201 and r.json()["role"] == "compliance"
    r = client.post(approvals, headers=people.cleo, json={})
    assert (
        r.status_code == 201 and r.json()["kind"] == "approval" and r.json()["role"] == "compliance"
    )
    checks = _checks(_promote(client, people.eve, 1, "production"))
    # The requester's own approval does not count.
    assert checks["approval_ml_engineer"]["passed"] is False and checks["risk_assessment"]["passed"]
    assert client.post(approvals, headers=people.ian, json={}).status_code == 201
    r = _promote(client, people.eve, 1, "production")
    assert r.status_code == 200, r.text
    assert {c["name"]: c["passed"] for c in r.json()["checks"]} == {
        "risk_assessment": True, "approval_compliance": True, "approval_ml_engineer": True,
    }  # fmt: skip

    # A version with a significant regression against production is stopped at staging.
    with db.transaction() as s:
        from carepipe.mlops.refs import resolve_version

        resolve_version(s, "asr-ft@3").metrics = {
            "comparison_vs_production": {"verdict": "worse", "wer_delta": 0.05, "p_value": 0.01,
                                         "production_version": "asr-ft@1"}
        }  # fmt: skip
    add_evaluation(db, "asr-ft@3", {"wer": 0.25})
    checks = _checks(_promote(client, people.eve, 3, "staging"))
    reg = checks["no_regression_vs_production"]
    assert (reg["passed"], reg["figure"]) == (False, "worse") and "+0.0500" in reg["message"]
    # Without a comparison (something is in production now), the check fails and says why.
    add_evaluation(db, "asr-ft@2", {"wer": 0.2})
    checks = _checks(_promote(client, people.eve, 2, "staging"))
    assert "no comparison against production" in checks["no_regression_vs_production"]["message"]

    # An admin forces version 2 through (with a reason), twice: production moves, one only.
    assert _promote(client, people.ada, 2, "staging", force=True).status_code == 403  # no reason
    r = _promote(client, people.ada, 2, "staging", force=True, reason="incident 42 hotfix")
    assert r.status_code == 200 and r.json()["forced"] is True
    r = _promote(client, people.ada, 2, "production", force=True, reason="incident 42 hotfix")
    assert r.status_code == 200 and r.json()["moved"] == ["asr-ft@1"]
    shown = client.get("/v1/models/asr-ft", headers=people.otto).json()
    assert {v["version"]: v["stage"] for v in shown["versions"]} == {
        3: "development",
        2: "production",
        1: "archived",
    }
    assert shown["production_version"] == 2
    # Demotion is allowed and ungated; development -> production is not a stage change.
    r = _promote(client, people.eve, 3, "production")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = _promote(client, people.eve, 2, "staging", reason="rollback")
    assert r.status_code == 200 and r.json()["checks"] == []

    detail = client.get("/v1/models/asr-ft/versions/1", headers=people.otto).json()
    assert [(h["from_stage"], h["to_stage"]) for h in detail["history"]] == [
        ("production", "archived"), ("staging", "production"), ("development", "staging"),
    ]  # fmt: skip
    assert detail["history"][0]["reason"] == "replaced in production by asr-ft@2"
    assert len(detail["history"][1]["checks"]) == 3 and len(detail["approvals"]) == 4
    assert [e["metrics"]["wer"] for e in detail["evaluations"]] == [0.42, 0.21]

    with db.session() as s:
        events = s.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.reason)
            .where(AuditEvent.action.like("model.promote%"))
        ).all()  # fmt: skip
    assert sorted(e.action for e in events).count("model.promote.forced") == 2
    assert ("model.promote", "user:eve", "tuned on clinic audio") in events
    # The webhook heard every promotion (best effort, sent from a thread).
    import time

    deadline = time.monotonic() + 5
    while len(received) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    promoted = [e for e in received if e["event"] == "model.promoted"]
    assert len(promoted) == 5
    assert {
        "model": "asr-ft",
        "version": 2,
        "to_stage": "production",
        "forced": True,
    }.items() <= next(
        e for e in promoted if e["to_stage"] == "production" and e["version"] == 2
    ).items()


def test_two_concurrent_promotions_one_wins_one_conflicts(client, people, db):
    _setup(client, people, versions=1)
    add_evaluation(db, "asr-ft@1", {"wer": 0.2})
    rev = client.get("/v1/models/asr-ft/versions/1", headers=people.eve).json()["revision"]
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def go(who: str, headers: dict[str, str], to_stage: str) -> None:
        barrier.wait()
        r = client.post(
            "/v1/models/asr-ft/versions/1/promote",
            headers=headers,
            json={"to_stage": to_stage, "expected_revision": rev},
        )
        results[who] = (r.status_code, r.json())

    threads = [
        threading.Thread(target=go, args=("eve", people.eve, "staging")),
        threading.Thread(target=go, args=("ian", people.ian, "archived")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    codes = sorted(code for code, _ in results.values())
    assert codes == [200, 409], results
    loser = next(body for code, body in results.values() if code == 409)
    winner = next(body for code, body in results.values() if code == 200)
    assert loser["error"]["code"] == "registry_conflict"
    detail = client.get("/v1/models/asr-ft/versions/1", headers=people.otto).json()
    # Exactly the winner's change happened: one history row, the winner's stage.
    assert detail["stage"] == winner["to_stage"] and len(detail["history"]) == 1
    assert detail["revision"] == rev + 1
