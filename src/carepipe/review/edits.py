"""Applying a reviewer's item edits to a review's content and its item decisions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.clock import utcnow
from carepipe.core.errors import NotFound, ValidationFailed
from carepipe.engines.notes.models import SECTION_NAMES
from carepipe.review.content import UNREAD, Content, changed_fields, clean_fields, draft_items
from carepipe.review.models import Review, ReviewItem
from carepipe.review.versions import decisions_of
from carepipe.review.views import ItemEdit

# Kinds a reviewer may add, with the fields a new one needs. Labs are not among them: a
# lab result needs its LOINC code, which the review form does not ask for.
ADDABLE: dict[str, tuple[str, ...]] = {
    "vital": ("kind", "value", "unit"),
    "medication": ("name",),
    "diagnosis": ("name",),
    "allergy": ("substance",),
    "symptom": ("name",),
    "follow_up": ("text",),
}


def decide(row: ReviewItem, decision: str, principal: Principal) -> None:
    row.decision = decision
    row.decided_by = principal.actor
    row.decided_at = utcnow()


def edit_items(
    session: Session,
    principal: Principal,
    review: Review,
    note: dict[str, Any],
    content: Content,
    edits: list[ItemEdit],
) -> dict[str, list[str]]:
    """Apply item edits to ``content`` and the decisions; PHI-free summary of what changed."""
    draft = {i.id: i for i in draft_items(note)}
    decisions = decisions_of(session, review.id)
    out: dict[str, list[str]] = {"changed": [], "removed": [], "added": []}
    for edit in edits:
        if edit.item_id is None:
            if edit.kind is None or edit.kind not in ADDABLE:
                raise ValidationFailed(
                    "a new item needs a kind: " + ", ".join(ADDABLE),
                    details={"kinds": sorted(ADDABLE)},
                )
            try:
                fields = clean_fields(edit.kind, edit.fields)
            except ValueError as exc:
                raise ValidationFailed(str(exc)) from None
            missing = [f for f in ADDABLE[edit.kind] if fields.get(f) in (None, "")]
            if missing and not (edit.kind == "vital" and fields.get("systolic") is not None):
                raise ValidationFailed(
                    f"a new {edit.kind} needs {', '.join(missing)}", details={"missing": missing}
                )
            n = sum(1 for k in content.added if k.startswith(f"{edit.kind}-new-")) + 1
            item_id = f"{edit.kind}-new-{n}"
            content.added[item_id] = edit.kind
            content.items[item_id] = fields
            row = ReviewItem(review_id=review.id, item_id=item_id, kind=edit.kind, flagged=False)
            session.add(row)
            decide(row, "edited", principal)
            decisions[item_id] = row
            out["added"].append(item_id)
            continue
        item_id = edit.item_id
        kind = draft[item_id].kind if item_id in draft else content.added.get(item_id)
        row = decisions.get(item_id)
        if kind is None or row is None:
            raise NotFound(f"review {review.id} has no item {item_id}")
        if kind == UNREAD and not edit.remove:
            raise ValidationFailed(
                "words the scribe could not read are not edited: add the item that was "
                "meant, then accept or reject them",
                details={"item": item_id},
            )
        if edit.remove:
            if item_id not in content.removed:
                content.removed.append(item_id)
            decide(row, "rejected", principal)
            out["removed"].append(item_id)
            continue
        try:
            fields = clean_fields(kind, edit.fields)
        except ValueError as exc:
            raise ValidationFailed(str(exc)) from None
        current = content.items.get(item_id, {})
        merged = {**current, **fields}
        if changed_fields(current, merged):
            content.items[item_id] = merged
            decide(row, "edited", principal)
            out["changed"].append(item_id)
            if kind == "sentence":
                _sync_section(content, note, str(current.get("section") or ""))
    return out


def _sync_section(content: Content, note: dict[str, Any], section: str) -> None:
    """A section's text from its (edited) sentence items."""
    if section not in SECTION_NAMES:
        return
    ids = [i.id for i in draft_items(note) if i.kind == "sentence" and i.section == section]
    content.sections[section] = " ".join(
        str(content.items.get(i, {}).get("text") or "") for i in ids if i not in content.removed
    ).strip()
