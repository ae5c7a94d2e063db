"""A clinician's review over ``/v1/reviews``, on a real scribe job held for review, on both
databases: the draft with its evidence, a stale save refused, approval refused while a
flagged item is open, approval resuming the job, the bundle carrying the edit and a
Provenance, and the correction record; tenants and roles kept apart; a return with a reason.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from carepipe.core.models import AuditEvent, Job
from carepipe.review.models import ReviewCorrection
from tests.review.conftest import DATA, accept_flagged_and_approve
from tests.support.orders_api import resources


def test_a_clinician_edits_a_dose_and_approves_and_the_bundle_carries_it(
    client, people, held, run_jobs, settings, db
):
    job_id, rid = held("c01.wav")
    page = client.get("/v1/reviews", headers=people.cara).json()
    row = next(r for r in page["items"] if r["id"] == rid)
    assert row["tenant"] == "clinic-a" and row["status"] == "waiting" and row["version"] == 1
    assert row["flagged_open"] >= 1 and row["overdue"] is False

    detail = client.get(f"/v1/reviews/{rid}", headers=people.cara).json()
    words = detail["words"]
    assert words and all(w["end"] >= w["start"] >= 0 and 0 <= w["probability"] <= 1 for w in words)
    med = next(i for i in detail["items"] if i["kind"] == "medication")
    assert "amlodipine" in med["fields"]["name"].lower() and med["fields"]["dose"] == 5
    # The item shows the transcript words it came from, with their times.
    ev = med["evidence"]
    assert ev and "milligrams" in ev["text"].lower()
    assert words[ev["word_start"]]["start"] == ev["start_seconds"] < ev["end_seconds"]
    flagged = [i for i in detail["items"] if i["flagged"]]
    assert flagged and all(i["decision"] == "pending" and i["reasons"] for i in flagged)

    # One click is refused while a flagged item is undecided.
    r = client.post(f"/v1/reviews/{rid}/approve", headers=people.cara, json={"base_version": 1})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "review_flagged"
    assert {i["id"] for i in flagged} == set(err["details"]["open_items"])

    # Change the dose: version 2.
    r = client.put(
        f"/v1/reviews/{rid}",
        headers=people.cara,
        json={"base_version": 1, "items": [{"item_id": med["id"], "fields": {"dose": 10}}]},
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["version"] == 2
    assert [v["version"] for v in saved["versions"]] == [2, 1]
    assert saved["versions"][0]["actor"] == "user:cara"
    assert next(i for i in saved["items"] if i["id"] == med["id"])["decision"] == "edited"

    # A second reviewer saving on the version they opened gets a conflict, not an overwrite.
    r = client.put(
        f"/v1/reviews/{rid}",
        headers=people.ada,
        json={"base_version": 1, "transcript": "something else entirely"},
    )
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "review_conflict"
    assert "version 2" in err["message"] and "user:cara" in err["message"]
    assert err["details"]["current_version"] == 2 and err["details"]["saved_by"] == "user:cara"
    current = client.get(f"/v1/reviews/{rid}", headers=people.cara).json()
    assert current["transcript"] == current["draft_transcript"] and current["version"] == 2

    diff = client.get(f"/v1/reviews/{rid}/diff", headers=people.cara).json()
    assert diff["items"] == {"added": 0, "removed": 0, "changed": 1} and diff["wer"] == 0.0

    # Decide what is still flagged, then approve.
    version = saved["version"]
    for item in saved["items"]:
        if item["flagged"] and item["decision"] == "pending":
            r = client.post(
                f"/v1/reviews/{rid}/items/{item['id']}",
                headers=people.cara,
                json={"decision": "accept", "base_version": version},
            )
            assert r.status_code == 200, r.text
            version = r.json()["version"]
    r = client.post(
        f"/v1/reviews/{rid}/approve", headers=people.cara, json={"base_version": version}
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["approved_by"] == "user:cara"

    (job,) = run_jobs([job_id], timeout=120, settings_override=settings)
    assert job.status == "succeeded", job.error_message
    assert job.result["review"]["status"] == "approved"
    bundle = client.get(f"/v1/jobs/{job_id}/bundle", headers=people.partner_a).json()
    (statement,) = resources(bundle, "MedicationStatement")
    assert statement["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 10
    assert resources(bundle, "Composition")[0]["status"] == "final"
    (prov,) = resources(bundle, "Provenance")
    verifier = prov["agent"][0]
    assert verifier["type"]["coding"][0]["code"] == "verifier"
    assert verifier["who"]["identifier"]["value"] == "cara"
    comp_url = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Composition"
    )
    assert {"reference": comp_url} in prov["target"]
    assert {e["role"] for e in prov["entity"]} == {"revision", "source"}
    assert "faster-whisper" in json.dumps(prov["agent"][1])

    with db.session() as s:
        corr = s.execute(
            select(ReviewCorrection).where(ReviewCorrection.job_id == job_id)
        ).scalar_one()
        actions = set(
            s.execute(select(AuditEvent.action).where(AuditEvent.target_id == rid)).scalars()
        )
    assert corr.wer == 0.0 and corr.item_edits["totals"] == {"added": 0, "removed": 0, "changed": 1}
    assert corr.item_edits["by_kind"]["medication"]["changed"] == 1
    assert corr.dialect == "en-IN" and corr.model_versions["asr"].startswith("faster-whisper")
    assert corr.audio["duration_seconds"] > 5
    # The approval was counted into the model quality metrics, per ASR model and dialect.
    metrics = client.get("/metrics").text.splitlines()
    wer = [
        line
        for line in metrics
        if line.startswith("carepipe_review_wer_count{")
        and 'dialect="en-IN"' in line
        and f'model_version="{corr.model_versions["asr"]}"' in line
    ]
    assert wer and float(wer[0].split()[-1]) >= 1
    assert {"review.save", "review.decide", "review.approve"} <= actions or {
        "review.save",
        "review.approve",
    } <= actions

    # Approved notes no longer change.
    r = client.put(f"/v1/reviews/{rid}", headers=people.cara, json={"base_version": 99})
    assert r.status_code == 409


def test_tenants_and_roles_are_kept_apart_and_a_return_keeps_the_job_waiting(
    client, people, held, db
):
    job_id, rid = held("c01.wav")
    # Clinician of clinic-b: sees nothing of clinic-a, and an id of clinic-a is a 404.
    assert client.get("/v1/reviews", headers=people.bob).json()["items"] == []
    for method, path, body in (
        ("get", f"/v1/reviews/{rid}", None),
        ("get", f"/v1/reviews/{rid}/audio", None),
        ("get", f"/v1/reviews/{rid}/diff", None),
        ("post", f"/v1/reviews/{rid}/approve", {"base_version": 1}),
        ("put", f"/v1/reviews/{rid}", {"base_version": 1, "transcript": "x"}),
    ):
        r = client.request(method, path, headers=people.bob, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    # The ops role may not read or edit notes.
    assert client.get("/v1/reviews", headers=people.otto).status_code == 403
    r = client.put(
        f"/v1/reviews/{rid}", headers=people.otto, json={"base_version": 1, "transcript": "x"}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    # The partner's API key is not a clinician.
    assert client.get("/v1/reviews", headers=people.partner_a).status_code == 403

    audio = client.get(f"/v1/reviews/{rid}/audio", headers=people.cara)
    assert audio.status_code == 200 and audio.content == (DATA / "c01.wav").read_bytes()
    assert audio.headers["content-type"].startswith("audio/")

    r = client.post(
        f"/v1/reviews/{rid}/return",
        headers=people.cara,
        json={"base_version": 1, "reason": "Dose inaudible; please re-record the plan"},
    )
    assert r.status_code == 200, r.text
    returned = r.json()
    assert returned["status"] == "returned" and returned["version"] == 2
    assert returned["returned_reason"] == "Dose inaudible; please re-record the plan"
    assert returned["returned_by"] == "user:cara"
    with db.session() as s:
        job = s.get(Job, job_id)
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "review.return")
        ).scalar_one()
    assert job.status == "waiting_review" and job.current_stage == "review"
    assert job.result["review"]["status"] == "returned"
    assert event.reason == "Dose inaudible; please re-record the plan"
    assert event.actor == "user:cara" and event.tenant == "clinic-a"
    assert client.get("/v1/reviews", headers=people.cara).json()["items"] == []
    page = client.get("/v1/reviews?status=open", headers=people.cara).json()
    assert [r["id"] for r in page["items"]] == [rid]

    # Restoring version 1 makes the review's content current again as version 3.
    r = client.post(
        f"/v1/reviews/{rid}/restore",
        headers=people.cara,
        json={"base_version": 2, "version": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3 and r.json()["versions"][0]["action"] == "restored"


def test_pushing_an_approved_bundle_twice_stores_one_provenance(
    client, people, held, run_jobs, settings
):
    """A retried or taken-over ``emr`` stage re-sends the bundle: the FHIR server must end
    with one copy of each resource, the approval's Provenance included."""
    import httpx

    from tests.support.fhir_test_server import start_fhir_test_server

    job_id, rid = held("c01.wav")
    detail = client.get(f"/v1/reviews/{rid}", headers=people.cara).json()
    accept_flagged_and_approve(client, people.cara, rid, detail["version"], detail["items"])
    (job,) = run_jobs([job_id], timeout=120, settings_override=settings)
    assert job.status == "succeeded", job.error_message
    bundle = client.get(f"/v1/jobs/{job_id}/bundle", headers=people.partner_a).json()
    assert len(resources(bundle, "Provenance")) == 1

    emr = start_fhir_test_server()
    try:
        for _ in range(2):
            answer = httpx.post(emr.base_url, json=bundle, timeout=10)
            assert answer.status_code == 200, answer.text
        stored = emr.resources()
    finally:
        emr.stop()
    assert len(stored["Provenance"]) == 1
    assert len(stored["Composition"]) == 1
    assert len(stored["MedicationStatement"]) == len(resources(bundle, "MedicationStatement"))
