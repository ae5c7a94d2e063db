"""A drug the scribe cannot read, through the front door: audio posted over HTTP, the worker,
and the FHIR bundle (issue 11: a garbled drug name took its whole order out of the note
without a trace). "Tolterodine" is a real drug outside the scribe's lexicon: whatever the
recogniser writes for it, the dose and schedule said with it must reach the bundle as a
Composition section "Not read by the scribe", never vanish, and never become a medication.
"""

from __future__ import annotations

import re

from carepipe.interop.fhir.scribe import UNREAD_SECTION_TITLE
from tests.engines.asr.conftest import needs_speech_tools, say
from tests.support import scribe_api
from tests.support.scribe_api import post_clip

# SQLite only, and a request limit that fits consultation audio (tests/support/scribe_api.py).
db_url, client = scribe_api.db_url, scribe_api.client

pytestmark = needs_speech_tools

TURNS = [
    (
        "en-us+m3",
        170,
        "Your blood pressure is one twenty four over seventy eight. For the bladder, "
        "start tolterodine two milligrams twice daily.",
    ),
    ("en-gb+f4", 170, "Thank you doctor."),
]


def test_a_drug_the_scribe_cannot_read_is_named_in_the_bundle(client, db, run_jobs, tmp_path):
    auth, job_id, bundle = post_clip(client, db, run_jobs, say(tmp_path, TURNS))
    note = client.get(f"/v1/jobs/{job_id}", headers=auth).json()["result"]["note"]
    assert note["unread"] == 1 and "medication_unread" in note["flags"]
    resources = [e["resource"] for e in bundle["entry"]]
    assert not [x for x in resources if x["resourceType"].startswith("Medication")]
    (composition,) = [x for x in resources if x["resourceType"] == "Composition"]
    (section,) = [s for s in composition["section"] if s["title"] == UNREAD_SECTION_TITLE]
    said = section["text"]["div"]
    # What the recogniser writes for "two" varies by host and decoder ("2", "20").
    assert re.search(r"\d+ milligrams,? twice daily", said), said
    # The vitals said in the same turn still arrive.
    assert [x for x in resources if x["resourceType"] == "Observation"]
