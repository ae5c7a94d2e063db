"""Flags through the HTTP API (both databases): rollback restores a definition exactly,
the optimistic lock, four eyes with break glass, and the audit trail of each."""

from __future__ import annotations

from tests.flags.backend_defs import summaries

CREATE = "/v1/flags"


def _create(client, who, key="doc-summaries", *, approval=False, definition=None):
    r = client.post(
        CREATE,
        headers=who,
        json={
            "key": key,
            "definition": definition or summaries(10),
            "justification": "canary for acme (PROD-123)",
            "requires_approval": approval,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _update(client, who, key, definition, based_on, **extra):
    return client.put(
        f"/v1/flags/{key}",
        headers=who,
        json={"definition": definition, "justification": "widen", "based_on": based_on, **extra},
    )


def test_rollback_restores_the_earlier_definition_exactly(client, staff):
    alice = staff["alice"]
    _create(client, alice)
    v1 = client.get("/v1/flags/doc-summaries", headers=alice).json()["definition"]

    assert _update(client, alice, "doc-summaries", summaries(20), 1).json()["status"] == "live"
    # Optimistic lock: an edit of version 1 after version 2 went live is refused.
    stale = _update(client, alice, "doc-summaries", summaries(50), 1)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "flag_conflict"
    # Cross-field rules of a definition answer 422 with the messages.
    bad = summaries(20) | {"default_variant": "maybe"}
    invalid = _update(client, alice, "doc-summaries", bad, 2)
    assert invalid.status_code == 422 and "unknown variants: maybe" in invalid.text

    r = client.post(
        "/v1/flags/doc-summaries/rollback",
        headers=alice,
        json={"to_version": 1, "justification": "errors in the 20 % canary"},
    )
    assert r.json() == {
        "key": "doc-summaries", "version": 3, "status": "live", "action": "rollback"
    }  # fmt: skip
    flag = client.get("/v1/flags/doc-summaries", headers=alice).json()
    assert flag["version"] == 3 and flag["definition"] == v1

    log = client.get("/v1/flags/doc-summaries/versions", headers=staff["olga"]).json()
    assert [(v["version"], v["action"], v["status"]) for v in log] == [
        (3, "rollback", "live"), (2, "update", "superseded"), (1, "create", "superseded"),
    ]  # fmt: skip
    assert {v["requested_by"] for v in log} == {log[0]["requested_by"]}
    assert log[0]["justification"] == "errors in the 20 % canary"
    diff = [line.replace(" ", "") for line in log[0]["diff"]]
    assert '-"weight":20.0' in diff and '+"weight":10.0' in diff
    # ops may read but not change.
    denied = client.post(
        "/v1/flags/doc-summaries/kill", headers=staff["olga"], json={"justification": "x"}
    )
    assert denied.status_code == 403


def test_four_eyes_break_glass_and_kill(client, staff):
    alice, bob, root = staff["alice"], staff["bob"], staff["root"]
    _create(client, alice, approval=True)

    pending = _update(client, alice, "doc-summaries", summaries(20), 1).json()
    assert pending == {
        "key": "doc-summaries",
        "version": 2,
        "status": "pending",
        "action": "update",
    }
    flag = client.get("/v1/flags/doc-summaries", headers=bob).json()
    assert flag["version"] == 1 and flag["pending"] and flag["pending_change"]["version"] == 2
    # The requester cannot approve their own change; another product_ops person can.
    own = client.post("/v1/flags/doc-summaries/approve", headers=alice, json={"version": 2})
    assert own.status_code == 403 and own.json()["error"]["code"] == "four_eyes_required"
    ok = client.post("/v1/flags/doc-summaries/approve", headers=bob, json={"version": 2})
    assert ok.json()["status"] == "live"
    assert client.get("/v1/flags/doc-summaries", headers=bob).json()["version"] == 2

    # Break glass: admin only, live at once, marked in the change log and the audit log.
    refused = _update(client, bob, "doc-summaries", summaries(0), 2, break_glass=True)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    glass = _update(client, root, "doc-summaries", summaries(0), 2, break_glass=True).json()
    assert glass["status"] == "live" and glass["version"] == 3
    log = client.get("/v1/flags/doc-summaries/versions", headers=bob).json()
    assert log[0]["break_glass"] is True and log[0]["approved_by"] is None

    # The kill switch needs nobody's approval, even on a four-eyes flag; enabling does.
    kill = client.post(
        "/v1/flags/doc-summaries/kill", headers=alice, json={"justification": "incident 7"}
    ).json()
    assert kill["status"] == "live" and kill["action"] == "kill"
    assert client.get("/v1/flags/doc-summaries", headers=bob).json()["enabled"] is False
    enable = client.post(
        "/v1/flags/doc-summaries/enable", headers=alice, json={"justification": "fixed"}
    ).json()
    assert enable["status"] == "pending"
    rejected = client.post(
        "/v1/flags/doc-summaries/reject",
        headers=bob,
        json={"version": enable["version"], "justification": "not yet"},
    )
    assert rejected.json()["status"] == "rejected"

    events = client.get(
        "/v1/audit", headers=root, params={"target_type": "flag", "limit": 50}
    ).json()["items"]
    actions = [(e["action"], e["reason"], (e["after"] or {}).get("break_glass")) for e in events]
    assert actions[::-1] == [
        ("flag.create", "canary for acme (PROD-123)", None),
        ("flag.update", "widen", False),
        ("flag.approve", "widen", None),
        ("flag.update", "widen", True),
        ("flag.kill", "incident 7", False),
        ("flag.enable", "fixed", False),
        ("flag.reject", "not yet", None),
    ]


def test_segments_and_preview(client, staff):
    alice = staff["alice"]
    seg = {"conditions": [{"attribute": "tenant", "op": "in", "values": ["acme", "globex"]}]}
    definition = summaries(10)
    definition["rules"][0] = {"segments": ["beta"], "rollout": definition["rules"][0]["rollout"]}
    # A rule naming an unknown segment is refused.
    r = client.post(
        CREATE,
        headers=alice,
        json={"key": "doc-summaries", "definition": definition, "justification": "beta"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "flag_invalid"
    r = client.put(
        "/v1/flag-segments/beta", headers=alice, json={"segment": seg, "justification": "beta"}
    )
    assert r.status_code == 200, r.text
    _create(client, alice, definition=definition)
    assert client.get("/v1/flag-segments", headers=alice).json()[0]["used_by"] == ["doc-summaries"]
    rows = client.post(
        "/v1/flags/doc-summaries/preview",
        headers=alice,
        json={"tenants": ["acme", "initech"], "sample": 2000},
    ).json()
    assert rows[1]["shares"] == {"off": 1.0}
    assert abs(rows[0]["shares"]["on"] - 0.10) < 0.03
    # A proposed definition, for every tenant (none configured yet: one row without one),
    # with its role-targeted rule listed.
    proposed = summaries(10)
    proposed["rules"].insert(
        0, {"conditions": [{"attribute": "role", "values": ["clinician"]}], "variant": "on"}
    )
    rows = client.post(
        "/v1/flags/doc-summaries/preview", headers=alice, json={"definition": proposed}
    ).json()
    assert [(r["label"], r["shares"]) for r in rows] == [("(no tenant)", {"off": 1.0})]
    assert rows[0]["role_rules"] == ["rule 1: role in clinician -> on"]
