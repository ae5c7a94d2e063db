"""HL7 v2 batches and files: ``[FHS] {[BHS] {MSH ...} [BTS]} [FTS]`` (chapter 2.10.3).

``split_batch`` cuts a batch into its messages at byte level, so each message is
archived exactly as sent (its own segment separators included). ``batch_ack``
builds the answer: a batch of ACK messages, one per message in order, under a
BHS whose BHS-12 (reference batch control id) names the batch acknowledged and
a BTS counting them (wrapped in FHS/FTS when the input was a file). That is the
"acknowledge every message" option of the standard's batch protocol; each
inner ACK is exactly what the message would get on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carepipe.core.clock import utcnow
from carepipe.interop.hl7.ack import new_control_id
from carepipe.interop.hl7.escape import DEFAULT_DELIMITERS, Delimiters, escape
from carepipe.interop.hl7.normalize import strip_mllp

ENVELOPE_SEGMENTS = frozenset({b"FHS", b"BHS", b"BTS", b"FTS"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_COPIED = 200


@dataclass(frozen=True, slots=True)
class Hl7Batch:
    """A batch cut into messages, with the header fields an answer copies."""

    messages: tuple[bytes, ...]
    is_file: bool  # an FHS was present
    delimiters: Delimiters
    header: tuple[str, ...]  # the BHS (else FHS) fields, raw: [0] is the segment id
    file_header: tuple[str, ...]  # the FHS fields, raw (empty without FHS)
    declared_count: int | None  # BTS-1, when given
    trailing_bytes: int = 0  # bytes of segments that belong to no message (ignored)


def _lines(raw: bytes) -> list[tuple[int, int]]:
    """(start, end) of every non-empty line (segment), separators excluded."""
    out: list[tuple[int, int]] = []
    start = 0
    n = len(raw)
    for m in re.finditer(rb"\r\n|\r|\n", raw):
        if m.start() > start and raw[start : m.start()].strip():
            out.append((start, m.start()))
        start = m.end()
    if start < n and raw[start:].strip():
        out.append((start, n))
    return out


def is_batch(raw: bytes) -> bool:
    """True if ``raw`` (framed or not) starts with an FHS or BHS segment."""
    head = strip_mllp(raw).lstrip(b"\xef\xbb\xbf \t\r\n")[:3]
    return head in (b"FHS", b"BHS")


def _fields(segment: bytes, fs: bytes) -> tuple[str, ...]:
    text = segment.decode("latin-1")
    return tuple(text.split(fs.decode("latin-1")))


def split_batch(raw: bytes) -> Hl7Batch:
    """Cut a batch (or file) into its messages. Never raises; a batch may hold no message."""
    body = strip_mllp(raw)
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    lines = _lines(body)
    messages: list[bytes] = []
    current: tuple[int, int] | None = None  # byte range of the message being collected
    header: tuple[str, ...] = ()
    file_header: tuple[str, ...] = ()
    declared: int | None = None
    trailing = 0
    d = DEFAULT_DELIMITERS
    for start, end in lines:
        seg_id = body[start : start + 3]
        if (seg_id in ENVELOPE_SEGMENTS or seg_id == b"MSH") and current is not None:
            messages.append(body[current[0] : current[1]])
            current = None
        if seg_id == b"MSH":
            current = (start, end)
        elif seg_id in (b"FHS", b"BHS"):
            seg = body[start:end]
            if len(seg) >= 8:
                fs = seg[3:4]
                fields = _fields(seg, fs)
                if seg_id == b"FHS":
                    file_header = fields
                if seg_id == b"BHS" or not header:
                    header = fields
                enc = fields[1] if len(fields) > 1 else ""
                if len(enc) >= 4 and len(set(fs.decode("latin-1") + enc[:4])) == 5:
                    d = Delimiters(fs.decode("latin-1"), enc[0], enc[1], enc[2], enc[3])
        elif seg_id == b"BTS":
            fields = _fields(body[start:end], d.field.encode("latin-1"))
            count = fields[1].split(d.component)[0].strip() if len(fields) > 1 else ""
            if count.isdigit() and len(count) < 10:
                declared = (declared or 0) + int(count)
        elif seg_id == b"FTS":
            pass
        elif current is not None:
            current = (current[0], end)
        else:
            trailing += end - start  # a segment outside any message
    if current is not None:
        messages.append(body[current[0] : current[1]])
    return Hl7Batch(
        messages=tuple(messages),
        is_file=bool(file_header),
        delimiters=d,
        header=header,
        file_header=file_header,
        declared_count=declared,
        trailing_bytes=trailing,
    )


def _copy(fields: tuple[str, ...], n: int) -> str:
    """Field ``n`` of an FHS/BHS (field 1 is the separator, so it sits at index n - 1)."""
    value = fields[n - 1] if 0 < n - 1 < len(fields) else ""
    return _CONTROL.sub("", value)[:_MAX_COPIED]


def _header_segment(kind: str, fields: tuple[str, ...], d: Delimiters, stamp: str) -> str:
    # Sender and receiver swapped; a new control id; the original control id as reference.
    return d.field.join(
        [
            kind,
            d.encoding_characters,
            _copy(fields, 5),
            _copy(fields, 6),
            _copy(fields, 3),
            _copy(fields, 4),
            stamp,
            "",
            "",
            "",
            new_control_id(),
            _copy(fields, 11),
        ]
    )


def batch_ack(batch: Hl7Batch, acks: list[str], comment: str | None = None) -> str:
    """The answer to a batch: its ACKs (unframed, ``\\r``-terminated) inside BHS/BTS.

    ``comment`` goes to BTS-2 (e.g. why the batch held nothing we could acknowledge).
    """
    d = batch.delimiters
    stamp = utcnow().strftime("%Y%m%d%H%M%S") + "+0000"
    segments: list[str] = []
    if batch.is_file:
        segments.append(_header_segment("FHS", batch.file_header, d, stamp))
    segments.append(_header_segment("BHS", batch.header, d, stamp))
    body = "".join(a if a.endswith("\r") else a + "\r" for a in acks)
    trailer = f"BTS{d.field}{len(acks)}"
    if comment:
        trailer += f"{d.field}{escape(_CONTROL.sub(' ', comment)[:80], d)}"
    tail = [trailer]
    if batch.is_file:
        tail.append(f"FTS{d.field}1")
    return "\r".join(segments) + "\r" + body + "\r".join(tail) + "\r"
