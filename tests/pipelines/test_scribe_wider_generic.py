"""A generic outside the scribe's recognition vocabulary, heard right, through the front door:
audio posted over HTTP, the worker, the FHIR bundle. "Tetracycline" is on the wider list
read by exact spelling only (``lexicon/wider_medications.py``): before it, the order was
reported as "Not read by the scribe"; now it is a MedicationStatement with its dose, coded
as text (no RxNorm code is claimed for the wider list)."""

from __future__ import annotations

from carepipe.interop.fhir.scribe import UNREAD_SECTION_TITLE
from tests.engines.asr.conftest import needs_speech_tools, say
from tests.support import scribe_api
from tests.support.scribe_api import post_clip

# SQLite only, and a request limit that fits consultation audio (tests/support/scribe_api.py).
db_url, client = scribe_api.db_url, scribe_api.client

pytestmark = needs_speech_tools

TURNS = [
    ("en-us+m3", 170, "For the acne, start tetracycline five hundred milligrams twice daily."),
    ("en-gb+f4", 170, "Thank you doctor."),
]


def test_a_wider_generic_heard_right_reaches_the_bundle(client, db, run_jobs, tmp_path):
    auth, job_id, bundle = post_clip(client, db, run_jobs, say(tmp_path, TURNS))
    resources = [e["resource"] for e in bundle["entry"]]
    (statement,) = [x for x in resources if x["resourceType"] == "MedicationStatement"]
    concept = statement["medicationCodeableConcept"]
    assert concept["text"].lower().startswith("tetracycline")
    assert not concept.get("coding")
    dose = statement["dosage"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["unit"]) == (500, "mg")
    (composition,) = [x for x in resources if x["resourceType"] == "Composition"]
    assert UNREAD_SECTION_TITLE not in [s["title"] for s in composition["section"]]
    note = client.get(f"/v1/jobs/{job_id}", headers=auth).json()["result"]["note"]
    assert note["unread"] == 0
