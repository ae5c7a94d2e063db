"""The SoapNote model: derived low-confidence flags and counts, strictness."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from carepipe.engines.notes.models import (
    LOW_CONFIDENCE_THRESHOLD,
    Section,
    Sections,
    Sentence,
    SoapNote,
    SymptomItem,
    VitalItem,
)


def _vital(conf: float) -> VitalItem:
    return VitalItem(
        text="pulse 72",
        start=0,
        end=8,
        confidence=conf,
        kind="heart_rate",
        value=72,
        value_text="72",
        unit="/min",
        loinc="8867-4",
    )


def test_low_confidence_is_derived_not_claimed() -> None:
    v = VitalItem(
        text="x",
        start=0,
        end=1,
        confidence=0.2,
        low_confidence=False,
        kind="heart_rate",
        value=1,
        value_text="1",
        unit="/min",
        loinc="8867-4",
    )
    assert v.low_confidence
    assert not _vital(LOW_CONFIDENCE_THRESHOLD).low_confidence
    assert _vital(LOW_CONFIDENCE_THRESHOLD - 0.01).low_confidence


def test_count_covers_items_and_sentences() -> None:
    sent = Sentence(text="hi", start=0, end=2, confidence=0.3, section="subjective")
    note = SoapNote(
        sections=Sections(subjective=Section(sentences=[sent], confidence=0.3)),
        vitals=[_vital(0.9), _vital(0.1)],
        symptoms=[SymptomItem(text="cough", start=0, end=5, confidence=0.5, name="cough")],
        engine="rules",
        model_version="rules/test",
        low_confidence_count=0,
    )
    assert note.low_confidence_count == 3


@pytest.mark.parametrize("conf", [-0.1, 1.5])
def test_confidence_must_be_a_probability(conf: float) -> None:
    with pytest.raises(ValidationError):
        _vital(conf)


def test_span_must_not_be_reversed() -> None:
    with pytest.raises(ValidationError):
        VitalItem(
            text="x",
            start=5,
            end=2,
            confidence=0.9,
            kind="heart_rate",
            value=1,
            value_text="1",
            unit="/min",
            loinc="8867-4",
        )


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError):
        SoapNote(engine="rules", model_version="v", surprise=1)  # type: ignore[call-arg]


def test_round_trips_through_json() -> None:
    note = SoapNote(vitals=[_vital(0.9)], engine="rules", model_version="v")
    again = SoapNote.model_validate_json(note.model_dump_json())
    assert again == note
