"""Drug-slot rescoring by forced alignment on the real Whisper model (espeak-ng clips).

The clips are dev-split sentences of the scribe evaluation, spoken in the same voice and
speed: the recogniser mishears "mometasone" as "montasonne" (too far in spelling for the
drug-name correction without a dose), and the rescoring lets the decoder choose it. (On an
AMX host the uncapped int8 kernels heard "mometasone" itself:
:data:`carepipe.engines.asr.device.CPU_KERNEL_CAP`.)
"""

from __future__ import annotations

import pytest

from carepipe.core.config import Settings
from carepipe.engines.asr import slot_rescoring
from carepipe.engines.asr.slot_rescoring import score_slots
from carepipe.pipelines.scribe import draft_note, transcribe
from tests.engines.asr.conftest import needs_speech_tools, say

pytestmark = needs_speech_tools

MOMETASONE = [
    (
        "en-029",
        173,
        "This is sinusitis. Use mometasone nasal spray, two sprays in each nostril once daily.",
    )
]
METFORMIN = [("en-029", 173, "Continue metformin five hundred milligrams twice daily.")]


@pytest.fixture(scope="module")
def settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("rescore")
    return Settings(_env_file=None, data_dir=tmp, asr_rescore_slots=True)  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def mometasone(settings, tmp_path_factory):
    audio = say(tmp_path_factory.mktemp("say"), MOMETASONE)
    return transcribe(settings, "demo", audio)


def test_the_decoder_picks_the_drug_the_first_pass_misheard(settings, mometasone):
    assert "mometasone" not in mometasone.text.lower()  # misheard by the recogniser
    (proposal,) = mometasone.extra["rescored"]
    assert proposal["replacement"] == "mometasone"
    assert proposal["evidence"]["lead"] >= slot_rescoring.MIN_LEAD
    note = draft_note(settings, mometasone)
    (med,) = [m for m in note.medications if m.name == "mometasone"]
    # Never silent: the item says it was rescored and waits for a clinician.
    assert "asr_corrected:rescored" in med.flags
    assert med.needs_review
    assert any(c["kind"] == "rescored" for c in note.corrections)


def test_it_is_off_when_the_setting_is_off(settings, mometasone, tmp_path):
    off = settings.model_copy(update={"asr_rescore_slots": False})
    assert score_slots(off, "demo", say(tmp_path, MOMETASONE), mometasone) is None


def test_an_exact_lexicon_name_is_left_alone(settings, tmp_path):
    audio = say(tmp_path, METFORMIN)
    t = transcribe(settings, "demo", audio)
    assert "metformin" in t.text.lower()  # heard exactly: nothing to rescore
    at = t.text.lower().index("metformin")
    scored = score_slots(settings, "demo", audio, t)
    assert scored is not None
    for w in scored["windows"]:
        assert not (w["start"] <= at < w["end"])  # never even scored
    assert all(p["replacement"] != "metformin" for p in t.extra["rescored"])


def test_a_dose_outside_the_usual_range_stops_the_change(settings, mometasone, tmp_path):
    scored = score_slots(settings, "demo", say(tmp_path, MOMETASONE), mometasone)
    assert scored is not None
    # The audio's own scores: mometasone wins its slot, with no dose said after it.
    (accepted,) = slot_rescoring.proposals(mometasone.text, scored)
    assert accepted["canonical"] == "mometasone"
    assert accepted["evidence"]["dose_in_usual_range"] is None
    # The same scores with a tablet's dose heard after the slot: no nasal spray is dosed
    # in hundreds of milligrams, so the change is refused.
    end = accepted["end"]
    heavy = mometasone.text[:end] + " 500 milligrams" + mometasone.text[end:]
    assert slot_rescoring.proposals(heavy, scored) == []
