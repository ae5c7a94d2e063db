"""Reading times that people and partners type: ISO 8601 with a zone, nothing else.

A bare number is not read as epoch seconds (``1700000000`` is refused, not
guessed), a time without a zone is refused (``created_after=2026-01-01T00:00``
would mean different moments to different senders). A valid RFC 3339 time that
falls outside what UTC can express in Python (``0001-01-01T00:00:00+00:01`` is
a minute before year 1) is read as the earliest or latest time there is: as a
filter bound that is exactly what it means, and it never overflows later.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", re.ASCII)


class TimeFormatError(ValueError):
    """Not an ISO 8601 date-time with a time zone, or outside what UTC can express."""


def parse_aware_time(value: str | datetime, name: str = "time") -> datetime:
    """``value`` as an aware UTC datetime; ``TimeFormatError`` says why it is not one."""
    if isinstance(value, datetime):
        ts = value
    else:
        text = value.strip()
        if not _ISO_DATETIME.match(text):
            raise TimeFormatError(
                f"{name} must be an ISO 8601 date-time with a time zone, e.g. 2026-01-01T00:00:00Z"
            )
        try:
            ts = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise TimeFormatError(f"{name} is not a valid ISO 8601 date-time") from None
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise TimeFormatError(f"{name} needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    try:
        return ts.astimezone(UTC)
    except OverflowError:
        # Only year 1 with a positive offset or year 9999 with a negative one get here.
        edge = datetime.min if ts.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
