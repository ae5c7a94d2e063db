"""A small MLLP client: send HL7 v2 messages, read one ACK per message (tests, benchmarks,
tools). The listener is ``carepipe.interop.hl7.mllp``, which re-exports these names.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence

from carepipe.interop.hl7.framing import MllpDecoder, frame

# The largest message either end accepts by default (the listener's limit too).
DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class MllpClient:
    """A small MLLP client: send messages, read one ACK per message (tests, benchmarks, tools)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float = 10.0,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._decoder = MllpDecoder(max_message_bytes)
        self._ready: list[bytes] = []

    async def connect(self) -> None:
        async with asyncio.timeout(self.timeout):
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    async def __aenter__(self) -> MllpClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (no framing): for tests of garbage and partial frames."""
        assert self._writer is not None, "not connected"
        self._writer.write(data)
        await self._writer.drain()

    async def write(self, message: bytes | str) -> None:
        """Send one framed message without waiting for its ACK."""
        await self.send_raw(frame(message))

    async def read_ack(self) -> str:
        """The next ACK (text). Raises ``TimeoutError`` or ``ConnectionError``."""
        assert self._reader is not None, "not connected"
        async with asyncio.timeout(self.timeout):
            while not self._ready:
                data = await self._reader.read(65536)
                if not data:
                    raise ConnectionError("connection closed before the ACK arrived")
                for ev in self._decoder.feed(data):
                    if isinstance(ev, bytes):
                        self._ready.append(ev)
        return self._ready.pop(0).decode("utf-8", errors="replace")

    async def send(self, message: bytes | str) -> str:
        """Send one message and wait for its ACK."""
        await self.write(message)
        return await self.read_ack()

    async def send_many(self, messages: Iterable[bytes | str], *, window: int = 1) -> list[str]:
        """Send messages with up to ``window`` unacknowledged at a time; ACKs in order."""
        acks: list[str] = []
        outstanding = 0
        for msg in messages:
            if outstanding >= window:
                acks.append(await self.read_ack())
                outstanding -= 1
            await self.write(msg)
            outstanding += 1
        for _ in range(outstanding):
            acks.append(await self.read_ack())
        return acks


async def send_messages(
    host: str,
    port: int,
    messages: Sequence[bytes | str],
    *,
    timeout: float = 10.0,
    window: int = 1,
) -> list[str]:
    """Open one connection, send ``messages``, return their ACKs in order."""
    async with MllpClient(host, port, timeout=timeout) as client:
        return await client.send_many(messages, window=window)


def send_messages_sync(
    host: str,
    port: int,
    messages: Sequence[bytes | str],
    *,
    timeout: float = 10.0,
    window: int = 1,
) -> list[str]:
    """Blocking ``send_messages`` (own event loop): for scripts and sync tests."""
    return asyncio.run(send_messages(host, port, messages, timeout=timeout, window=window))
