from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepipe.interop.hl7.normalize import decode, normalize, strip_mllp

BODY = "MSH|^~\\&|A|B\rPID|1||X"


@pytest.mark.parametrize(
    "raw",
    [
        BODY,
        BODY.replace("\r", "\n"),
        BODY.replace("\r", "\r\n"),
        BODY + "\r\n\r\n  ",
        "\ufeff" + BODY,
        "\n\n" + BODY + "\n",
        BODY.replace("\r", "\r\n\r\n"),  # blank lines between segments
        BODY.replace("\r", "\r   \r"),  # whitespace-only segment
    ],
)
def test_line_endings_blank_segments_and_edges_normalize_to_cr(raw: str) -> None:
    assert normalize(raw) == BODY


def test_mllp_framing_is_stripped_from_bytes() -> None:
    framed = b"\x0b" + BODY.encode() + b"\r\x1c\x0d"
    assert normalize(framed) == BODY
    assert strip_mllp(b"\x0b\x0babc\x1c\r\x1c\r") == b"abc"


def test_trailing_spaces_inside_segments_are_kept() -> None:
    # Only the message edges are trimmed; field content in the middle is left alone.
    assert normalize("MSH|^~\\&|A  \rPID|1 |X\r") == "MSH|^~\\&|A  \rPID|1 |X"


def test_decode_prefers_utf8_and_falls_back_to_latin1() -> None:
    assert decode("José".encode()) == "José"
    assert decode("José".encode("latin-1")) == "José"


@given(st.binary(max_size=300))
def test_normalize_never_raises_and_never_leaves_lf_or_framing(raw: bytes) -> None:
    out = normalize(raw)
    assert "\n" not in out
    assert not out.startswith(("\x0b", "\r", " ")) and not out.endswith(("\x1c", "\r", " "))
    assert "\r\r" not in out
