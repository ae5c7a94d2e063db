"""What the list filters of the operations services share."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import ConfigDict

from carepipe.core.errors import InvalidRequest


def parse_time(value: str | datetime, name: str) -> datetime:
    """A filter's time from ISO 8601 text (``Z`` or an offset; none means UTC)."""
    if isinstance(value, datetime):
        ts = value
    else:
        try:
            ts = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(f"{name} is not an ISO 8601 time") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


class FilterFields:
    """Mixin for frozen filter dataclasses: a JSON-ready dict of the fields that are set.

    A filter is also a field of the typed views that echo it (``DeadLetterList.filter``):
    pydantic reads the dataclass's fields, with the same strictness as ``View``.
    """

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(
        extra="forbid", json_schema_serialization_defaults_required=True
    )

    def to_dict(self) -> dict[str, Any]:
        """Stored with bulk replays and backfills, echoed by the API (ISO times, no empties)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():  # type: ignore[call-overload]
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out
