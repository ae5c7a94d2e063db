"""ABHA numbers (Ayushman Bharat Health Account): 14 digits, shown as XX-XXXX-XXXX-XXXX.

Only the number is handled here. An ABHA *address* (``name@abdm``) is a
different identifier and is rejected. No check digit is verified: ABDM does
not publish one, so validity here means "well-formed"; whether the number
exists is for the ABDM gateway to say.
"""

from __future__ import annotations

import re

from carepipe.core.errors import InvalidAbha

# ASCII digits only ([0-9], not \d: Python's \d also matches Devanagari and other digits).
# Separators, if any, only at the display positions: 2-4-4-4.
# The same rule for JSON Schema (an OpenAPI ``pattern``): explicit classes, because
# ECMA, Python and Rust regexes disagree on \s and \d; ends trimmed of ASCII space only.
ABHA_PATTERN = r"^[ \t\n\r\f\v]*[0-9]{2}[- ]?[0-9]{4}[- ]?[0-9]{4}[- ]?[0-9]{4}[ \t\n\r\f\v]*$"
_ABHA = re.compile(r"([0-9]{2})[- ]?([0-9]{4})[- ]?([0-9]{4})[- ]?([0-9]{4})")


def normalize_abha(value: str) -> str:
    """The 14 digits of an ABHA number written with or without dashes/spaces.

    Raises ``InvalidAbha`` (whose message never contains the value) otherwise.
    """
    if not isinstance(value, str):
        raise InvalidAbha("ABHA number must be a string")
    text = value.strip(" \t\n\r\f\v")
    if "@" in text:
        raise InvalidAbha("an ABHA address (name@abdm) is not an ABHA number")
    m = _ABHA.fullmatch(text)
    if m is None:
        raise InvalidAbha("ABHA number must be 14 digits (XX-XXXX-XXXX-XXXX)")
    return "".join(m.groups())


def is_valid_abha(value: str) -> bool:
    """True if ``value`` is a well-formed ABHA number (see ``normalize_abha``)."""
    try:
        normalize_abha(value)
    except InvalidAbha:
        return False
    return True


def format_abha(value: str) -> str:
    """The display form ``XX-XXXX-XXXX-XXXX``; raises ``InvalidAbha``."""
    d = normalize_abha(value)
    return f"{d[:2]}-{d[2:6]}-{d[6:10]}-{d[10:]}"


def mask_abha(value: str) -> str:
    """``XX-XXXX-XXXX-1234``: for screens and messages whose viewer may not see the number."""
    d = normalize_abha(value)
    return f"XX-XXXX-XXXX-{d[10:]}"
