"""A name the recogniser chose by sound on a telephone recording goes to review (issue 11:
items at confidence >= 0.9 must be right in every condition; docs/scribe.md, 2026-11-29).

On a call the recogniser loses the consonants that tell sound-alike names apart: on dev
e48's call "I'm allergic to clopidogrel" was heard "the club in general" and rescored to
calamine at confidence 0.95. The clip here is that answer (in e48's patient voice and speed,
espeak-ng) after a question, sent through a telephone band with sox and posted over HTTP. On
the host of 2026-11-29 the second pass, offered clopidogrel, calamine and clonidine for how
the slot sounded, wrote "clonidine"; whatever name the decoder chose, a wrong allergen must
reach the bundle marked for review, never as a trusted allergy.
"""

from __future__ import annotations

import subprocess

from tests.engines.asr.conftest import needs_speech_tools, say
from tests.support import scribe_api
from tests.support.scribe_api import post_clip

# SQLite only, and a request limit that fits consultation audio (tests/support/scribe_api.py).
db_url, client = scribe_api.db_url, scribe_api.client

pytestmark = needs_speech_tools

SAID = "clopidogrel"
TURNS = [
    (
        "en-us+m3",
        177,
        "Your blood pressure is one twenty four over seventy eight. Any drug allergies?",
    ),
    ("en+f5", 158, f"I'm allergic to {SAID}, I got a rash."),
]


def _telephone(tmp_path, audio: bytes) -> bytes:
    room, phone = tmp_path / "room.wav", tmp_path / "phone.wav"
    room.write_bytes(audio)
    subprocess.run(
        ["sox", "-R", "-D", str(room), "-r", "8000", str(phone), "sinc", "300-3400"],
        check=True,
        capture_output=True,
    )
    return phone.read_bytes()


def test_an_allergen_chosen_by_sound_on_a_call_is_never_trusted(client, db, run_jobs, tmp_path):
    phone = _telephone(tmp_path, say(tmp_path, TURNS))
    auth, job_id, bundle = post_clip(client, db, run_jobs, phone)
    asr = client.get(f"/v1/jobs/{job_id}", headers=auth).json()["result"]["asr"]
    assert asr["narrowband"] is True
    resources = [e["resource"] for e in bundle["entry"]]
    allergies = [x for x in resources if x["resourceType"] == "AllergyIntolerance"]
    for allergy in allergies:
        if allergy["code"]["text"].lower() == SAID:
            continue
        # A wrong allergen: held for review, with the telephone line named as the reason.
        notes = " ".join(n["text"] for n in allergy.get("note", []))
        assert notes.startswith("Needs review (CarePipe scribe)"), allergy["code"]["text"]
        assert "narrowband_audio" in notes
