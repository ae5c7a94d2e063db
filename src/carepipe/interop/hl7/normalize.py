"""Turn whatever arrived (bytes or text, MLLP-framed or not, any line ending) into HL7 text.

HL7 v2 separates segments with a carriage return only. Files and copy-pasted
messages arrive with ``\\n`` or ``\\r\\n``; MLLP adds a start block (0x0B) and an
end block (0x1C 0x0D). Everything here is total: it never raises for any input.
"""

from __future__ import annotations

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D

# Characters that may surround a message but never belong to it. Trailing spaces
# and tabs at the very end carry no meaning in HL7 (fields are not padded).
_EDGE_CHARS = " \t\r\n\x00\x0b\x1c\ufeff"


def decode(raw: bytes) -> str:
    """Decode message bytes: UTF-8 when valid, else latin-1 (which accepts any byte).

    MSH-18 (character set) is not consulted: in practice senders in our
    deployments use UTF-8, ASCII or a single-byte Western code page.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def strip_mllp(raw: bytes) -> bytes:
    """Remove MLLP framing bytes (and whitespace around them) at both ends of ``raw``."""
    start, end = 0, len(raw)
    while start < end and raw[start] in b" \t\r\n\x00\x0b":
        start += 1
    while end > start and raw[end - 1] in b" \t\r\n\x00\x1c":
        end -= 1
    return raw[start:end]


def normalize(raw: bytes | str) -> str:
    """Return HL7 text with ``\\r`` segment separators, no framing and no blank segments.

    - bytes are stripped of MLLP framing, then decoded (UTF-8, latin-1 fallback);
    - ``\\r\\n`` and ``\\n`` become ``\\r``;
    - leading/trailing whitespace, NULs, framing bytes and a BOM are removed;
    - empty (whitespace-only) segments are dropped.

    The last segment carries no trailing ``\\r``.
    """
    text = decode(strip_mllp(raw)) if isinstance(raw, bytes | bytearray) else str(raw)
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    text = text.strip(_EDGE_CHARS)
    if "\r\r" in text or "\r " in text or "\r\t" in text:
        # Blank lines between segments (common in files edited by hand).
        text = "\r".join(seg for seg in text.split("\r") if seg.strip())
    return text
