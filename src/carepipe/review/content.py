"""A review's content: the draft's items (with their transcript evidence), the reviewer's
edits, and the approved note built from both.

The draft is the ``soap_note`` artifact (a :class:`SoapNote`: every item carries its
character span in the corrected transcript) and the ``transcript`` artifact (words with
times and probabilities). An item's evidence is the recognised words under its span:
the span is mapped back through the recorded ASR repairs to the recognised text, then
to word indices. The reviewer's state is one JSON document (:class:`Content`), stored
encrypted in the blob store for every version.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from carepipe.engines.asr import Transcript
from carepipe.engines.nlp.correction import PreparedText
from carepipe.engines.notes import SoapNote
from carepipe.engines.notes.models import SECTION_NAMES

#: ASR word probability under which a transcript word is shown as low confidence.
LOW_WORD_PROBABILITY = 0.6
#: Kinds whose flagged items must be decided before approval (the note's review_count).
#: ``unread`` is words said as an order that the scribe could not read: never structured,
#: so the reviewer must say they dealt with them (accept) or that they meant nothing (reject).
GATED_KINDS = frozenset({"vital", "lab", "medication", "diagnosis", "allergy", "unread"})
#: Item ids of the note's unread mentions are ``unread-<index>``.
UNREAD = "unread"

# kind -> (SoapNote list attribute, editable fields)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "vital": ("vitals", ("kind", "value", "systolic", "diastolic", "unit")),
    "lab": ("labs", ("kind", "value", "unit")),
    "medication": (
        "medications",
        ("name", "dose", "dose_unit", "route", "frequency_text", "action"),
    ),
    "diagnosis": ("diagnoses", ("name", "icd10", "verification")),
    "allergy": ("allergies", ("substance", "reaction")),
    "symptom": ("symptoms", ("name",)),
    "follow_up": ("follow_up", ("text",)),
}
_NUMBER_FIELDS = {"value", "systolic", "diastolic", "dose"}


@dataclass(frozen=True)
class WordRef:
    """A recognised word: its index, text, times, probability and place in the text."""

    i: int
    text: str
    start: float
    end: float
    probability: float
    char_start: int
    char_end: int


@dataclass
class DraftItem:
    """One item of the draft note."""

    id: str
    kind: str
    fields: dict[str, Any]
    confidence: float | None
    needs_review: bool
    reasons: list[str]
    span: tuple[int, int] | None  # characters of the corrected text
    section: str | None = None

    @property
    def flagged(self) -> bool:
        return self.needs_review and self.kind in GATED_KINDS


@dataclass
class Content:
    """The reviewer's state: transcript, item fields, removals, additions, sections, decisions."""

    transcript: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    added: dict[str, str] = field(default_factory=dict)  # item id -> kind
    sections: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The draft transcript in the form WER is scored on, computed once when the review
    # opens (normalising 2,000 words costs ~20 ms; an approval then normalises only its own).
    draft_normalised: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "draft_normalised": self.draft_normalised,
            "transcript": self.transcript,
            "items": self.items,
            "removed": sorted(set(self.removed)),
            "added": self.added,
            "sections": self.sections,
            "decisions": self.decisions,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Content:
        """The inverse of :meth:`to_dict`."""
        return cls(
            transcript=str(data.get("transcript") or ""),
            items={k: dict(v) for k, v in (data.get("items") or {}).items()},
            removed=list(data.get("removed") or []),
            added=dict(data.get("added") or {}),
            sections=dict(data.get("sections") or {}),
            decisions={k: dict(v) for k, v in (data.get("decisions") or {}).items()},
            draft_normalised=data.get("draft_normalised"),
        )


# -- the draft ---------------------------------------------------------------------------------


def transcript_words(transcript: Transcript) -> list[WordRef]:
    """Every recognised word with its index and its place in ``transcript.text``."""
    text = transcript.text
    out: list[WordRef] = []
    cursor = 0
    for i, w in enumerate(transcript.words):
        token = w.text.strip()
        at = text.find(token, cursor) if token else -1
        if at < 0:
            at, end = cursor, cursor
        else:
            end = at + len(token)
            cursor = end
        out.append(WordRef(i, token, w.start, w.end, w.probability, at, end))
    return out


def _fields(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    if kind == "vital":
        comps = item.get("components") or {}
        out = {
            "kind": item.get("kind"),
            "value": item.get("value"),
            "unit": item.get("unit"),
        }
        if comps:
            out["systolic"] = comps.get("systolic")
            out["diastolic"] = comps.get("diastolic")
        return out
    if kind == "follow_up":
        return {"text": item.get("text")}
    names = KINDS[kind][1]
    return {n: item.get(n) for n in names}


def draft_items(note: dict[str, Any]) -> list[DraftItem]:
    """The draft note's items, with stable ids (``<kind>-<index>``, ``sentence-<section>-<i>``)."""
    out: list[DraftItem] = []
    for kind, (attr, _names) in KINDS.items():
        for i, item in enumerate(note.get(attr) or []):
            span = _span(item)
            out.append(
                DraftItem(
                    id=f"{kind}-{i}",
                    kind=kind,
                    fields=_fields(kind, item),
                    confidence=item.get("confidence"),
                    needs_review=bool(item.get("needs_review")),
                    reasons=_reasons(item),
                    span=span,
                )
            )
    for i, u in enumerate(note.get("unread") or []):
        out.append(
            DraftItem(
                id=f"{UNREAD}-{i}",
                kind=UNREAD,
                fields={"text": u.get("text")},
                confidence=u.get("confidence"),
                needs_review=True,
                reasons=list(u.get("flags") or []),
                span=_span(u),
            )
        )
    sections = note.get("sections") or {}
    for name in SECTION_NAMES:
        for i, s in enumerate((sections.get(name) or {}).get("sentences") or []):
            out.append(
                DraftItem(
                    id=f"sentence-{name}-{i}",
                    kind="sentence",
                    fields={"text": s.get("text"), "section": name},
                    confidence=s.get("confidence"),
                    needs_review=bool(s.get("needs_review")),
                    reasons=_reasons(s),
                    span=_span(s),
                    section=name,
                )
            )
    return out


def _span(item: dict[str, Any]) -> tuple[int, int] | None:
    start, end = item.get("start"), item.get("end")
    return (int(start), int(end)) if start is not None and end is not None else None


def _reasons(item: dict[str, Any]) -> list[str]:
    reasons = list(item.get("flags") or [])
    conf = item.get("confidence")
    if item.get("needs_review") and conf is not None and conf < 0.9:
        reasons.insert(0, f"confidence {conf:.2f}")
    return reasons


def draft_sections(note: dict[str, Any]) -> dict[str, str]:
    """The draft's SOAP sections as prose."""
    sections = note.get("sections") or {}
    return {
        name: " ".join(s.get("text", "") for s in (sections.get(name) or {}).get("sentences") or [])
        for name in SECTION_NAMES
    }


class EvidenceMap:
    """Maps a span of the corrected text (the note's ``text``) to recognised words."""

    def __init__(self, note: dict[str, Any], transcript: Transcript, words: list[WordRef]):
        pieces = sorted(
            (int(c["new_start"]), int(c["new_end"]), int(c["start"]), int(c["end"]))
            for c in note.get("corrections") or []
            if all(k in c for k in ("new_start", "new_end", "start", "end"))
        )
        self._prepared = PreparedText(
            source=transcript.text,
            text=str(note.get("text") or transcript.text),
            corrections=[],
            words=[],
            _pieces=pieces,
        )
        self._words = words
        self._starts = [w.char_start for w in words]
        self._ends = [w.char_end for w in words]
        # A 15-minute note has ~300 items over ~2,000 words: a scan per item was most of
        # the review page's time. Words in transcript order allow a binary search.
        self._ordered = all(a.char_end <= b.char_start for a, b in pairwise(words))

    def words(self, span: tuple[int, int] | None) -> tuple[int, int] | None:
        """Word indices ``[first, last + 1)`` under ``span``; None when nothing is under it."""
        if span is None or not self._words:
            return None
        s, e = self._prepared.to_source(*span)
        if self._ordered:
            lo = bisect_right(self._ends, s)  # the first word ending after s
            hi = bisect_left(self._starts, e)  # words starting before e are [0, hi)
            if lo >= hi:
                return None
            return self._words[lo].i, self._words[hi - 1].i + 1
        inside = [w.i for w in self._words if w.char_start < e and s < w.char_end]
        if not inside:
            return None
        return inside[0], inside[-1] + 1


# -- the reviewer's state ------------------------------------------------------------------------


def initial_content(transcript: Transcript, note: dict[str, Any]) -> Content:
    """Version 1: the draft as it is, every item pending."""
    from carepipe.engines.asr.wer import normalise

    items = draft_items(note)
    return Content(
        draft_normalised=normalise(transcript.text),
        transcript=transcript.text,
        items={it.id: dict(it.fields) for it in items},
        sections=draft_sections(note),
        decisions={it.id: {"decision": "pending", "by": None} for it in items},
    )


def clean_fields(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Only the fields a kind has; numbers as numbers (a non-number is refused)."""
    allowed = KINDS[kind][1] if kind in KINDS else ("text", "section")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"{kind} items have no field {name!r}")
        if name in _NUMBER_FIELDS and value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(f"{name} must be a number")
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"{name} must be a number") from None
            value = int(value) if value.is_integer() else value
        elif value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be text")
        elif isinstance(value, str):
            value = value.strip()[:500]
        out[name] = value
    return out


def display(kind: str, fields: dict[str, Any]) -> str:
    """An item as one line of text."""

    def num(v: Any) -> str:
        return "" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))

    if kind == "vital":
        if fields.get("systolic") is not None:
            value = f"{num(fields.get('systolic'))}/{num(fields.get('diastolic'))}"
        else:
            value = num(fields.get("value"))
        label = str(fields.get("kind") or "vital").replace("_", " ")
        return f"{label} {value} {fields.get('unit') or ''}".strip()
    if kind == "lab":
        label = str(fields.get("kind") or "lab")
        return f"{label} {num(fields.get('value'))} {fields.get('unit') or ''}".strip()
    if kind == "medication":
        parts = [
            fields.get("name"),
            f"{num(fields.get('dose'))} {fields.get('dose_unit') or ''}".strip()
            if fields.get("dose") is not None
            else None,
            fields.get("route"),
            fields.get("frequency_text"),
        ]
        return " ".join(str(p) for p in parts if p)
    if kind == "allergy":
        reaction = fields.get("reaction")
        return f"{fields.get('substance')}" + (f" ({reaction})" if reaction else "")
    if kind in ("follow_up", "sentence", UNREAD):
        return str(fields.get("text") or "")
    return str(fields.get("name") or "")


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Names of the fields whose value differs."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


# -- the approved note ------------------------------------------------------------------------


def _apply_fields(kind: str, item: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    if kind == "vital":
        for k in ("kind", "value", "unit"):
            if k in fields:
                out[k] = fields[k]
        if "systolic" in fields or "diastolic" in fields:
            comps = dict(out.get("components") or {})
            for k in ("systolic", "diastolic"):
                if fields.get(k) is not None:
                    comps[k] = float(fields[k])
            out["components"] = comps
            if comps:
                out["value_text"] = f"{comps.get('systolic', 0):g}/{comps.get('diastolic', 0):g}"
        elif fields.get("value") is not None:
            out["value_text"] = f"{float(fields['value']):g}"
    elif kind == "follow_up":
        out["text"] = fields.get("text") or out.get("text", "")
    else:
        for k, v in fields.items():
            out[k] = v
    return out


def _verified(item: dict[str, Any]) -> dict[str, Any]:
    """A clinician checked it: no open flags, full confidence (the bundle drops its
    "needs review" note)."""
    return {**item, "flags": [], "confidence": 1.0}


def approved_note(note: dict[str, Any], content: Content) -> SoapNote:
    """The draft with the reviewer's edits, removals, additions and sections applied."""
    out = dict(note)
    decisions = content.decisions
    removed = set(content.removed) | {
        i for i, d in decisions.items() if d.get("decision") == "rejected"
    }
    for kind, (attr, _names) in KINDS.items():
        kept = []
        for i, item in enumerate(note.get(attr) or []):
            item_id = f"{kind}-{i}"
            if item_id in removed:
                continue
            fields = content.items.get(item_id)
            draft = _fields(kind, item)
            if fields is not None and changed_fields(draft, fields):
                item = _apply_fields(kind, item, fields)
                item["text"] = display(kind, fields) if kind != "follow_up" else item["text"]
            if decisions.get(item_id, {}).get("decision") in ("accepted", "edited"):
                item = _verified(item)
            kept.append(item)
        for item_id, added_kind in content.added.items():
            if added_kind != kind or item_id in removed:
                continue
            kept.append(_new_item(kind, content.items.get(item_id) or {}))
        out[attr] = kept
    draft_text = draft_sections(note)
    sections = dict(note.get("sections") or {})
    for name in SECTION_NAMES:
        text = content.sections.get(name)
        if text is not None and text != draft_text[name]:
            sections[name] = {
                "sentences": [{"text": text, "section": name, "confidence": 1.0}]
                if text.strip()
                else [],
                "confidence": 1.0,
            }
    out["sections"] = sections
    out["text"] = content.transcript
    # What the scribe could not read was shown to the reviewer, who has added what was meant
    # (or judged it nothing): the approved note no longer lists it.
    out["unread"] = []
    return SoapNote.model_validate(_without_spans(out, note, content))


def _without_spans(out: dict[str, Any], note: dict[str, Any], content: Content) -> dict[str, Any]:
    """Spans point into the draft's text; when the transcript was edited they no longer
    match, so they are dropped (the draft artifact keeps them)."""
    if content.transcript == (note.get("text") or content.transcript):
        return out
    for attr, _ in KINDS.values():
        out[attr] = [{**i, "start": None, "end": None} for i in out.get(attr) or []]
    for name in SECTION_NAMES:
        sec = out["sections"].get(name) or {}
        sec["sentences"] = [{**s, "start": None, "end": None} for s in sec.get("sentences") or []]
    out["pertinent_negatives"] = [
        {**n, "start": None, "end": None} for n in out.get("pertinent_negatives") or []
    ]
    return out


def _new_item(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {"text": display(kind, fields), "confidence": 1.0, "flags": []}
    if kind == "medication":
        return {**base, **{k: v for k, v in fields.items() if v is not None}}
    if kind == "diagnosis":
        return {**base, "name": fields.get("name") or "", "icd10": fields.get("icd10")}
    if kind == "allergy":
        return {
            **base,
            "substance": fields.get("substance") or "",
            "reaction": fields.get("reaction"),
        }
    if kind == "symptom":
        return {**base, "name": fields.get("name") or ""}
    if kind == "follow_up":
        return base
    if kind == "lab":
        return {
            **base,
            "kind": fields.get("kind") or "lab",
            "value": fields.get("value") or 0,
            "unit": fields.get("unit"),
            "loinc": "",
            "display": fields.get("kind") or "lab",
        }
    # vital
    comps = {k: float(fields[k]) for k in ("systolic", "diastolic") if fields.get(k) is not None}
    return {
        **base,
        "kind": fields.get("kind") or "vital",
        "value": None if comps else fields.get("value"),
        "value_text": display("vital", fields),
        "unit": fields.get("unit") or "",
        "loinc": _VITAL_LOINC.get(str(fields.get("kind")), ""),
        "components": comps,
    }


_VITAL_LOINC = {
    "blood_pressure": "85354-9",
    "heart_rate": "8867-4",
    "respiratory_rate": "9279-1",
    "temperature": "8310-5",
    "spo2": "59408-5",
    "weight": "29463-7",
    "height": "8302-2",
    "bmi": "39156-5",
}


def item_edit_counts(
    items: Iterable[DraftItem], content: Content
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Edits of the note by type: ``added``/``removed``/``changed`` in all and per kind."""
    totals = {"added": 0, "removed": 0, "changed": 0}
    by_kind: dict[str, dict[str, int]] = {}

    def bump(kind: str, what: str) -> None:
        totals[what] += 1
        per = by_kind.setdefault(kind, {"added": 0, "removed": 0, "changed": 0})
        per[what] += 1

    removed = set(content.removed) | {
        i for i, d in content.decisions.items() if d.get("decision") == "rejected"
    }
    for it in items:
        if it.kind == UNREAD:
            continue  # never in an approved note, accepted or rejected: not an edit of it
        if it.id in removed:
            bump(it.kind, "removed")
        elif changed_fields(it.fields, content.items.get(it.id, it.fields)):
            bump(it.kind, "changed")
    for item_id, kind in content.added.items():
        if item_id not in removed:
            bump(kind, "added")
    return totals, by_kind


_WORD_RE = re.compile(r"\S+")


def words_of(text: str) -> list[str]:
    """Whitespace-separated words."""
    return _WORD_RE.findall(text)
