"""Which character set an HL7 v2 message's bytes are in, and decoding them.

Order of precedence: the charset the transport declared (the HTTP ``charset``
parameter), else MSH-18 (HL7 table 0211, first repetition), else UTF-8. Bytes
that are not valid UTF-8 while nothing was declared are still read (as
ISO-8859-1, which accepts any byte) but never silently: the result carries a
warning that ends up in the parsed artifact, the job result and the ACK text.
Bytes that are invalid in a charset the sender *declared* are refused
(``Hl7Malformed``), except for a declared ASCII, which senders often use for
Western text: that is read as UTF-8 (or ISO-8859-1) with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported

# HL7 table 0211 (and common spellings) -> Python codec. Only ASCII-compatible
# encodings: MSH must be readable as bytes before we know the charset.
_TABLE_0211: dict[str, str] = {
    "ASCII": "ascii",
    "ISO IR6": "ascii",
    "US-ASCII": "ascii",
    "8859/1": "latin-1",
    "ISO IR100": "latin-1",
    "8859/2": "iso8859-2",
    "ISO IR101": "iso8859-2",
    "8859/3": "iso8859-3",
    "ISO IR109": "iso8859-3",
    "8859/4": "iso8859-4",
    "ISO IR110": "iso8859-4",
    "8859/5": "iso8859-5",
    "ISO IR144": "iso8859-5",
    "8859/6": "iso8859-6",
    "ISO IR127": "iso8859-6",
    "8859/7": "iso8859-7",
    "ISO IR126": "iso8859-7",
    "8859/8": "iso8859-8",
    "ISO IR138": "iso8859-8",
    "8859/9": "iso8859-9",
    "ISO IR148": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
    "ISO IR192": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc-kr",
    "BIG-5": "big5",
    "ISO IR87": "iso2022-jp",
    "ISO-8859-1": "latin-1",
    "LATIN1": "latin-1",
    "LATIN-1": "latin-1",
    "ISO-8859-15": "iso8859-15",
    "WINDOWS-1252": "cp1252",
    "CP1252": "cp1252",
}
# Named in table 0211 but not ASCII-compatible (or not supported by Python).
_NOT_SUPPORTED = frozenset(
    {"UNICODE", "UNICODE UTF-16", "UNICODE UTF-32", "UTF-16", "UTF-32", "ISO IR14", "ISO IR159",
     "CNS 11643-1992"}
)  # fmt: skip
_SHAPE = re.compile(r"[A-Za-z0-9 ./_-]{1,32}", re.ASCII)

UTF8 = "utf-8"
FALLBACK = "latin-1"
# Short: a warning also goes into MSA-3 of the AA (80 characters).
WARN_NOT_UTF8 = "not valid UTF-8 and no charset declared (MSH-18): read as ISO-8859-1"
WARN_NOT_ASCII = "MSH-18 says ASCII but the text is not: read as {charset}"


@dataclass(frozen=True, slots=True)
class Decoded:
    """Decoded message text, the charset used and any warnings (PHI-free)."""

    text: str
    charset: str
    warnings: tuple[str, ...] = ()


def codec_for(name: str) -> str | None:
    """The Python codec of an HL7 table 0211 value (or common MIME spelling); None if unknown."""
    key = " ".join(name.strip().upper().split())
    if key in _NOT_SUPPORTED:
        return None
    return _TABLE_0211.get(key)


def declared_charset(raw: bytes) -> str | None:
    """MSH-18 (first repetition, first component) read from the raw bytes, if any."""
    start = raw.find(b"MSH")
    if start < 0 or start > 8:  # only framing/whitespace/BOM may precede MSH
        return None
    end = len(raw)
    for sep in (b"\r", b"\n"):
        i = raw.find(sep, start)
        if 0 <= i < end:
            end = i
    seg = raw[start:end]
    if len(seg) < 8:
        return None
    fs = seg[3:4]
    fields = seg.split(fs)
    if len(fields) < 18:
        return None
    enc = fields[1]
    value = fields[17]
    if len(enc) >= 2:
        value = value.split(enc[1:2], 1)[0]  # repetition
    if enc:
        value = value.split(enc[0:1], 1)[0]  # component
    try:
        text = value.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return text or None


def _unsupported(source: str, name: str) -> Hl7Unsupported:
    shown = name if _SHAPE.fullmatch(name) else "?"
    return Hl7Unsupported(
        f"character set {shown} ({source}) not supported",
        details={"hl7_error": "102", "segment": "MSH", "field": 18},
    )


def decode_hl7(raw: bytes, transport_charset: str | None = None) -> Decoded:
    """Decode message bytes (see the module docstring for the rules). Raises like the parser."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    source = "HTTP charset" if transport_charset else "MSH-18"
    name = transport_charset or declared_charset(raw)
    if name:
        codec = codec_for(name)
        if codec is None:
            raise _unsupported(source, name)
        try:
            return Decoded(raw.decode(codec), codec)
        except UnicodeDecodeError:
            if codec != "ascii":
                raise Hl7Malformed(
                    f"text is not valid in the character set the {source} declares",
                    details={"hl7_error": "102", "segment": "MSH", "field": 18},
                ) from None
        try:
            return Decoded(raw.decode(UTF8), UTF8, (WARN_NOT_ASCII.format(charset="UTF-8"),))
        except UnicodeDecodeError:
            text = raw.decode(FALLBACK)
            return Decoded(text, FALLBACK, (WARN_NOT_ASCII.format(charset="ISO-8859-1"),))
    try:
        return Decoded(raw.decode(UTF8), UTF8)
    except UnicodeDecodeError:
        return Decoded(raw.decode(FALLBACK), FALLBACK, (WARN_NOT_UTF8,))
