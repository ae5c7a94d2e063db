"""Checks every flag change shares: keys, justifications, definitions, segments.

Kept apart from the service so the preview and segment modules use the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.errors import FlagInvalid, ValidationFailed
from carepipe.core.storable_json import check_storable
from carepipe.flags.definition import FlagDefinition, Segment, valid_key
from carepipe.flags.models import FlagSegment

MAX_JUSTIFICATION = 500

M = TypeVar("M", bound=BaseModel)
DefinitionIn = FlagDefinition | Mapping[str, Any]
SegmentIn = Segment | Mapping[str, Any]


def justified(justification: str) -> str:
    """The justification, stripped: required (non-empty) and at most 500 characters."""
    text = (justification or "").strip()
    if not text:
        raise ValidationFailed("a justification is required for every flag change")
    if len(text) > MAX_JUSTIFICATION:
        raise ValidationFailed(f"justification is longer than {MAX_JUSTIFICATION} characters")
    check_storable(text)
    return text


def checked_key(key: str, what: str = "flag") -> str:
    """``key`` if it is a valid flag or segment key, else ``FlagInvalid``."""
    if not valid_key(key):
        raise FlagInvalid(
            f"{what} key must be 1-64 of a-z 0-9 . _ - starting with a letter or digit"
        )
    return key


def parse_definition(definition: DefinitionIn) -> FlagDefinition:
    """A ``FlagDefinition`` from a model or JSON-like mapping (``FlagInvalid`` with the
    validation messages in ``details`` if it does not validate)."""
    return _stored_form(FlagDefinition, definition, "flag definition")


def parse_segment(segment: SegmentIn) -> Segment:
    """A ``Segment`` from a model or mapping (``FlagInvalid`` if it does not validate)."""
    return _stored_form(Segment, segment, "segment")


def _stored_form(model: type[M], value: M | Mapping[str, Any], what: str) -> M:
    """``value`` validated, then as it will read back from the database.

    Every process loads every stored definition into its snapshot, so what is stored must
    validate again: JSON turns NaN into null, and PostgreSQL cannot store U+0000.
    """
    try:
        parsed = value if isinstance(value, model) else model.model_validate(dict(value))
        stored = parsed.model_dump(mode="json")
        check_storable(stored)
        return model.model_validate(stored)
    except ValidationError as exc:
        raise FlagInvalid(f"the {what} is not valid", details=messages(exc)) from None


def messages(exc: ValidationError) -> list[dict[str, Any]]:
    """A validation error's locations and messages (safe to return to the caller)."""
    # Locations and messages only: pydantic's "input" would echo the whole body back.
    return [
        {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False)
    ]


def known_segments(session: Session, definition: FlagDefinition) -> None:
    """``FlagInvalid`` unless every segment the definition names is stored."""
    wanted = definition.segment_names()
    if not wanted:
        return
    have = set(
        session.execute(select(FlagSegment.key).where(FlagSegment.key.in_(wanted))).scalars()
    )
    missing = sorted(wanted - have)
    if missing:
        raise FlagInvalid(f"unknown segments: {', '.join(missing)}", details={"segments": missing})
