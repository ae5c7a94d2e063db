"""Issue 11's examples that came from audio, spoken with espeak-ng and run through the real
scribe stage logic (ASR with biasing -> corrections -> note -> assessment).

One clip holds them all (one ASR run for the module). Drug names must come through; a
number that does not come through right must never reach the note unflagged.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from carepipe.core.config import Settings
from carepipe.engines.notes.models import SoapNote
from carepipe.pipelines.scribe import draft_note, transcribe

SCRIPT = [
    ("en-us", "I'll start amlodipine five milligrams once a day."),
    ("en-gb", "Carry on with metformin five hundred milligrams twice a day."),
    ("en-us", "Use albuterol, two puffs every four hours as needed."),
    ("en-gb", "And atorvastatin forty milligrams at night."),
    ("en-us", "For the pain, paracetamol six fifty milligrams three times a day."),
    ("en-gb", "Your blood pressure is one eighteen over seventy six."),
    ("en-us", "Your temperature is one hundred and one fahrenheit."),
    ("en-gb", "Earlier it was one sixty four over ninety eight, and your heart rate is one ten."),
]
pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.fixture(scope="module")
def note(tmp_path_factory) -> SoapNote:
    tmp = tmp_path_factory.mktemp("say")
    parts = []
    for i, (voice, text) in enumerate(SCRIPT):
        raw = tmp / f"{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(raw), text], check=True)
        parts.append(str(raw))
    clip = tmp / "clip.wav"
    # -R -D: repeatable, no dither (dither is random: the clip would differ run to run).
    subprocess.run(["sox", "-R", "-D", *parts, "-r", "16000", "-c", "1", str(clip)], check=True)
    settings = Settings(_env_file=None, data_dir=tmp)  # type: ignore[call-arg]
    t = transcribe(settings, "demo", clip.read_bytes())
    return draft_note(settings, t)


# Known gaps (docs/scribe.md): on this clip (made without dither, so it is the same clip on
# every run) espeak's "albuterol" is heard as "lbURl" and "atorvastatin" as
# "natatonastatin" even with biasing; the correction does not reach them (too far from the
# name, or a closer-sounding wrong drug). Strict: a fix turns these green.
_GAPS = {"albuterol", "atorvastatin"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="known ASR gap"))
        if n in _GAPS
        else n
        for n in ("metformin", "albuterol", "atorvastatin")
    ],
)
def test_drug_names_survive_recognition(note, name):
    assert name in {m.name for m in note.medications}, note.text


def test_a_borderline_drug_name_is_heard_or_its_dose_goes_nowhere(note):
    """ "amlodipine" flips with the host's CPU: lost before 2026-11-27, heard on the hosts of
    2026-11-27 and the morning of 2026-11-28, lost ("iLSTR 10.55mg") on the AMX host of
    2026-11-28 afternoon (kernels capped or not), heard on the AVX2-only AMD host of
    2026-11-28 evening. Whichever way the word goes, its "five milligrams" must never be
    given to another drug in the note."""
    five_mg = [m.name for m in note.medications if m.dose == 5 and m.dose_unit == "mg"]
    assert set(five_mg) <= {"amlodipine"}, note.text


def _right_or_flagged(item, right: bool) -> bool:
    return right or item.needs_review


def test_six_fifty_milligrams_is_right_or_flagged(note):
    meds = [m for m in note.medications if m.name == "acetaminophen"]
    assert meds, note.text
    assert all(_right_or_flagged(m, m.dose == 650 and m.dose_unit == "mg") for m in meds)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("blood_pressure", {"118/76", "164/98"}), ("temperature", {"101"}), ("heart_rate", {"110"})],
)
def test_spoken_vitals_are_right_or_flagged(note, kind, expected):
    items = [v for v in note.vitals if v.kind == kind]
    assert items, note.text
    for v in items:
        assert _right_or_flagged(v, v.value_text in expected), (v.value_text, note.text)
