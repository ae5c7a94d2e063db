"""Deploying over ``/v1/deployments`` on both databases: a failed health check keeps the old
version serving and answers 409 ``deployment_unhealthy`` (with the event and incident on
record); two deploys on the same revision: one wins, one 409; "what was in production for
tenant T at time X" between two deploys; roles kept apart."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from carepipe.core.auth import SYSTEM
from carepipe.core.models import AuditEvent
from carepipe.mlops import deployments
from carepipe.mlops.serving import clear_cache, served_version
from tests.mlops.factories import BROKEN, TINY, make_ref


def test_a_version_that_fails_its_health_check_is_refused_and_the_old_one_keeps_serving(
    client, people, db, settings, blobs
):
    with db.transaction() as s:
        good = make_ref(s, "whisper-tiny", "asr", TINY)
        bad = make_ref(s, "whisper-tiny", "asr", BROKEN, blobs=blobs)
    r = client.post(
        "/v1/deployments", headers=people.mia, json={"engine_kind": "asr", "version": good}
    )
    assert r.status_code == 201, r.text
    dep = r.json()
    assert dep["stable"] == good and dep["revision"] == 1 and dep["tenant"] == "*"

    r = client.post(
        "/v1/deployments",
        headers=people.mia,
        json={"engine_kind": "asr", "version": bad, "expected_revision": 1},
    )
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "deployment_unhealthy"
    assert err["details"]["check"] == "load" and "AsrModelNotFound" in err["details"]["reason"]

    shown = client.get(f"/v1/deployments/{dep['id']}", headers=people.otto).json()
    assert shown["deployment"]["stable"] == good and shown["deployment"]["revision"] == 1
    clear_cache()
    served = served_version(db, settings, "asr", "any-tenant", "key-1")
    assert served is not None and served.label == good
    events = client.get(f"/v1/deployments/{dep['id']}/events", headers=people.otto).json()["items"]
    assert [e["action"] for e in events] == ["deploy_failed", "deploy"]
    incidents = client.get(f"/v1/deployments/{dep['id']}/incidents", headers=people.otto).json()
    assert incidents["items"][0]["kind"] == "health_check_failed"

    # ops may read but not deploy.
    r = client.post(
        "/v1/deployments", headers=people.otto, json={"engine_kind": "asr", "version": good}
    )
    assert r.status_code == 403, r.text


def test_concurrent_deploys_on_the_same_revision_one_wins_one_conflicts(client, people, db):
    with db.transaction() as s:
        refs = [make_ref(s, "note-rules", "note", {"note_engine": "rules"}) for _ in range(3)]
    r = client.post(
        "/v1/deployments", headers=people.mia, json={"engine_kind": "note", "version": refs[0]}
    )
    assert r.status_code == 201, r.text
    dep_id = r.json()["id"]
    answers: list[tuple[str, int, dict]] = []
    start = threading.Barrier(2)

    def deploy(ref: str) -> None:
        start.wait()
        resp = client.post(
            "/v1/deployments",
            headers=people.mia,
            json={"engine_kind": "note", "version": ref, "expected_revision": 1},
        )
        answers.append((ref, resp.status_code, resp.json()))

    threads = [threading.Thread(target=deploy, args=(ref,)) for ref in refs[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(code for _, code, _ in answers) == [201, 409], answers
    (winner,) = [ref for ref, code, _ in answers if code == 201]
    (loser,) = [body for _, code, body in answers if code == 409]
    assert loser["error"]["code"] == "registry_conflict"
    shown = client.get(f"/v1/deployments/{dep_id}", headers=people.otto).json()["deployment"]
    assert shown["stable"] == winner and shown["revision"] == 2
    assert shown["retired"] == [refs[0]]


def test_production_at_answers_for_a_time_between_two_deploys(client, people, db, settings, clock):
    with db.transaction() as s:
        v1 = make_ref(s, "note-rules", "note", {"note_engine": "rules"})
        v2 = make_ref(s, "note-rules", "note", {"note_engine": "rules"})
        v3 = make_ref(s, "note-rules", "note", {"note_engine": "rules"})
    t0 = clock.now()
    deployments.deploy(db, settings, SYSTEM, engine_kind="note", version_ref=v1)
    clock.advance(hours=1)
    deployments.deploy(db, settings, SYSTEM, engine_kind="note", version_ref=v2)
    clock.advance(hours=1)
    # A tenant of its own from here on: the most specific deployment wins for it.
    deployments.deploy(db, settings, SYSTEM, engine_kind="note", version_ref=v3, tenant="clinic-x")

    def at(when, tenant="clinic-x"):
        return client.get(
            "/v1/deployments/production-at",
            headers=people.otto,
            params={"engine_kind": "note", "tenant": tenant, "at": when.isoformat()},
        )

    between = at(t0 + timedelta(minutes=30)).json()
    assert between["stable"] == v1 and between["deployment_tenant"] == "*"
    assert at(t0 + timedelta(minutes=90)).json()["stable"] == v2
    later = at(t0 + timedelta(hours=3)).json()
    assert later["stable"] == v3 and later["deployment_tenant"] == "clinic-x"
    assert at(t0 + timedelta(hours=3), tenant="clinic-y").json()["stable"] == v2
    r = at(t0 - timedelta(minutes=1))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_an_incident_is_closed_with_its_resolution_once(client, people, db, blobs):
    with db.transaction() as s:
        good = make_ref(s, "whisper-tiny", "asr", TINY)
        bad = make_ref(s, "whisper-tiny", "asr", BROKEN, blobs=blobs)
    dep = client.post(
        "/v1/deployments", headers=people.mia, json={"engine_kind": "asr", "version": good}
    ).json()
    r = client.post(
        "/v1/deployments", headers=people.mia, json={"engine_kind": "asr", "version": bad}
    )
    assert r.status_code == 409, r.text
    url = f"/v1/deployments/{dep['id']}/incidents"
    (incident,) = client.get(url, headers=people.otto).json()["items"]
    assert incident["status"] == "open"
    close = f"{url}/{incident['id']}/close"

    body = {"resolution": "INC-7: the upload was a truncated conversion; re-exported"}
    assert client.post(close, headers=people.otto, json=body).status_code == 403  # ops reads
    r = client.post(close, headers=people.mia, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert r.json()["detail"]["resolution"] == body["resolution"]
    assert r.json()["detail"]["closed_by"].endswith("mia")
    (shown,) = client.get(url, headers=people.otto).json()["items"]
    assert shown["status"] == "closed"

    again = client.post(close, headers=people.mia, json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    missing = client.post(f"{url}/{'0' * 32}/close", headers=people.mia, json=body)
    assert missing.status_code == 404
    with db.session() as s:
        actions = s.execute(select(AuditEvent.action)).scalars().all()
    assert actions.count("model.incident.close") == 1
