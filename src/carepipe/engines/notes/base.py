"""The contract every note engine meets."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from carepipe.engines.notes.models import SoapNote


@runtime_checkable
class NoteEngine(Protocol):
    """Transcript in, draft SOAP note out. Pure: no database, no logging of content."""

    name: str
    model_version: str

    def generate(self, transcript: str) -> SoapNote:
        """A draft SOAP note for ``transcript`` (raises ``CarePipeError`` subtypes)."""
        ...
