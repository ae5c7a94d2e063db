from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepipe.interop.hl7.escape import Delimiters, escape, unescape
from carepipe.interop.hl7.timestamps import IST, TimestampError, hl7_to_iso, iso_to_datetime


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (r"a\F\b", "a|b"),
        (r"a\S\b\T\c\R\d\E\e", "a^b&c~d\\e"),
        (r"line1\.br\line2", "line1\nline2"),
        ("Jos\\XC3A9\\", "José"),
        ("caf\\XE9\\", "café"),  # not UTF-8: latin-1
        (r"\H\bold\N\ text", "bold text"),
        (r"a\Zlocal\b", "ab"),  # unknown sequences are dropped
        ("no escapes", "no escapes"),
        ("dangling \\ escape", "dangling \\ escape"),
        (r"bad hex \XZZ\.", "bad hex ."),
    ],
)
def test_unescape(raw: str, expected: str) -> None:
    assert unescape(raw) == expected


def test_unescape_uses_the_message_delimiters() -> None:
    d = Delimiters(field="#", component="$", repetition="%", escape="!", subcomponent="&")
    assert unescape("a!F!b!S!c!E!", d) == "a#b$c!"


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=60))
def test_escape_then_unescape_round_trips(text: str) -> None:
    escaped = escape(text)
    for ch in "|^~&":
        assert ch not in escaped
    assert unescape(escaped) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1980", "1980"),
        ("198004", "1980-04"),
        ("19800412", "1980-04-12"),
        ("1980041210", "1980-04-12T10:00:00"),
        ("198004121030", "1980-04-12T10:30:00"),
        ("19800412103005", "1980-04-12T10:30:05"),
        ("19800412103005.25", "1980-04-12T10:30:05.25"),
        ("19800412103005+0530", "1980-04-12T10:30:05+05:30"),
        ("198004121030-0400", "1980-04-12T10:30:00-04:00"),
    ],
)
def test_hl7_to_iso_keeps_precision(raw: str, expected: str) -> None:
    assert hl7_to_iso(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "80", "19801301", "19800230", "1980041225", "abcd", "2024-01-01", "20240101+2500"]
)
def test_hl7_to_iso_rejects(raw: str) -> None:
    with pytest.raises(TimestampError):
        hl7_to_iso(raw)


def test_date_only_drops_time() -> None:
    assert hl7_to_iso("198004121030", date_only=True) == "1980-04-12"


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)))
def test_full_timestamps_round_trip(dt: datetime) -> None:
    iso = hl7_to_iso(dt.strftime("%Y%m%d%H%M%S") + "+0530")
    assert iso_to_datetime(iso) == dt.replace(microsecond=0, tzinfo=IST)


def test_iso_to_datetime_default_zone_and_partial_dates() -> None:
    assert iso_to_datetime("2024-03-01T10:00:00") == datetime(2024, 3, 1, 10, tzinfo=UTC)
    ist = timezone(timedelta(hours=5, minutes=30))
    assert iso_to_datetime("2024-03", ist) == datetime(2024, 3, 1, tzinfo=ist)
