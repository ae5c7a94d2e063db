"""Original-mode HL7 acknowledgements (ACK with MSA, and ERR for AE/AR).

``build_ack`` never raises: it reads the original MSH leniently (a message we
could not parse still gets an answer), falls back to defaults field by field,
and for a message without a readable MSH answers with a generated control id
and an empty MSA-2.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from carepipe.core.clock import utcnow
from carepipe.core.errors import CarePipeError, Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7.escape import DEFAULT_DELIMITERS, Delimiters, escape, unescape
from carepipe.interop.hl7.fields import (
    ERR_INTERNAL,
    ERR_UNSUPPORTED_EVENT,
    ERR_UNSUPPORTED_MESSAGE_TYPE,
    ERR_UNSUPPORTED_VERSION,
    read_delimiters,
)
from carepipe.interop.hl7.messages import ParsedMessage
from carepipe.interop.hl7.normalize import normalize
from carepipe.interop.hl7.parse import SUPPORTED_VERSIONS

AckCode = Literal["AA", "AE", "AR"]
ACK_CODES = ("AA", "AE", "AR")
DEFAULT_VERSION = "2.5.1"

# HL7 table 0357.
ERROR_TEXT = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}
# Codes that mean "not acceptable to us at all" (AR) rather than "content in error" (AE).
_REJECT_CODES = frozenset(
    {ERR_UNSUPPORTED_MESSAGE_TYPE, ERR_UNSUPPORTED_EVENT, "202", ERR_UNSUPPORTED_VERSION}
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CODE = re.compile(r"[A-Z0-9_]{1,10}", re.ASCII)
_PROCESSING = re.compile(r"[PDT]", re.ASCII)
_MAX_COPIED = 200  # never reflect more than this much of any field back to the sender
_MAX_TEXT = 80  # MSA-3 is ST(80) in 2.3-2.5


def new_control_id() -> str:
    """A fresh 20-character message control id (MSH-10 is ST(20) up to 2.5)."""
    return uuid.uuid4().hex[:20].upper()


@dataclass(frozen=True, slots=True)
class _Original:
    """What an ACK copies from the message it answers (raw, still escaped, field text)."""

    d: Delimiters
    sending_app: str = ""
    sending_facility: str = ""
    receiving_app: str = ""
    receiving_facility: str = ""
    trigger: str = ""
    control_id: str = ""
    processing_id: str = "P"
    version: str = DEFAULT_VERSION


def _clean(value: str) -> str:
    return _CONTROL.sub("", value)[:_MAX_COPIED]


def _from_text(raw: bytes | str) -> _Original:
    text = normalize(raw)
    if not text.startswith("MSH") or len(text) < 4:
        return _Original(DEFAULT_DELIMITERS)
    try:
        d = read_delimiters(text)
    except Hl7Malformed:
        if text[3] != "|":
            return _Original(DEFAULT_DELIMITERS)
        d = DEFAULT_DELIMITERS
    msh = text.split("\r", 1)[0].split(d.field)

    def f(n: int) -> str:
        # MSH-1 is the separator itself, so MSH-n is at list index n - 1.
        return _clean(msh[n - 1]) if n - 1 < len(msh) else ""

    def first_comp(n: int) -> str:
        return unescape(f(n).split(d.repetition, 1)[0].split(d.component, 1)[0], d).strip()

    trigger = f(9).split(d.component)
    trig = trigger[1].strip().upper() if len(trigger) > 1 else ""
    version = first_comp(12)
    processing = first_comp(11)
    return _Original(
        d,
        sending_app=f(3),
        sending_facility=f(4),
        receiving_app=f(5),
        receiving_facility=f(6),
        trigger=trig if _CODE.fullmatch(trig) else "",
        control_id=f(10),
        processing_id=processing if _PROCESSING.fullmatch(processing) else "P",
        version=version if version in SUPPORTED_VERSIONS else DEFAULT_VERSION,
    )


def _from_parsed(m: ParsedMessage) -> _Original:
    d = DEFAULT_DELIMITERS

    def e(v: str | None) -> str:
        return escape(_clean(v or ""), d)

    return _Original(
        d,
        sending_app=e(m.sending_application),
        sending_facility=e(m.sending_facility),
        receiving_app=e(m.receiving_application),
        receiving_facility=e(m.receiving_facility),
        trigger=m.trigger_event if _CODE.fullmatch(m.trigger_event or "") else "",
        control_id=e(m.control_id),
        processing_id=(m.processing_id if _PROCESSING.fullmatch(m.processing_id or "") else "P"),
        version=m.version if m.version in SUPPORTED_VERSIONS else DEFAULT_VERSION,
    )


def _err_segment(o: _Original, error_code: str, segment: str | None, field: int | None) -> str:
    d = o.d
    desc = escape(ERROR_TEXT.get(error_code, ERROR_TEXT[ERR_INTERNAL]), d)
    seg = segment if segment and _CODE.fullmatch(segment) else ""
    pos = str(field) if field is not None and 0 < field < 1000 else ""
    c, s = d.component, d.subcomponent
    if o.version in ("2.5", "2.5.1"):
        # ERR-2 location (ERL), ERR-3 HL7 error code (CWE), ERR-4 severity.
        location = f"{seg}{c}1{c}{pos}" if seg else ""
        return f"ERR{d.field}{d.field}{location}{d.field}{error_code}{c}{desc}{c}HL70357{d.field}E"
    # 2.3 / 2.4: ERR-1 (ELD): segment^sequence^field^code&text&table.
    return f"ERR{d.field}{seg}{c}{'1' if seg else ''}{c}{pos}{c}{error_code}{s}{desc}{s}HL70357"


def build_ack(
    raw_or_parsed: bytes | str | ParsedMessage,
    code: AckCode,
    text: str | None = None,
    *,
    error_code: str | None = None,
    error_segment: str | None = None,
    error_field: int | None = None,
    control_id: str | None = None,
) -> str:
    """An ACK for a message (raw bytes/text, or a ``ParsedMessage``).

    MSH: sender and receiver swapped, ``ACK^<trigger>^ACK`` (``ACK^<trigger>``
    for 2.3), a new control id (or ``control_id``), the original processing id
    and version (2.5.1 if unreadable). MSA: ``code``, the original MSH-10,
    ``text`` (escaped, cut to 80 characters). For AE/AR an ERR segment carries
    ``error_code`` (HL7 table 0357, default 207) and the position, if given.
    Segments end with ``\\r``; the result is not MLLP-framed.
    """
    if code not in ACK_CODES:
        raise ValueError("ack code must be AA, AE or AR")
    try:
        o = (
            _from_parsed(raw_or_parsed)
            if isinstance(raw_or_parsed, ParsedMessage)
            else _from_text(raw_or_parsed)
        )
    except Exception:  # an ACK must always be possible
        o = _Original(DEFAULT_DELIMITERS)
    d = o.d
    fs, cs = d.field, d.component
    if not o.trigger:
        msg_type = "ACK"
    elif o.version == "2.3":
        msg_type = f"ACK{cs}{o.trigger}"
    else:
        msg_type = f"ACK{cs}{o.trigger}{cs}ACK"
    stamp = utcnow().strftime("%Y%m%d%H%M%S") + "+0000"
    msh = fs.join(
        [
            "MSH",
            d.encoding_characters,
            o.receiving_app,
            o.receiving_facility,
            o.sending_app,
            o.sending_facility,
            stamp,
            "",
            msg_type,
            _clean(control_id) if control_id else new_control_id(),
            o.processing_id,
            o.version,
        ]
    )
    msa_text = escape(_CONTROL.sub(" ", text)[:_MAX_TEXT], d) if text else ""
    msa = fs.join(["MSA", code, o.control_id, msa_text]).rstrip(fs)
    segments = [msh, msa]
    if code != "AA":
        segments.append(_err_segment(o, error_code or ERR_INTERNAL, error_segment, error_field))
    return "\r".join(segments) + "\r"


def ack_code_for(exc: BaseException) -> AckCode:
    """AR for what we never accept (type, event, version), AE for errors in content."""
    details = exc.details if isinstance(exc, CarePipeError) else None
    if isinstance(details, dict) and details.get("hl7_error") in _REJECT_CODES:
        return "AR"
    if isinstance(exc, Hl7Unsupported):
        return "AR"
    return "AE"


def ack_for_exception(raw_or_parsed: bytes | str | ParsedMessage, exc: BaseException) -> str:
    """A NAK for a parse/processing error: MSA-3 is the error's PHI-free message."""
    details = exc.details if isinstance(exc, CarePipeError) else None
    details = details if isinstance(details, dict) else {}
    text = exc.message if isinstance(exc, CarePipeError) else "internal error"
    return build_ack(
        raw_or_parsed,
        ack_code_for(exc),
        text,
        error_code=str(details.get("hl7_error") or ERR_INTERNAL),
        error_segment=details.get("segment"),
        error_field=details.get("field"),
    )


@dataclass(frozen=True, slots=True)
class AckInfo:
    """The parts of an ACK a sender checks."""

    code: str  # MSA-1
    control_id: str  # MSA-2: the control id of the message acknowledged
    text: str | None  # MSA-3
    ack_control_id: str  # MSH-10 of the ACK itself
    error_code: str | None  # ERR code (table 0357), if any


def parse_ack(raw: bytes | str) -> AckInfo:
    """Read an ACK (ours or a peer's). Raises ``Hl7Malformed`` if it has no MSH/MSA."""
    text = normalize(raw)
    d = read_delimiters(text)
    segs = {s[:3]: s.split(d.field) for s in reversed(text.split("\r"))}
    msh, msa = segs.get("MSH"), segs.get("MSA")
    if msh is None or msa is None:
        raise Hl7Malformed("ACK without MSH or MSA", details={"segment": "MSA"})

    def at(seg: list[str], i: int) -> str:
        return seg[i] if i < len(seg) else ""

    err = segs.get("ERR")
    error_code = None
    if err is not None:
        if at(err, 3):  # 2.5 layout
            error_code = at(err, 3).split(d.component)[0] or None
        elif at(err, 1):
            comps = at(err, 1).split(d.component)
            error_code = (comps[3].split(d.subcomponent)[0] if len(comps) > 3 else "") or None
    return AckInfo(
        code=at(msa, 1),
        control_id=unescape(at(msa, 2), d),
        text=unescape(at(msa, 3), d) or None,
        ack_control_id=at(msh, 9),
        error_code=error_code,
    )
