"""Through the front door (audio posted over HTTP, the worker, the FHIR bundle): a drug the
patient takes and the doctor then stops reaches the EMR as one MedicationStatement, stopped,
with the dose it was taken at; not an active statement beside a stopped one with no dose
(a contradiction in one bundle). A glucose said in mmol/L arrives as an Observation.
"""

from __future__ import annotations

from tests.engines.asr.conftest import needs_speech_tools, say
from tests.support import scribe_api
from tests.support.scribe_api import post_clip

db_url, client = scribe_api.db_url, scribe_api.client

pytestmark = needs_speech_tools

TURNS = [
    (
        "en-us+m3",
        165,
        "You take metformin five hundred milligrams twice a day. Your blood glucose is five "
        "point six. We will stop the metformin today.",
    ),
    ("en-gb+f4", 165, "Thank you doctor."),
]


def test_a_stopped_drug_is_one_stopped_statement_with_its_dose(client, db, run_jobs, tmp_path):
    _auth, _job, bundle = post_clip(client, db, run_jobs, say(tmp_path, TURNS))
    resources = [e["resource"] for e in bundle["entry"]]
    statements = [r for r in resources if r["resourceType"] == "MedicationStatement"]
    metformin = [
        s for s in statements if "metformin" in s["medicationCodeableConcept"]["text"].lower()
    ]
    assert len(metformin) == 1, statements
    (stmt,) = metformin
    assert stmt["status"] == "stopped"
    dose = stmt["dosage"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["code"]) == (500, "mg")
    glucose = [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and any(c.get("code") == "15074-8" for c in r["code"]["coding"])
    ]
    assert [(g["valueQuantity"]["value"], g["valueQuantity"]["code"]) for g in glucose] == [
        (5.6, "mmol/L")
    ]
