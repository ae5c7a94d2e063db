from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carepipe.core.errors import InvalidAbha
from carepipe.interop.identity import format_abha, is_valid_abha, mask_abha, normalize_abha

digits14 = st.text(alphabet="0123456789", min_size=14, max_size=14)


@pytest.mark.parametrize(
    "written",
    [
        "12345678901234",
        "12-3456-7890-1234",
        "12 3456 7890 1234",
        "  12-3456 78901234 ",
        "12-345678901234",
    ],
)
def test_accepted_forms(written: str) -> None:
    assert normalize_abha(written) == "12345678901234"
    assert format_abha(written) == "12-3456-7890-1234"
    assert is_valid_abha(written)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1234567890123",  # 13 digits
        "123456789012345",  # 15 digits
        "12-3456-7890-123",
        "1-23456-7890-1234",  # separators in the wrong places
        "12--3456-7890-1234",
        "12_3456_7890_1234",
        "ab-cdef-ghij-klmn",
        "priya.sharma@abdm",  # an ABHA address, not a number
        "12345678901234@sbx",
        "१२३४५६७८९०१२३४",  # Devanagari digits
        "".join(chr(0xFF10 + int(c)) for c in "12345678901234"),  # full-width digits
        "12345678901234\n5",
    ],
)
def test_rejected_forms(bad: str) -> None:
    assert not is_valid_abha(bad)
    with pytest.raises(InvalidAbha) as info:
        normalize_abha(bad)
    if bad.strip():
        assert bad.strip() not in info.value.message
    assert info.value.retryable is False


def test_non_string_is_rejected() -> None:
    with pytest.raises(InvalidAbha):
        normalize_abha(12345678901234)  # type: ignore[arg-type]


@given(digits14, st.sampled_from(["", "-", " "]))
def test_format_normalize_round_trip(d: str, sep: str) -> None:
    written = sep.join([d[:2], d[2:6], d[6:10], d[10:]])
    assert normalize_abha(written) == d
    assert normalize_abha(format_abha(d)) == d
    assert format_abha(written) == f"{d[:2]}-{d[2:6]}-{d[6:10]}-{d[10:]}"
    assert mask_abha(d) == f"XX-XXXX-XXXX-{d[10:]}"


@given(st.text(max_size=30))
def test_valid_means_exactly_14_ascii_digits_after_removing_separators(s: str) -> None:
    ok = is_valid_abha(s)
    if ok:
        assert normalize_abha(s).isascii() and len(normalize_abha(s)) == 14
        assert "@" not in s
    else:
        with pytest.raises(InvalidAbha):
            format_abha(s)
