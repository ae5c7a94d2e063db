"""A drug the scribe could not read, in the clinician's review over HTTP: the review shows
the words that were said as an item to decide (approval waits for it), the clinician adds
the medication that was meant, accepts the words and approves, and
the bundle carries that medication and no longer the "Not read by the scribe" section
(issue 11: a garbled drug name once took its whole order out of the note without a trace).
"""

from __future__ import annotations

import re

from sqlalchemy import delete

from carepipe.interop.fhir.scribe import UNREAD_SECTION_TITLE
from carepipe.review.models import ReviewItem
from tests.engines.asr.conftest import needs_speech_tools, say
from tests.review.conftest import accept_flagged_and_approve
from tests.support.console_http import sign_in
from tests.support.orders_api import resources

pytestmark = needs_speech_tools

TURNS = [
    ("en-us+m3", 170, "For the bladder, start tolterodine two milligrams twice daily."),
    ("en-gb+f4", 170, "Thank you doctor."),
]


def test_the_reviewer_sees_what_was_not_read_and_adds_it(
    client, people, held, run_jobs, settings, tmp_path
):
    job_id, rid = held(say(tmp_path, TURNS))
    detail = client.get(f"/v1/reviews/{rid}", headers=people.cara).json()
    assert "medication_unread" in detail["note_flags"]
    (said,) = detail["unread"]
    # What the recogniser wrote for the dose varies by host and decoder ("2", "20", "two").
    assert re.search(r"(?:\d+|two|twenty) milligrams,? twice daily", said), said
    assert not [i for i in detail["items"] if i["kind"] == "medication"]
    # The words are an item that must be decided, with the recording of where they were said.
    (item,) = [i for i in detail["items"] if i["kind"] == "unread"]
    assert item["id"] == "unread-0" and item["display"] == said
    assert item["flagged"] and item["decision"] == "pending"
    assert "medication_unread" in item["reasons"] and item["evidence"]
    # The review page says it too, with the words, and offers the decision.
    sign_in(client, "cara", "a long test password 1")
    page = client.get(f"/console/reviews/{rid}")
    assert page.status_code == 200
    assert "not read by the scribe" in page.text and said in page.text
    assert 'data-item-id="unread-0"' in page.text
    assert f"/console/reviews/{rid}/items/unread-0/decision" in page.text
    # The words are not edited into something else: the clinician adds what was meant.
    r = client.post(
        f"/v1/reviews/{rid}/items/unread-0",
        headers=people.cara,
        json={"decision": "edit", "base_version": detail["version"], "fields": {"text": "x"}},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed", r.text

    r = client.put(
        f"/v1/reviews/{rid}",
        headers=people.cara,
        json={
            "base_version": detail["version"],
            "items": [
                {
                    "kind": "medication",
                    "fields": {"name": "tolterodine", "dose": 2, "dose_unit": "mg"},
                }
            ],
        },
    )
    assert r.status_code == 200, r.text
    saved = r.json()
    # Adding the medication does not settle the words: approval waits for a decision on them.
    r = client.post(
        f"/v1/reviews/{rid}/approve", headers=people.cara, json={"base_version": saved["version"]}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "review_flagged", r.text
    assert "unread-0" in r.json()["error"]["details"]["open_items"]
    accept_flagged_and_approve(client, people.cara, rid, saved["version"], saved["items"])

    (job,) = run_jobs([job_id], timeout=120, settings_override=settings)
    assert job.status == "succeeded", job.error_message
    bundle = client.get(f"/v1/jobs/{job_id}/bundle", headers=people.partner_a).json()
    (statement,) = resources(bundle, "MedicationStatement")
    assert "tolterodine" in statement["medicationCodeableConcept"]["text"].lower()
    (composition,) = resources(bundle, "Composition")
    assert composition["status"] == "final"
    assert UNREAD_SECTION_TITLE not in [s["title"] for s in composition["section"]]


def test_a_review_opened_before_unread_words_were_items(client, people, held, db, tmp_path):
    # Reviews waiting when this version was deployed have no row for their unread words:
    # approval never waited for them, so they are not shown as flagged, yet can be decided.
    _job_id, rid = held(say(tmp_path, TURNS))
    with db.transaction() as s:
        s.execute(
            delete(ReviewItem).where(ReviewItem.review_id == rid, ReviewItem.item_id == "unread-0")
        )
    detail = client.get(f"/v1/reviews/{rid}", headers=people.cara).json()
    (item,) = [i for i in detail["items"] if i["kind"] == "unread"]
    assert not item["flagged"] and item["decision"] == "pending"
    r = client.post(
        f"/v1/reviews/{rid}/items/unread-0",
        headers=people.cara,
        json={"decision": "reject", "base_version": detail["version"]},
    )
    assert r.status_code == 200, r.text
    (item,) = [i for i in r.json()["items"] if i["kind"] == "unread"]
    assert item["decision"] == "rejected" and item["removed"]
