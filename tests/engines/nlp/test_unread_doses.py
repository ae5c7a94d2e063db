"""A strength said of no drug the note could read is reported, never dropped (issue 11:
on an AMX host the re-decoded tail of a clip read "f3xone" for a drug, and the order went
nowhere). Through the rules note engine, on transcripts as the recogniser writes them."""

from __future__ import annotations

import pytest

from carepipe.core.config import Settings
from carepipe.engines.notes import load_note_engine


@pytest.fixture(scope="module")
def engine():
    return load_note_engine(Settings())


def _unread(engine, text: str) -> list[str]:
    note = engine.generate(text)
    assert ("medication_unread" in note.flags) == bool(note.unread)
    return [u.text for u in note.unread]


def test_a_garbled_drug_with_its_dose_and_schedule_is_reported(engine) -> None:
    text = "Your blood pressure is 140 over 90. Start f3xone 500 milligrams twice daily."
    note = engine.generate(text)
    assert note.medications == []
    (unread,) = note.unread
    assert unread.text == "Start f3xone 500 milligrams twice daily"
    assert text[unread.start : unread.end].rstrip(" ,") == unread.text
    assert unread.needs_review and note.review_count >= 1


def test_an_unknown_drug_beside_a_known_one(engine) -> None:
    text = "I will prescribe zorblatex 20 mg once a day. Continue amlodipine 5 mg daily."
    assert _unread(engine, text) == ["I will prescribe zorblatex 20 mg once a day"]
    assert [m.name for m in engine.generate(text).medications] == ["amlodipine"]


def test_an_order_verb_is_enough_without_a_schedule(engine) -> None:
    assert _unread(engine, "Let's start the f3xone at 250 mg.") == ["start the f3xone at 250 mg"]


def test_thousands_are_kept_whole(engine) -> None:
    assert _unread(engine, "Take vitomex 1,000 units daily.") == ["Take vitomex 1,000 units daily"]


@pytest.mark.parametrize(
    "text",
    [
        # Read medications, their steps and their second doses.
        "Start metformin 500 milligrams twice daily.",
        "Prednisolone 40 mg once daily for one week, then twenty milligrams once daily.",
        "Warfarin 5 mg daily, hold for two days then restart at 3 mg daily.",
        # Results and concentrations are not doses.
        "Her glucose was 180 mg/dL this morning and the potassium 4.2.",
        "The baby has gained 200 grams since last week.",
        # A strength with neither a schedule nor an order word.
        "The label on the box said 500 mg.",
    ],
)
def test_no_false_alarm(engine, text: str) -> None:
    assert _unread(engine, text) == []
