"""Generics read by exact spelling only (``lexicon/wider_medications.py``): read as
themselves, never a target of ASR repair, and never repaired into another drug (the scribe
rewrote a correctly heard "felodipine" as nifedipine and "nitrazepam" as diazepam)."""

from __future__ import annotations

import pytest

from carepipe.core.config import Settings
from carepipe.engines.nlp.correction import prepare
from carepipe.engines.nlp.drug_names import drug_lexicon, lookup_medication
from carepipe.engines.nlp.lexicon.medications import GENERICS
from carepipe.engines.nlp.lexicon.wider_medications import WIDER_GENERICS
from carepipe.engines.nlp.medications import find_medications
from carepipe.engines.notes import load_note_engine

WIDER_ONLY = [g for g in WIDER_GENERICS if g not in GENERICS]


def test_every_wider_generic_is_read_as_itself_and_never_repaired() -> None:
    wrong = []
    for name in WIDER_ONLY:
        text = f"Start {name} 10 milligrams once daily."
        prepared = prepare(text)
        meds = find_medications(prepared.text)
        if prepared.corrections or [m.name for m in meds] != [name]:
            wrong.append((name, [c.replacement for c in prepared.corrections]))
    assert wrong == []
    assert len(WIDER_ONLY) > 300


@pytest.mark.parametrize(
    ("heard", "not_into"),
    [
        ("felodipine", "nifedipine"),
        ("nitrazepam", "diazepam"),
        ("fludrocortisone", "hydrocortisone"),
        ("pitavastatin", "pravastatin"),
        ("valganciclovir", "valaciclovir"),
    ],
)
def test_a_drug_heard_right_is_not_rewritten_into_its_neighbour(heard: str, not_into: str):
    prepared = prepare(f"I'll start {heard} five milligrams once daily.")
    assert not_into not in prepared.text and heard in prepared.text


def test_wider_generics_are_never_a_repair_target() -> None:
    # One-edit slips are matched against single_names only: a wider name is never proposed.
    assert not set(drug_lexicon().single_names) & set(WIDER_ONLY)
    assert prepare("start methadon 10 milligrams daily").text == (
        "start methadon 10 milligrams daily"
    )
    assert "tetracycline" in WIDER_ONLY and "amlodipine" not in WIDER_ONLY
    assert lookup_medication("Tetracycline") == "tetracycline"


def test_the_note_reads_them_with_no_code_and_as_allergens() -> None:
    engine = load_note_engine(Settings())
    note = engine.generate(
        "Start tetracycline 500 milligrams four times daily for ten days. "
        "Any allergies? I am allergic to clozapine, it gave me a rash."
    )
    (med,) = note.medications
    assert (med.name, med.dose, med.dose_unit, med.rxnorm) == ("tetracycline", 500, "mg", None)
    assert [(a.substance, a.category) for a in note.allergies] == [("clozapine", "medication")]
    assert note.unread == []
