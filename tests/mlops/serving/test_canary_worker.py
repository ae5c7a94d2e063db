"""Canary and rollback with real scribe jobs (``POST /v1/jobs``, Whisper tiny.en on a
4-second clip) and one worker kept running throughout, on both databases.

- A canary of an uploaded version whose model cannot load (weights that are not weights):
  its jobs fail, the scheduler's analysis aborts it, and the next jobs, even those whose
  key fell in the canary, run on the stable version: the registry version recorded on
  each transcript shows it.
- A canary that works but is several times slower (base, beam 5, second pass) is aborted
  on its p99 latency against the stable arm's, with the same outcome.
- A rollback reaches the running worker: the next job runs on the rolled-back version.
"""

from __future__ import annotations

from carepipe.ops.scheduler import Scheduler, canary_jobs
from tests.mlops.factories import BROKEN, TINY, make_ref
from tests.mlops.serving.jobs import keys_in, settle, submit, transcript_of, worker  # noqa: F401
from tests.support.waiting import wait_until

FAST_ANALYSIS = {"interval_seconds": 0, "min_jobs": 2, "failure_limit": 1}


def _deploy_with_canary(client, people, stable: str, canary: str, analysis: dict) -> str:
    """Deploy ``stable``, start a 50 % canary of ``canary``; the deployment id."""
    r = client.post(
        "/v1/deployments", headers=people.mia, json={"engine_kind": "asr", "version": stable}
    )
    assert r.status_code == 201, r.text
    dep_id = r.json()["id"]
    r = client.post(
        f"/v1/deployments/{dep_id}/canary",
        headers=people.mia,
        json={"version": canary, "steps": [50, 100], "analysis": analysis},
    )
    assert r.status_code == 200, r.text
    assert r.json()["canary"] == canary and r.json()["canary_percent"] == 50
    return dep_id


def _await_abort(client, people, db, dep_id: str) -> dict:
    """Run the scheduler's canary job (what ``carepipe up``/``worker`` run) until the
    analysis has aborted the canary; the deployment as the API shows it then."""
    scheduler = Scheduler(canary_jobs(db)).start()
    try:
        return wait_until(
            lambda: (
                (d := client.get(f"/v1/deployments/{dep_id}", headers=people.otto).json())[
                    "deployment"
                ]["canary"]
                is None
                and d
            ),
            timeout=30,
            what="the analysis to abort the canary",
        )
    finally:
        scheduler.stop()


def test_a_failing_canary_is_aborted_by_the_analysis_and_the_next_jobs_run_on_stable(
    client,
    people,
    db,
    blobs,
    worker,  # noqa: F811
):
    with db.transaction() as s:
        stable = make_ref(s, "whisper-tiny", "asr", TINY)
        bad = make_ref(s, "whisper-tiny", "asr", BROKEN, blobs=blobs)
    dep_id = _deploy_with_canary(client, people, stable, bad, FAST_ANALYSIS)

    canary_keys = keys_in("canary", 50, 4, "c")
    stable_keys = keys_in("stable", 50, 2, "s")
    first = {k: submit(client, people.partner, k) for k in canary_keys[:2] + stable_keys}
    settle(db, list(first.values()))
    for key in canary_keys[:2]:
        assert transcript_of(db, first[key]) is None  # the canary's model never loaded
    for key in stable_keys:
        art = transcript_of(db, first[key])
        assert art.data["registry_version"] == stable and art.data["arm"] == "stable"

    live = client.get(f"/v1/deployments/{dep_id}", headers=people.otto).json()
    arms = {a["arm"]: a for a in live["arms"]}
    assert arms["canary"]["jobs"] >= 2 and arms["canary"]["success_rate"] == 0.0
    assert arms["stable"]["success_rate"] == 1.0

    shown = _await_abort(client, people, db, dep_id)
    assert shown["deployment"]["canary_percent"] == 0 and shown["deployment"]["status"] == "stable"
    decision = shown["decisions"][0]
    assert decision["verdict"] == "fail" and decision["action"] == "abort"
    assert "success rate" in decision["reasons"][0]
    incidents = client.get(f"/v1/deployments/{dep_id}/incidents", headers=people.otto).json()
    assert incidents["items"][0]["kind"] == "canary_aborted"

    # Keys that fell in the canary before now run on the stable version.
    later = [submit(client, people.partner, k) for k in canary_keys[2:]]
    for job in settle(db, later):
        assert job.result["asr"]["registry_version"] == stable
        assert job.result["asr"]["arm"] == "stable"
        assert transcript_of(db, job.id).data["registry_version"] == stable


def test_a_rollback_is_used_by_the_next_job_without_restarting_the_worker(
    client,
    people,
    db,
    worker,  # noqa: F811
):
    with db.transaction() as s:
        v1 = make_ref(s, "whisper-tiny", "asr", TINY)
        v2 = make_ref(s, "whisper-tiny", "asr", {**TINY, "asr_prompt": "clinical"})
    for v in (v1, v2):
        r = client.post(
            "/v1/deployments", headers=people.mia, json={"engine_kind": "asr", "version": v}
        )
        assert r.status_code == 201, r.text
    dep_id = r.json()["id"]
    (job,) = settle(db, [submit(client, people.partner, "before")])
    assert job.result["asr"]["registry_version"] == v2

    targets = client.get(f"/v1/deployments/{dep_id}/rollback-targets", headers=people.otto).json()
    assert [t["version"] for t in targets["items"]] == [v1]
    r = client.post(
        f"/v1/deployments/{dep_id}/rollback", headers=people.mia, json={"reason": "WER up"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["rolled_back_to"] == v1 and r.json()["rolled_back_from"] == v2

    (job,) = settle(db, [submit(client, people.partner, "after")])
    assert worker.stopped.is_set() is False  # the same worker, never restarted
    assert job.result["asr"]["registry_version"] == v1
    assert transcript_of(db, job.id).data["registry_version"] == v1
    incidents = client.get(f"/v1/deployments/{dep_id}/incidents", headers=people.otto).json()
    assert incidents["items"][0]["kind"] == "rollback"


#: Worse for real: Whisper base with a wide beam and the second, drug-biased pass on every
#: clip, against tiny.en greedy; same audio, several times the latency.
SLOW = {"asr_model": "base", "asr_beam_size": 5, "asr_contextual_pass": True}
LATENCY_ANALYSIS = {
    "interval_seconds": 0,
    "min_jobs": 2,
    "failure_limit": 1,
    "min_success_rate": 0.0,  # only latency is judged here
    "max_p99_factor": 1.5,
    "p99_margin_ms": 100,
}


def test_a_slower_canary_is_aborted_on_latency_and_the_next_jobs_run_on_stable(
    client,
    people,
    db,
    worker,  # noqa: F811
):
    with db.transaction() as s:
        stable = make_ref(s, "whisper-tiny", "asr", TINY)
        slow = make_ref(s, "whisper-base", "asr", SLOW)
    dep_id = _deploy_with_canary(client, people, stable, slow, LATENCY_ANALYSIS)

    canary_keys = keys_in("canary", 50, 3, "lc")
    stable_keys = keys_in("stable", 50, 2, "ls")
    first = {k: submit(client, people.partner, k) for k in canary_keys[:2] + stable_keys}
    for job in settle(db, list(first.values())):
        assert job.status == "succeeded"  # the canary works: it is only slower
    for key in canary_keys[:2]:
        assert transcript_of(db, first[key]).data["registry_version"] == slow

    shown = _await_abort(client, people, db, dep_id)
    decision = shown["decisions"][0]
    assert decision["verdict"] == "fail" and decision["action"] == "abort"
    assert any("p99" in reason for reason in decision["reasons"]), decision

    (job,) = settle(db, [submit(client, people.partner, canary_keys[2])])
    assert job.result["asr"]["registry_version"] == stable
    assert job.result["asr"]["arm"] == "stable"
