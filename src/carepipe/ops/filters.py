"""What the list filters of the operations services share."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any


class FilterFields:
    """Mixin for frozen filter dataclasses: a JSON-ready dict of the fields that are set."""

    def to_dict(self) -> dict[str, Any]:
        """Stored with bulk replays and backfills, echoed by the API (ISO times, no empties)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():  # type: ignore[call-overload]
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out
