"""Raw HL7 v2 field access, and the errors that name positions (never values).

``Reader`` walks python-hl7's tree with the message's own delimiters and reads
the composite data types (CE/CWE, CX, XPN, XAD, XTN, XCN, PL, TS); ``malformed``
and ``unsupported`` build the only errors parsing raises, whose messages name a
segment and field, never what was in them (PHI).
"""

from __future__ import annotations

import re
from typing import Any

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7.escape import Delimiters, unescape
from carepipe.interop.hl7.messages import (
    CodedValue,
    Provider,
)
from carepipe.interop.hl7.timestamps import TimestampError, hl7_to_iso

# HL7 table 0357 (message error condition codes), used in ERR segments of NAKs.
ERR_SEGMENT_SEQUENCE = "100"
ERR_REQUIRED_FIELD_MISSING = "101"
ERR_DATA_TYPE = "102"
ERR_UNSUPPORTED_MESSAGE_TYPE = "200"
ERR_UNSUPPORTED_EVENT = "201"
ERR_UNSUPPORTED_VERSION = "203"
ERR_INTERNAL = "207"
WARN_BAD_DATE = "{where}: not a valid date/time, left out"

CODE = re.compile(r"[A-Z0-9_]{1,10}", re.ASCII)

Reps = list[list[list[str]]]  # repetitions -> components -> subcomponents


# --- errors -----------------------------------------------------------------------------------


def safe_code(value: str | None) -> str:
    """A message type / trigger fit for an error message: only code-shaped values are echoed."""
    return value if value and CODE.fullmatch(value) else "?"


def malformed(
    message: str,
    *,
    segment: str | None = None,
    field: int | None = None,
    index: int | None = None,
    hl7_error: str = ERR_REQUIRED_FIELD_MISSING,
) -> Hl7Malformed:
    details: dict[str, Any] = {"hl7_error": hl7_error}
    if segment:
        details["segment"] = segment
    if field is not None:
        details["field"] = field
    if index is not None:
        details["segment_index"] = index
    return Hl7Malformed(message, details=details)


def unsupported(message: str, hl7_error: str, segment: str = "MSH") -> Hl7Unsupported:
    return Hl7Unsupported(message, details={"hl7_error": hl7_error, "segment": segment})


# --- delimiters and raw field access ----------------------------------------------------------


def read_delimiters(text: str) -> Delimiters:
    """Delimiters from MSH-1/MSH-2 of normalized text; ``Hl7Malformed`` if they are unusable."""
    bad = malformed(
        "MSH-1/MSH-2: invalid encoding characters", segment="MSH", field=2, hl7_error=ERR_DATA_TYPE
    )
    if len(text) < 9 or not text.startswith("MSH"):
        raise bad
    fs = text[3]
    end = text.find(fs, 4)
    seg_end = text.find("\r")
    if end < 0 or (0 <= seg_end < end):
        raise bad
    enc = text[4:end]
    chars = fs + enc
    if len(enc) not in (4, 5) or len(set(chars)) != len(chars):
        raise bad
    for ch in chars:
        if ch.isalnum() or not ch.isprintable() or ch.isspace():
            raise bad
    return Delimiters(
        field=fs, component=enc[0], repetition=enc[1], escape=enc[2], subcomponent=enc[3]
    )


class Reader:
    """Field access over python-hl7's tree with the message's delimiters.

    python-hl7 only nests where a separator occurs, so a field is either
    ``Field([str])`` or ``Field([Repetition([Component([str, ...]), ...]), ...])``
    (and a repetition may likewise be ``Repetition([str])``). ``reps`` flattens
    both shapes to lists of repetitions of components of subcomponents.
    """

    __slots__ = ("d", "warnings")

    def __init__(self, d: Delimiters) -> None:
        self.d = d
        self.warnings: list[str] = []

    @staticmethod
    def reps(seg: Any, n: int) -> Reps:
        if n >= len(seg):
            return []
        f = seg[n]
        if len(f) == 1 and isinstance(f[0], str):
            s = f[0]
            return [[[s]]] if s else []
        out: Reps = []
        for r in f:
            if isinstance(r, str):
                rep = [[r]]
            elif len(r) == 1 and isinstance(r[0], str):
                rep = [[r[0]]]
            else:
                rep = [[c] if isinstance(c, str) else list(c) for c in r]
            if any(s for comp in rep for s in comp):
                out.append(rep)
        return out

    def leaf(self, s: str) -> str | None:
        # '""' is HL7's explicit null ("delete this value").
        if not s or s == '""':
            return None
        if self.d.escape in s:
            s = unescape(s, self.d)
        s = s.strip()
        return s or None

    def c(self, rep: list[list[str]], i: int, s: int = 1) -> str | None:
        if i > len(rep):
            return None
        comp = rep[i - 1]
        if s > len(comp):
            return None
        return self.leaf(comp[s - 1])

    def first(self, seg: Any, n: int, i: int = 1, s: int = 1) -> str | None:
        reps = self.reps(seg, n)
        return self.c(reps[0], i, s) if reps else None

    def text(self, rep: list[list[str]]) -> str | None:
        """A whole repetition as text (for ST/TX/FT values that contain unescaped delimiters)."""
        comps = [self.d.subcomponent.join(comp) for comp in rep]
        while comps and not comps[-1]:
            comps.pop()
        return self.leaf(self.d.component.join(comps))

    def ts(
        self, seg: Any, n: int, seg_id: str, index: int, *, date_only: bool = False
    ) -> str | None:
        value = self.first(seg, n)
        if value is None:
            return None
        try:
            return hl7_to_iso(value, date_only=date_only)
        except TimestampError:
            raise malformed(
                f"{seg_id}-{n} (segment {index}): invalid date/time",
                segment=seg_id,
                field=n,
                index=index,
                hl7_error=ERR_DATA_TYPE,
            ) from None

    def ts_lenient(self, seg: Any, n: int, seg_id: str, i: int = 1) -> str | None:
        """A date/time we can do without: an invalid one is dropped with a warning."""
        reps = self.reps(seg, n)
        value = self.c(reps[0], i) if reps else None
        if value is None:
            return None
        try:
            return hl7_to_iso(value)
        except TimestampError:
            self.warn(WARN_BAD_DATE.format(where=f"{seg_id}-{n}"))
            return None

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def coded(self, seg: Any, n: int) -> CodedValue | None:
        """The first repetition of a CE/CWE field, or None when it has neither code nor text."""
        reps = self.reps(seg, n)
        if not reps:
            return None
        cv = self.ce(reps[0])
        return cv if (cv.code or cv.text) else None

    # --- composite data types ----------------------------------------------------------------

    def ce(self, rep: list[list[str]]) -> CodedValue:
        c = self.c
        return CodedValue(
            code=c(rep, 1),
            text=c(rep, 2),
            system=c(rep, 3),
            alt_code=c(rep, 4),
            alt_text=c(rep, 5),
            alt_system=c(rep, 6),
        )

    def xcn(self, rep: list[list[str]]) -> Provider:
        c = self.c
        return Provider(
            id=c(rep, 1),
            family=c(rep, 2),
            given=c(rep, 3),
            prefix=c(rep, 6),
            assigning_authority=c(rep, 9),
        )
