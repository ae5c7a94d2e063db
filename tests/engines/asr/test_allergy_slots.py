"""Allergen slots rescored by forced alignment on the real Whisper model (espeak-ng clips).

The short patient answers to "Any allergies?" are the words the recogniser loses most
("Codeine makes me vomit" heard "Code I makes me vomit" on the dev split of the scribe
evaluation). The rescoring asks the decoder which allergen or drug name the audio of the
answer supports. The clips are dev-split sentences spoken in the same voices and speeds.

What a host's int8 kernels decide (whether "codeine" is heard at all) differs between CPUs
(docs/scribe.md, "Reproducible"), so the tests assert what must hold either way: the allergy
reaches the note, and a changed word always says so; and, on a transcript misheard the way
the dev split was, the audio itself picks codeine.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from carepipe.core.config import Settings
from carepipe.engines.asr import Transcript, slot_rescoring
from carepipe.engines.asr.slot_rescoring import score_slots, with_rescoring
from carepipe.engines.asr.types import Segment, Word
from carepipe.pipelines.scribe import draft_note, transcribe
from tests.engines.asr.conftest import needs_speech_tools, say

pytestmark = needs_speech_tools

# dev e10: the doctor's last words before the question, and the patient's answer.
CODEINE = [
    (
        "en-us+m3",
        177,
        "Your blood pressure is one twenty four over seventy eight. Any drug allergies?",
    ),
    ("en-gb+f4", 172, "Codeine makes me vomit."),
]
# Substances no lexicon knows, said where an allergen is expected (on the host of
# 2026-11-29 "penguins" was heard "and wins" and scored against peanuts, nuts, almonds).
NOT_ALLERGENS = ["Penguins make me vomit.", "Perfume makes me wheeze."]
NONE = [("en-us+m3", 177, "Any drug allergies?"), ("en-gb+f4", 172, "Not that I know of.")]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("allergy")
    return Settings(_env_file=None, data_dir=tmp, asr_rescore_slots=True)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def codeine_audio(tmp_path_factory) -> bytes:
    return say(tmp_path_factory.mktemp("say"), CODEINE)


@pytest.fixture(scope="module")
def codeine(settings, codeine_audio) -> Transcript:
    return transcribe(settings, "demo", codeine_audio)


def _misheard(t: Transcript, heard: list[str]) -> Transcript:
    """``t`` with the answer's words before "make(s)" replaced by ``heard`` over the same
    seconds: the recogniser's mistake of the dev split, on this host's own timestamps."""
    words = [w for s in t.segments for w in s.words]
    asked = max(i for i, w in enumerate(words) if "allerg" in w.text.lower())
    verb = next(i for i, w in enumerate(words) if i > asked and re.match(r"\s*make", w.text, re.I))
    assert verb > asked + 1, "the answer's first words were not heard at all"
    t0, t1 = words[asked + 1].start, words[verb - 1].end
    step = (t1 - t0) / len(heard)
    new = [
        Word(round(t0 + i * step, 3), round(t0 + (i + 1) * step, 3), " " + h, 0.5)
        for i, h in enumerate(heard)
    ]
    words = [*words[: asked + 1], *new, *words[verb:]]
    text = "".join(w.text for w in words).strip()
    segment = Segment.from_logprob(words[0].start, words[-1].end, text, -0.4, words=tuple(words))
    return replace(t, text=text, segments=[segment], extra={**t.extra, "rescored": []})


def test_the_allergy_said_in_the_answer_reaches_the_note(settings, codeine):
    note = draft_note(settings, codeine)
    assert [a.substance for a in note.allergies] == ["codeine"]
    (allergy,) = note.allergies
    if "codeine" not in codeine.text.lower():
        # Heard otherwise and chosen by the decoder: never silent.
        assert "asr_corrected:rescored" in allergy.flags
        assert allergy.needs_review
        assert any(c["kind"] == "rescored" for c in note.corrections)


def test_the_audio_picks_codeine_for_the_misheard_answer(settings, codeine, codeine_audio):
    misheard = _misheard(codeine, ["Code", "I"])
    assert "Code I makes" in misheard.text
    scored = score_slots(settings, "demo", codeine_audio, misheard)
    assert scored is not None
    (proposal,) = with_rescoring(misheard, scored).extra["rescored"]
    assert proposal["original"] == "Code I"
    assert proposal["canonical"] == "codeine"
    assert proposal["evidence"]["cue"] in slot_rescoring.ALLERGEN_CUES
    assert proposal["evidence"]["lead"] >= slot_rescoring.MIN_LEAD
    note = draft_note(settings, with_rescoring(misheard, scored))
    (allergy,) = note.allergies
    assert allergy.substance == "codeine"
    assert allergy.reaction == "vomiting"
    assert "asr_corrected:rescored" in allergy.flags and allergy.needs_review


@pytest.mark.parametrize("answer", NOT_ALLERGENS)
def test_a_substance_no_lexicon_knows_is_not_turned_into_one(settings, tmp_path, answer):
    t = transcribe(settings, "demo", say(tmp_path, [CODEINE[0], ("en-gb+f4", 172, answer)]))
    # Whatever the recogniser made of it, the audio supports no allergen there.
    assert t.extra["rescored"] == []
    assert draft_note(settings, t).allergies == []


def test_a_negative_answer_has_no_slot(settings, tmp_path):
    audio = say(tmp_path, NONE)
    t = transcribe(settings, "demo", audio)
    scored = score_slots(settings, "demo", audio, t)
    assert scored is not None
    assert [w for w in scored["windows"] if w["cue"] in slot_rescoring.ALLERGEN_CUES] == []
    note = draft_note(settings, t)
    assert note.allergies == []
