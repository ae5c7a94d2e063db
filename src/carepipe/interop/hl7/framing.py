"""MLLP framing: ``0x0B <message> 0x1C 0x0D``, decoded incrementally from a byte stream.

Pure and synchronous (the server and the client both use it). It copes with
frames split across reads, several frames in one read, bytes outside frames
(discarded and counted), a new start block inside an unfinished frame (the
unfinished part is dropped: the sender gave up on it) and frames larger than
the limit (their bytes are discarded as they arrive; only a prefix is kept, so
the answer can still quote the original MSH and the refusal can be archived,
together with the full frame's size and SHA-256).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

SB = b"\x0b"
EB = b"\x1c"
CR = b"\r"
END = EB + CR
OVERSIZED_PREFIX_BYTES = 4096


def frame(message: bytes | str, encoding: str = "utf-8") -> bytes:
    """Wrap one message in MLLP start/end blocks."""
    body = message.encode(encoding) if isinstance(message, str) else bytes(message)
    return SB + body + END


@dataclass(frozen=True, slots=True)
class Oversized:
    """A frame over the size limit: its first bytes, its full size and the full SHA-256."""

    prefix: bytes
    size: int
    sha256: str = ""


_SEEK, _IN, _DISCARD = 0, 1, 2


class MllpDecoder:
    """Feed bytes in, get complete frames (``bytes``) or ``Oversized`` markers out."""

    def __init__(
        self, max_message_bytes: int = 1 << 20, keep_bytes: int = OVERSIZED_PREFIX_BYTES
    ) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be positive")
        self.max_message_bytes = max_message_bytes
        # How much of an oversized frame is kept (for the ACK and the archive).
        self.keep_bytes = max(keep_bytes, OVERSIZED_PREFIX_BYTES)
        self._discard_hash = hashlib.sha256()
        self._discard_tail = b""
        self._state = _SEEK
        self._buf = bytearray()
        self._discard_size = 0
        self._discard_prefix = b""
        self._pending_eb = False  # the previous chunk ended with 0x1C inside a frame
        self.garbage_bytes = 0  # bytes seen outside any frame (or in abandoned frames)
        self.abandoned_frames = 0

    @property
    def in_frame(self) -> bool:
        """True while a frame has started and not yet ended (a partial frame is buffered)."""
        return self._state != _SEEK

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        events: list[bytes | Oversized] = []
        pos, n = 0, len(data)
        while pos < n:
            if self._state == _SEEK:
                i = data.find(SB, pos)
                if i < 0:
                    self.garbage_bytes += n - pos
                    break
                self.garbage_bytes += i - pos
                self._state, self._pending_eb = _IN, False
                self._buf.clear()
                pos = i + 1
                continue

            if self._pending_eb:
                self._pending_eb = False
                if data[pos] == 0x0D:
                    # The 0x1C that ended the previous chunk was an end block.
                    pos += 1
                    events.append(self._finish(with_trailing_eb=True))
                    continue

            j = data.find(END, pos)
            k = data.find(SB, pos, j if j >= 0 else n)
            if k >= 0:
                # A new start block before this frame ended: the sender abandoned it.
                self.garbage_bytes += len(self._buf) + self._discard_size + (k - pos)
                self.abandoned_frames += 1
                self._reset_frame()
                self._state = _IN
                pos = k + 1
                continue
            stop = j if j >= 0 else n
            self._append(data[pos:stop])
            if j >= 0:
                pos = j + 2
                events.append(self._finish(with_trailing_eb=False))
                continue
            self._pending_eb = data[n - 1] == 0x1C
            break
        return events

    def _append(self, chunk: bytes) -> None:
        if self._state == _DISCARD:
            self._discard_size += len(chunk)
            self._hash_held_back(chunk)
            missing = self.keep_bytes - len(self._discard_prefix)
            if missing > 0:
                self._discard_prefix += chunk[:missing]
            return
        # One byte of slack: a chunk may end with the 0x1C of the end block.
        if len(self._buf) + len(chunk) > self.max_message_bytes + 1:
            self._state = _DISCARD
            self._discard_hash = hashlib.sha256()
            self._discard_tail = b""
            self._hash_held_back(bytes(self._buf))
            self._hash_held_back(chunk)
            self._discard_prefix = bytes((self._buf + chunk)[: self.keep_bytes])
            self._discard_size = len(self._buf) + len(chunk)
            self._buf.clear()
            return
        self._buf += chunk

    def _hash_held_back(self, chunk: bytes) -> None:
        """Hash an oversized frame's bytes, holding back the last one: it may be the 0x1C
        of the end block, which is not part of the frame."""
        if not chunk:
            return
        self._discard_hash.update(self._discard_tail)
        self._discard_hash.update(chunk[:-1])
        self._discard_tail = chunk[-1:]

    def _finish(self, *, with_trailing_eb: bool) -> bytes | Oversized:
        event: bytes | Oversized
        if self._state == _DISCARD:
            size = self._discard_size - (1 if with_trailing_eb else 0)
            if not with_trailing_eb:
                # The held-back byte is content (only a trailing 0x1C is the end block's).
                self._discard_hash.update(self._discard_tail)
            digest = self._discard_hash.hexdigest()
            event = Oversized(self._discard_prefix[:size], size, digest)
        else:
            body = bytes(self._buf[:-1] if with_trailing_eb else self._buf)
            if len(body) > self.max_message_bytes:
                event = Oversized(
                    body[: self.keep_bytes], len(body), hashlib.sha256(body).hexdigest()
                )
            else:
                event = body
        self._reset_frame()
        self._state = _SEEK
        return event

    def _reset_frame(self) -> None:
        self._buf.clear()
        self._discard_size = 0
        self._discard_prefix = b""
        self._discard_hash = hashlib.sha256()
        self._discard_tail = b""
        self._pending_eb = False
