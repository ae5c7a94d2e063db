"""A canary of a good note version walks its steps on real scribe jobs (``POST /v1/jobs``,
a running worker), on both databases: no jobs -> "insufficient data" (hold); paused -> not
analysed; jobs on both arms -> next step; the last step -> promoted, the old stable retired
until confirmed, then gone from the rollback targets. Each job's result names the note
version and arm that served it."""

from __future__ import annotations

from carepipe.mlops.canary import analyse_due
from tests.mlops.factories import make_ref
from tests.mlops.serving.jobs import keys_in, settle, submit, worker  # noqa: F401

RULES = {"note_engine": "rules"}


def test_a_good_canary_advances_step_by_step_and_is_promoted(client, people, db, settings, worker):  # noqa: F811
    with db.transaction() as s:
        old = make_ref(s, "note-rules", "note", RULES)
        new = make_ref(s, "note-rules", "note", RULES)
    r = client.post(
        "/v1/deployments", headers=people.mia, json={"engine_kind": "note", "version": old}
    )
    dep_id = r.json()["id"]
    r = client.post(
        f"/v1/deployments/{dep_id}/canary",
        headers=people.mia,
        json={
            "version": new,
            "steps": [50, 100],
            # Two jobs an arm make a p99 of one job, and the first job of a loaded host
            # also pays for warming the engine: the latency judgement is tested with
            # enough jobs in test_canary_worker.py, not here.
            "analysis": {"interval_seconds": 0, "min_jobs": 2, "max_p99_factor": None},
        },
    )
    assert r.status_code == 200, r.text

    # No jobs yet: the analysis holds and says why.
    (decision,) = analyse_due(db, settings)
    assert decision["verdict"] == "insufficient_data" and decision["action"] == "hold"
    assert "0 canary jobs < 2" in decision["reasons"][0]

    # Paused: not analysed; resumed: analysed again.
    assert (
        client.post(f"/v1/deployments/{dep_id}/canary/pause", headers=people.mia).json()["status"]
        == "paused"
    )
    assert analyse_due(db, settings) == []
    assert (
        client.post(f"/v1/deployments/{dep_id}/canary/resume", headers=people.mia).json()["status"]
        == "canary"
    )

    keys = keys_in("canary", 50, 2, "n") + keys_in("stable", 50, 2, "m")
    jobs = settle(db, [submit(client, people.partner, k) for k in keys])
    served = [(j.result["note"]["registry_version"], j.result["note"]["arm"]) for j in jobs]
    assert served == [(new, "canary")] * 2 + [(old, "stable")] * 2

    (decision,) = analyse_due(db, settings)
    assert (decision["verdict"], decision["action"]) == ("pass", "advance"), decision
    shown = client.get(f"/v1/deployments/{dep_id}", headers=people.otto).json()
    assert shown["deployment"]["canary_percent"] == 100 and shown["step"] == 1
    # A new step: the arms start counting afresh.
    assert {a["arm"]: a["jobs"] for a in shown["arms"]} == {"stable": 0, "canary": 0}

    jobs = settle(db, [submit(client, people.partner, k) for k in ("p-1", "p-2")])
    assert {j.result["note"]["registry_version"] for j in jobs} == {new}
    (decision,) = analyse_due(db, settings)
    assert decision["action"] == "promote"
    shown = client.get(f"/v1/deployments/{dep_id}", headers=people.otto).json()["deployment"]
    assert shown["stable"] == new and shown["canary"] is None and shown["retired"] == [old]
    targets = client.get(f"/v1/deployments/{dep_id}/rollback-targets", headers=people.otto).json()
    assert [(t["version"], t["source"]) for t in targets["items"]] == [(old, "retired")]

    r = client.post(
        f"/v1/deployments/{dep_id}/retired/confirm", headers=people.mia, json={"version": old}
    )
    assert r.status_code == 200 and r.json()["retired"] == []
    events = client.get(f"/v1/deployments/{dep_id}/events", headers=people.otto).json()["items"]
    assert [e["action"] for e in reversed(events)] == [
        "deploy",
        "canary_start",
        "canary_analysis",
        "canary_pause",
        "canary_resume",
        "canary_step",
        "canary_analysis",
        "canary_promote",
        "decommission",
    ]
