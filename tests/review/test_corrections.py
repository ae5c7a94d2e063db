"""The correction record's parts on known inputs: the word diff, the WER of a known edit,
the note's edits by type, and an approved note built from a reviewer's content."""

from __future__ import annotations

import jiwer
import pytest

from carepipe.engines.asr.types import Segment, Transcript, Word
from carepipe.engines.notes import SoapNote
from carepipe.review.content import (
    Content,
    EvidenceMap,
    approved_note,
    draft_items,
    initial_content,
    transcript_words,
)
from carepipe.review.corrections import correction_record, transcript_wer
from carepipe.review.diff import word_diff

TEXT = "start metformin 500 milligrams twice a day"


def _transcript(text: str = TEXT) -> Transcript:
    words, t = [], 0.0
    for w in text.split():
        words.append(
            Word(start=t, end=t + 0.4, text=" " + w, probability=0.5 if w == "500" else 0.95)
        )
        t += 0.5
    seg = Segment(0.0, t, text, -0.1, 0.9, words=tuple(words))
    return Transcript(text, [seg], "en", 4.0, 0.4, 0.1, "faster-whisper", "fw/base", {})


def _note() -> dict:
    start = TEXT.index("metformin")
    note = SoapNote(
        engine="rules",
        model_version="rules/1",
        text=TEXT,
        medications=[
            {
                "text": TEXT[start:],
                "start": start,
                "end": len(TEXT),
                "confidence": 0.7,
                "name": "metformin",
                "dose": 500,
                "dose_unit": "mg",
                "frequency_text": "twice a day",
            }
        ],
    )
    return note.model_dump(mode="json")


def test_word_diff_names_each_change_and_its_place():
    ops = word_diff("take one tablet daily", "take two tablets daily now")
    changed = [(o.op, o.a, o.b, o.a_start) for o in ops if o.op != "equal"]
    assert changed == [
        ("replace", ["one", "tablet"], ["two", "tablets"], 1),
        ("insert", [], ["now"], 4),
    ]
    assert word_diff("same words", "same words")[0].op == "equal"


def test_transcript_wer_matches_jiwer_on_the_normalised_texts():
    draft, approved = "metformin 500 mg twice daily", "metformin 1000 milligrams twice a day"
    wer, n, subs, ins, dels = transcript_wer(draft, approved)
    # "mg" and "milligrams" are the same word after normalisation: 500->1000 and daily->a day.
    assert n == 6 and subs == 2 and ins == 0 and dels == 1
    assert wer == pytest.approx(
        jiwer.wer("metformin 1000 milligrams twice a day", "metformin 500 milligrams twice daily")
    )
    assert transcript_wer("", "") == (0.0, 0, 0, 0, 0)
    assert transcript_wer("anything", "")[0] == 1.0


def test_evidence_is_the_words_under_the_item():
    t = _transcript()
    note = _note()
    (item,) = draft_items(note)
    assert item.flagged and item.reasons == ["confidence 0.70"]
    words = transcript_words(t)
    span = EvidenceMap(note, t, words).words(item.span)
    assert span == (1, 7)
    assert [w.text for w in words[span[0] : span[1]]][:2] == ["metformin", "500"]


def test_edits_are_counted_by_type_and_applied_to_the_approved_note():
    t, note = _transcript(), _note()
    content = initial_content(t, note)
    content.items["medication-0"] = {**content.items["medication-0"], "dose": 1000}
    content.decisions["medication-0"] = {"decision": "edited", "by": "user:cara"}
    content.added["allergy-new-1"] = "allergy"
    content.items["allergy-new-1"] = {"substance": "penicillin", "reaction": "rash"}
    content.transcript = TEXT.replace("500", "1000")
    record = correction_record(
        t, draft_items(note), content, note_model_version="rules/1", dialect="en-IN"
    )
    assert record.item_edits == {"added": 1, "removed": 0, "changed": 1}
    assert record.edits_for_metrics() == {"medication": 1, "allergy": 1}
    assert record.substitutions == 1 and record.reference_words == 7
    assert record.wer == pytest.approx(1 / 7, abs=1e-4)
    assert record.model_versions == {"asr": "fw/base", "note": "rules/1"}
    assert record.audio["duration_seconds"] == 4.0
    approved = approved_note(note, content)
    (med,) = approved.medications
    assert med.dose == 1000 and not med.needs_review
    assert [a.substance for a in approved.allergies] == ["penicillin"]


def test_a_rejected_item_leaves_the_approved_note():
    t, note = _transcript(), _note()
    content = Content.from_dict(initial_content(t, note).to_dict())
    content.decisions["medication-0"] = {"decision": "rejected", "by": "user:cara"}
    assert approved_note(note, content).medications == []


def test_a_new_item_needs_its_kind_and_main_field(db, blobs):
    """Service-level: refused edits write nothing (422 validation_failed)."""
    from carepipe.core.errors import ValidationFailed
    from carepipe.review.content import Content
    from carepipe.review.edits import ADDABLE, edit_items
    from carepipe.review.views import ItemEdit

    class _Review:
        id = "r"

    content = Content(transcript="")
    with db.session() as s:
        for edit in (
            ItemEdit(kind="lab", fields={"value": 5}),
            ItemEdit(kind="medication", fields={"dose": 5}),
            ItemEdit(fields={"name": "x"}),
        ):
            with pytest.raises(ValidationFailed):
                edit_items(s, None, _Review(), {}, content, [edit])  # type: ignore[arg-type]
    assert content.added == {} and "lab" not in ADDABLE
