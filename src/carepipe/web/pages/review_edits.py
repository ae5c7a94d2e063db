"""The review page's forms and diff panel: which fields a page offers for editing, what a
submitted form changes (the service's ``ItemEdit`` list, transcript and sections), and the
word diffs of draft vs current (saved) or draft vs the form (preview).

Pure functions over the service's views; ``carepipe.web.pages.reviews`` calls them.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from carepipe.core.errors import InvalidRequest
from carepipe.review.corrections import transcript_wer
from carepipe.review.diff import word_diff
from carepipe.review.views import DiffOp, ItemEdit, NoteItem, ReviewDetail

_FIELD = re.compile(r"^item\.([A-Za-z0-9_.:-]{1,64})\.([A-Za-z0-9_]{1,64})$")


def value_text(value: Any) -> str:
    """A field value as an input shows it (``5.0`` -> ``5``; None -> empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def editable(value: Any) -> bool:
    """Scalar fields are edited in place; structured ones (timing, components) are not."""
    return value is None or isinstance(value, (str, int, float, bool))


def field_inputs(item: NoteItem) -> list[tuple[str, Any]]:
    """The fields of ``item`` the page offers for editing (a sentence: its text only; words
    the scribe could not read: none, they are accepted or rejected)."""
    if item.kind == "unread":
        return []
    return [
        (k, v)
        for k, v in item.fields.items()
        if editable(v) and not (item.kind == "sentence" and k == "section")
    ]


def parse_value(text: str, current: Any, name: str = "value") -> Any:
    """The typed value of field ``name`` as edited, guided by the type it had.

    A number field given something else is a 400 naming the field (never echoing what was
    typed: it may be clinical text)."""
    text = text.strip()
    if isinstance(current, bool):
        return text.lower() in ("yes", "true", "1")
    if text == "":
        return None
    if isinstance(current, (int, float)) or current is None:
        try:
            number = float(text)
        except ValueError:
            if isinstance(current, (int, float)):
                raise InvalidRequest(f"{name.replace('_', ' ')} must be a number") from None
            return text
        return int(number) if isinstance(current, int) and number.is_integer() else number
    return text


def _norm(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def item_edits(form: FormData, detail: ReviewDetail) -> list[ItemEdit]:
    """The items whose fields the form changed, with only the changed fields."""
    by_id = {i.id: i for i in detail.items}
    changed: dict[str, dict[str, Any]] = {}
    for name, raw in form.multi_items():
        m = _FIELD.match(name)
        if not m or not isinstance(raw, str):
            continue
        item = by_id.get(m.group(1))
        key = m.group(2)
        if item is None or key not in dict(field_inputs(item)):
            continue
        current = item.fields[key]
        if value_text(current) == raw.strip():
            continue
        value = parse_value(raw, current, key)
        if value != current:  # "5.0" for 5 is no change
            changed.setdefault(item.id, {})[key] = value
    return [ItemEdit(item_id=i, fields=f) for i, f in changed.items()]


def proposed(form: FormData, detail: ReviewDetail) -> dict[str, Any]:
    """What a save would send: transcript, sections (None when unchanged) and item edits."""
    transcript = form.get("transcript")
    new_transcript = None
    if isinstance(transcript, str) and _norm(transcript) != _norm(detail.transcript):
        new_transcript = _norm(transcript)
    sections: dict[str, str] = {}
    for name, text in detail.sections.items():
        value = form.get(f"section.{name}")
        if isinstance(value, str) and _norm(value) != _norm(text):
            sections[name] = _norm(value)
    return {
        "transcript": new_transcript,
        "sections": sections or None,
        "items": item_edits(form, detail),
    }


def base_version(form: FormData) -> int:
    raw = str(form.get("base_version") or "")
    if not raw.isdigit():
        raise InvalidRequest("the form has no version: reload the page")
    return int(raw)


# -- the diff panel ------------------------------------------------------------------------


def _item_changes(
    items: list[NoteItem], edits: dict[str, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Per item: each field whose value differs from the draft, as a word diff."""
    out = []
    for item in items:
        fields = {**item.fields, **((edits or {}).get(item.id) or {})}
        keys = [
            k
            for k in sorted(set(fields) | set(item.draft_fields))
            if editable(fields.get(k)) and fields.get(k) != item.draft_fields.get(k)
        ]
        if not keys and not item.removed and not item.added:
            continue
        out.append(
            {
                "id": item.id,
                "kind": item.kind,
                "display": item.display,
                "added": item.added,
                "removed": item.removed,
                "fields": [
                    {
                        "key": k,
                        "ops": word_diff(
                            value_text(item.draft_fields.get(k)), value_text(fields.get(k))
                        ),
                    }
                    for k in keys
                ],
            }
        )
    return out


def saved_diff(detail: ReviewDetail) -> dict:
    """Draft vs the current version: word diffs of the transcript and the sections, the
    draft's WER against the current transcript, and field changes per item.

    Computed from the detail the page already holds (a second trip through the service's
    ``review_diff`` would load and decrypt the draft again: a third of a long page's time).
    """
    changed = detail.transcript != detail.draft_transcript
    return {
        "preview": False,
        "transcript": word_diff(detail.draft_transcript, detail.transcript) if changed else [],
        "wer": transcript_wer(detail.draft_transcript, detail.transcript)[0] if changed else 0.0,
        "sections": {
            k: word_diff(detail.draft_sections.get(k, ""), text)
            for k, text in detail.sections.items()
            if text != detail.draft_sections.get(k, "")
        },
        "items": _item_changes(detail.items),
    }


def preview_diff(detail: ReviewDetail, change: dict[str, Any]) -> dict:
    """Draft vs what the form would save (nothing is stored)."""
    transcript = change["transcript"] if change["transcript"] is not None else detail.transcript
    sections = {**detail.sections, **(change["sections"] or {})}
    edits = {e.item_id: e.fields for e in change["items"] if e.item_id}
    return {
        "preview": True,
        "transcript": word_diff(detail.draft_transcript, transcript),
        "wer": None,
        "sections": {
            k: ops
            for k, text in sections.items()
            if _changed(ops := word_diff(detail.draft_sections.get(k, ""), text))
        },
        "items": _item_changes(detail.items, edits),
    }


def _changed(ops: list[DiffOp]) -> bool:
    return any(op.op != "equal" for op in ops)
