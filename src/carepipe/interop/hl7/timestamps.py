"""HL7 v2 date/time values (DT, TS, DTM) to ISO 8601 strings, keeping the sender's precision."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_DTM = re.compile(
    r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?",
    re.ASCII,
)


class TimestampError(ValueError):
    """The value is not an HL7 date/time. Carries no part of the value."""


def hl7_to_iso(value: str, *, date_only: bool = False) -> str:
    """Convert ``YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]`` to ISO 8601.

    Hour or minute precision is widened to seconds (``...T10:30:00``) because
    FHIR's dateTime needs seconds once a time is given. ``date_only`` drops the
    time part (birth dates).
    """
    m = _DTM.fullmatch(value.strip())
    if not m:
        raise TimestampError("not an HL7 date/time")
    year, month, day, hour, minute, second, frac, offset = m.groups()
    if (month is None and day is not None) or (hour is not None and day is None):
        raise TimestampError("not an HL7 date/time")
    try:
        datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
        )
    except ValueError:
        raise TimestampError("date/time out of range") from None
    if offset and (int(offset[1:3]) > 14 or int(offset[3:5]) > 59):
        raise TimestampError("time zone offset out of range")
    out = year
    if month:
        out += f"-{month}"
    if day:
        out += f"-{day}"
    if date_only or hour is None:
        return out
    out += f"T{hour}:{minute or '00'}:{second or '00'}"
    if frac:
        out += f".{frac}"
    if offset:
        out += f"{offset[0]}{offset[1:3]}:{offset[3:5]}"
    return out


def iso_to_datetime(value: str, default_tz: timezone = UTC) -> datetime:
    """An aware ``datetime`` from an ISO string made by ``hl7_to_iso`` (missing parts = start).

    ``default_tz`` applies when the sender gave no offset (HL7 local time: the
    tenant's zone, e.g. ``timezone(timedelta(hours=5, minutes=30))`` for IST).
    """
    if len(value) == 4:
        value += "-01-01"
    elif len(value) == 7:
        value += "-01"
    dt = datetime.fromisoformat(value)
    return dt if dt.tzinfo else dt.replace(tzinfo=default_tz)


IST = timezone(timedelta(hours=5, minutes=30))
