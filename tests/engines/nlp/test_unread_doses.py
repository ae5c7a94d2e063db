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


def test_a_new_line_after_a_digit_ends_the_sentence(engine) -> None:
    # The old splitter did not end a sentence at a newline after a digit, so the next
    # line's "daily" was read as this strength's schedule and swallowed into the fragment.
    text = "Take zorblatex 500 mg, qty 30\nPhysiotherapy daily"
    assert _unread(engine, text) == ["Take zorblatex 500 mg"]


def test_an_indian_schedule_is_a_cue(engine) -> None:
    assert _unread(engine, "Tab Zorblatex 40 mg 1-0-1") == ["Tab Zorblatex 40 mg 1-0-1"]


def test_each_drug_of_a_comma_list_is_its_own_fragment(engine) -> None:
    text = "Tab Zorblatex 200 mg 1-0-1, Tab Quinvore 500 mg 0-0-1, Tab Metrazil 15 mg weekly"
    assert _unread(engine, text) == [
        "Tab Zorblatex 200 mg 1-0-1",
        "Tab Quinvore 500 mg 0-0-1",
        "Tab Metrazil 15 mg weekly",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Bare strengths after commas are the taper of the drug before them.
        ("Prednisolone 20 mg OD x 1 week, 15 mg OD x 1 week, 10 mg OD", []),
        ("Zorblatex 20 mg OD x 1 week, 15 mg OD x 1 week", ["Zorblatex 20 mg OD"]),
    ],
)
def test_a_bare_strength_after_a_comma_is_a_step(engine, text: str, expected: list[str]) -> None:
    assert _unread(engine, text) == expected
