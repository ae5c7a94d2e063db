"""Times in the console: always UTC, always written with their zone.

Date filters are plain text inputs in one explicit format (``2026-03-01 12:00``,
UTC) rather than ``datetime-local``: a browser shows those in its own locale's
format (``03/01/2026, 12:00 PM``) beside a label that says UTC, which reads as
local time. ``parse_utc`` also takes the ISO forms (``T`` separator, seconds, a
``Z`` or an offset, a trailing ``UTC``), so links and older bookmarks keep working.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from carepipe.core.errors import InvalidRequest

INPUT_FORMAT = "%Y-%m-%d %H:%M"
INPUT_HINT = "YYYY-MM-DD HH:MM"
# What the inputs' ``pattern`` accepts (the server accepts a little more; see parse_utc).
INPUT_PATTERN = r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?( ?(UTC|Z))?"
_UTC_SUFFIX = re.compile(r"\s*(UTC|Z)$", re.IGNORECASE)


def parse_utc(value: str | None, name: str = "time") -> datetime | None:
    """A filter's text as an aware UTC time; empty is None; anything else is a 400."""
    text = (value or "").strip()
    if not text:
        return None
    had_utc = bool(_UTC_SUFFIX.search(text))
    text = _UTC_SUFFIX.sub("", text)
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            f"{name}: times look like 2026-03-01 12:00 ({INPUT_HINT}, UTC)"
        ) from None
    if ts.tzinfo is None or had_utc:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def input_value(value: datetime | None) -> str:
    """A time as a filter input shows it (UTC, ``INPUT_FORMAT``)."""
    if value is None:
        return ""
    return _aware(value).strftime(INPUT_FORMAT)


def fmt_time(value: datetime | str | None) -> str:
    """``2026-03-01 12:00:05 UTC`` for a datetime or an ISO string (naive means UTC)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return _aware(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | str | None) -> str:
    """The machine-readable form for ``<time datetime=...>``."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return _aware(value).isoformat()


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
