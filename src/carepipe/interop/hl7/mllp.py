"""An asyncio MLLP listener for HL7 v2 and a thread wrapper (the client: ``mllp_client``).

The server owns the transport only: it cuts frames, hands each message's raw
bytes and the peer address to ``handler``, and frames the ACK built from the
handler's ``AckDecision``. What "accept" means (archive, queue) is the handler's
business. Frames on one connection are handled one at a time, in order, so
ACKs come back in the order messages were sent.

Failure behaviour: a handler that raises gets an AE with a generic text (the
connection stays open); an oversized frame gets an AR (and goes to
``oversized_handler``, which archives it); an idle connection is closed after
``idle_timeout``; connections beyond ``max_connections`` are closed at once.
``pause()`` closes the port until ``resume()`` (the maintenance fence).

Backpressure: at most ``max_in_flight`` messages are being handled per server.
A connection whose frames would exceed it waits before handling them and does
not read meanwhile, so a sender faster than the intake is slowed by TCP flow
control instead of piling up work here (and every message read still gets its
ACK). Logs carry peer, sizes and counts, never message content.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from carepipe.interop.hl7.ack import AckCode, build_ack
from carepipe.interop.hl7.fields import ERR_INTERNAL
from carepipe.interop.hl7.framing import OVERSIZED_PREFIX_BYTES, MllpDecoder, Oversized, frame
from carepipe.interop.hl7.mllp_client import (
    DEFAULT_MAX_MESSAGE_BYTES,
    MllpClient,
    send_messages,
    send_messages_sync,
)
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import MLLP_BACKPRESSURE, MLLP_IN_FLIGHT, MLLP_IN_FLIGHT_LIMIT

log = get_logger(__name__)

__all__ = [
    "DEFAULT_MAX_MESSAGE_BYTES",
    "AckDecision",
    "MllpClient",
    "MllpServer",
    "MllpServerThread",
    "send_messages",
    "send_messages_sync",
    "sync_batch_handler",
    "sync_handler",
]

DEFAULT_MAX_IN_FLIGHT = 64
HANDLER_FAILED_TEXT = "internal error while accepting the message; please resend"
TOO_LARGE_TEXT = "message exceeds the maximum size"


@dataclass(frozen=True, slots=True)
class AckDecision:
    """What the handler decided: the MSA-1 code, MSA-3 text and (for AE/AR) an ERR code."""

    code: AckCode = "AA"
    text: str | None = None
    error_code: str | None = None  # HL7 table 0357
    # A complete answer to send as is (a batch's BHS/ACK.../BTS); ``code`` is then its summary.
    ack: str | None = None

    @classmethod
    def accept(cls, text: str | None = None) -> AckDecision:
        return cls("AA", text)

    @classmethod
    def error(cls, text: str, error_code: str = ERR_INTERNAL) -> AckDecision:
        return cls("AE", text, error_code)

    @classmethod
    def reject(cls, text: str, error_code: str = ERR_INTERNAL) -> AckDecision:
        return cls("AR", text, error_code)


Handler = Callable[[bytes, str], Awaitable[AckDecision]]
# Several messages that arrived together (a sender with a window > 1): one
# decision per message, in order. Lets the receiver commit them in one transaction.
BatchHandler = Callable[[list[bytes], str], Awaitable[list[AckDecision]]]
# Told about every oversized frame (its prefix, size and SHA-256), e.g. to archive it.
OversizedHandler = Callable[[Oversized, str], Awaitable[None]]


class _InFlight:
    """Counts messages being handled; ``acquire`` waits while the bound is reached.

    A group larger than the bound is let through alone (when nothing else is in
    flight), so no group can wait forever.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.count = 0
        self._cond = asyncio.Condition()

    async def acquire(self, n: int) -> bool:
        """Take ``n`` slots; returns True if it had to wait (backpressure)."""
        waited = False
        async with self._cond:
            while self.count and self.count + n > self.limit:
                waited = True
                await self._cond.wait()
            self.count += n
        MLLP_IN_FLIGHT.inc(n)
        return waited

    async def release(self, n: int) -> None:
        async with self._cond:
            self.count -= n
            self._cond.notify_all()
        MLLP_IN_FLIGHT.dec(n)


def sync_handler(
    fn: Callable[[bytes, str], AckDecision], executor: Executor | None = None
) -> Handler:
    """Adapt a blocking handler (e.g. one that writes to the database) to the async server.

    Calls run in ``executor`` (default: the loop's thread pool), so a slow
    database does not stall other connections.
    """

    async def handler(raw: bytes, peer: str) -> AckDecision:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, fn, raw, peer)

    return handler


def sync_batch_handler(
    fn: Callable[[list[bytes], str], list[AckDecision]], executor: Executor | None = None
) -> BatchHandler:
    """``sync_handler`` for a blocking batch handler."""

    async def handler(raws: list[bytes], peer: str) -> list[AckDecision]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, fn, raws, peer)

    return handler


@dataclass
class MllpStats:
    connections_total: int = 0
    connections_open: int = 0
    connections_refused: int = 0
    messages: int = 0
    acks: dict[str, int] | None = None
    handler_errors: int = 0
    oversized: int = 0
    garbage_bytes: int = 0
    idle_closed: int = 0
    backpressure_waits: int = 0

    def __post_init__(self) -> None:
        if self.acks is None:
            self.acks = {"AA": 0, "AE": 0, "AR": 0}


class _Connection:
    __slots__ = ("busy", "peer", "task")

    def __init__(self, peer: str, task: asyncio.Task[Any]) -> None:
        self.peer = peer
        self.task = task
        self.busy = False


class MllpServer:
    """An MLLP listener. ``await start()``, then ``await stop()`` (graceful)."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        *,
        idle_timeout: float | None = 300.0,
        max_connections: int = 512,
        read_size: int = 65536,
        batch_handler: BatchHandler | None = None,
        oversized_handler: OversizedHandler | None = None,
        oversized_keep_bytes: int = OVERSIZED_PREFIX_BYTES,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.handler = handler
        self.batch_handler = batch_handler
        self.oversized_handler = oversized_handler
        self.oversized_keep_bytes = oversized_keep_bytes
        self.max_in_flight = max(1, max_in_flight)
        self._in_flight: _InFlight | None = None
        self.max_message_bytes = max_message_bytes
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self.read_size = read_size
        self.stats = MllpStats()
        self._server: asyncio.Server | None = None
        self._port: int | None = None  # kept while paused: resume() binds it again
        self.paused = False
        self._gate: asyncio.Lock | None = None  # pause/resume in the order asked
        self._connections: set[_Connection] = set()
        self._stopping = False
        self._stopped: asyncio.Event | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0), also while paused."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def active_connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        """Bind and start accepting connections."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._stopped = asyncio.Event()
        self._stopping = False
        self._in_flight = _InFlight(self.max_in_flight)
        self._gate = asyncio.Lock()
        MLLP_IN_FLIGHT_LIMIT.set(self.max_in_flight)
        await self._listen(self.requested_port)
        log.info("mllp.listening", host=self.host, port=self.port)

    async def _listen(self, port: int) -> None:
        self._server = await asyncio.start_server(
            self._on_connection, self.host, port, reuse_address=True
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        """Start if needed and run until ``stop()`` is called."""
        if self._server is None:
            await self.start()
        assert self._stopped is not None
        await self._stopped.wait()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let messages being handled finish and get their ACK, then close.

        Connections waiting for data are closed at once (a partial frame there
        was never acknowledged, so the sender will resend it). Handlers still
        running after ``grace`` seconds are cancelled.
        """
        if self._server is not None:
            await self._close(grace)
        self.paused = False
        if self._stopped is not None:
            self._stopped.set()
        log.info("mllp.stopped", messages=self.stats.messages)

    async def pause(self, grace: float = 10.0) -> None:
        """Stop accepting until ``resume()``: the port is closed, so connects are refused
        and senders keep their messages; open connections end as in ``stop()``."""
        assert self._gate is not None, "server not started"
        async with self._gate:
            if self._server is not None and not self.paused:
                self.paused = True
                await self._close(grace)
                log.info("mllp.paused", port=self._port, messages=self.stats.messages)

    async def resume(self) -> None:
        """Listen again on the port ``pause()`` closed."""
        assert self._gate is not None and self._port is not None, "server not started"
        async with self._gate:
            if self.paused and self._stopped is not None and not self._stopped.is_set():
                await self._listen(self._port)
                self.paused = self._stopping = False
                log.info("mllp.resumed", port=self._port)

    async def _close(self, grace: float) -> None:
        server = self._server
        assert server is not None
        self._stopping = True
        server.close()
        for conn in list(self._connections):
            if not conn.busy:
                conn.task.cancel()
        tasks = [c.task for c in self._connections]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), timeout=1.0)
        if self._server is server:
            self._server = None

    async def __aenter__(self) -> MllpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- per connection -----------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        if self._stopping or len(self._connections) >= self.max_connections:
            self.stats.connections_refused += 1
            log.warning("mllp.connection_refused", peer=peer, open=len(self._connections))
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            return
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(peer, task)
        self._connections.add(conn)
        self.stats.connections_total += 1
        self.stats.connections_open += 1
        decoder = MllpDecoder(self.max_message_bytes, self.oversized_keep_bytes)
        try:
            await self._serve(conn, reader, writer, decoder)
        except asyncio.CancelledError:
            pass  # stop(): closing below
        except (ConnectionError, OSError) as exc:
            log.info("mllp.connection_lost", peer=peer, error=type(exc).__name__)
        finally:
            self._connections.discard(conn)
            self.stats.connections_open -= 1
            self.stats.garbage_bytes += decoder.garbage_bytes
            if decoder.garbage_bytes:
                log.warning("mllp.bytes_outside_frames", peer=peer, bytes=decoder.garbage_bytes)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    async def _serve(
        self,
        conn: _Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: MllpDecoder,
    ) -> None:
        while not self._stopping:
            try:
                if self.idle_timeout is None:
                    data = await reader.read(self.read_size)
                else:
                    async with asyncio.timeout(self.idle_timeout):
                        data = await reader.read(self.read_size)
            except TimeoutError:
                self.stats.idle_closed += 1
                log.info("mllp.idle_timeout", peer=conn.peer)
                return
            if not data:
                return
            events = decoder.feed(data)
            if not events:
                continue
            # Bounded work: wait for room before handling (and before reading more).
            assert self._in_flight is not None
            if await self._in_flight.acquire(len(events)):
                self.stats.backpressure_waits += 1
                MLLP_BACKPRESSURE.inc()
            conn.busy = True
            try:
                if self.batch_handler is not None and len(events) > 1:
                    # Every ACK of the batch goes out after the batch is handled.
                    for ack in await self._answer_batch(events, conn.peer):
                        writer.write(frame(ack))
                    await writer.drain()
                    continue
                for event in events:
                    ack = await self._answer(event, conn.peer)
                    writer.write(frame(ack))
                    await writer.drain()
            finally:
                conn.busy = False
                await self._in_flight.release(len(events))

    async def _answer(self, event: bytes | Oversized, peer: str) -> str:
        self.stats.messages += 1
        if isinstance(event, Oversized):
            await self._archive_oversized(event, peer)
            return self._oversized(event, peer)
        try:
            decision = await self.handler(event, peer)
            if not isinstance(decision, AckDecision):
                raise TypeError("handler must return an AckDecision")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any handler failure becomes an AE
            decision = self._handler_failed(exc, peer, 1)
        return self._ack(event, decision, peer)

    async def _answer_batch(self, events: list[bytes | Oversized], peer: str) -> list[str]:
        assert self.batch_handler is not None
        self.stats.messages += len(events)
        raws = [e for e in events if not isinstance(e, Oversized)]
        decisions: list[AckDecision] = []
        if raws:
            try:
                decisions = await self.batch_handler(raws, peer)
                if len(decisions) != len(raws) or not all(
                    isinstance(d, AckDecision) for d in decisions
                ):
                    raise TypeError("batch handler must return one AckDecision per message")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the batch was not stored: every message gets an AE
                decisions = [self._handler_failed(exc, peer, len(raws))] * len(raws)
        for e in events:
            if isinstance(e, Oversized):
                await self._archive_oversized(e, peer)
        answers = iter(decisions)
        return [
            self._oversized(e, peer)
            if isinstance(e, Oversized)
            else self._ack(e, next(answers), peer)
            for e in events
        ]

    async def _archive_oversized(self, event: Oversized, peer: str) -> None:
        if self.oversized_handler is None:
            return
        try:
            await self.oversized_handler(event, peer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the AR still goes out; the failure is logged
            log.error("mllp.oversized_archive_failed", peer=peer, error=type(exc).__name__)

    def _oversized(self, event: Oversized, peer: str) -> str:
        self.stats.oversized += 1
        log.warning("mllp.oversized", peer=peer, bytes=event.size, limit=self.max_message_bytes)
        return self._ack(event.prefix, AckDecision.reject(TOO_LARGE_TEXT), peer)

    def _handler_failed(self, exc: Exception, peer: str, messages: int) -> AckDecision:
        self.stats.handler_errors += messages
        log.error("mllp.handler_failed", peer=peer, error=type(exc).__name__, messages=messages)
        return AckDecision.error(HANDLER_FAILED_TEXT)

    def _ack(self, raw: bytes, decision: AckDecision, peer: str) -> str:
        try:
            ack = decision.ack or build_ack(
                raw, decision.code, decision.text, error_code=decision.error_code
            )
        except Exception as exc:  # e.g. an invalid code from the handler
            log.error("mllp.ack_failed", peer=peer, error=type(exc).__name__)
            decision = AckDecision.error(HANDLER_FAILED_TEXT)
            ack = build_ack(raw, "AE", decision.text)
        assert self.stats.acks is not None
        self.stats.acks[decision.code] = self.stats.acks.get(decision.code, 0) + 1
        return ack


# --- thread wrapper ---------------------------------------------------------------------------


class MllpServerThread:
    """Run an ``MllpServer`` in a background thread with its own event loop.

    For ``carepipe up``: ``start()`` returns once the port is bound (or raises
    what binding raised), ``stop()`` shuts down gracefully and joins the thread.
    """

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        **server_kwargs: Any,
    ) -> None:
        self.server = MllpServer(host, port, handler, max_message_bytes, **server_kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def start(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name="mllp-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("MLLP server did not start in time")
        if self._error is not None:
            self._thread.join(timeout)
            raise self._error

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as exc:  # handed to start()'s caller
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_until_complete(self.server.serve_forever())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, grace: float = 10.0) -> None:
        if self._thread is None or self._loop is None or self._error is not None:
            return
        if self._loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self.server.stop(grace), self._loop)
            with contextlib.suppress(Exception):
                fut.result(grace + 5.0)
        self._thread.join(grace + 5.0)
        self._thread = None

    def set_accepting(self, accepting: bool) -> None:
        """``resume()`` (True) or ``pause()`` (False) from another thread, not waiting."""
        if self._loop is not None and self._loop.is_running():
            work = self.server.resume() if accepting else self.server.pause()
            asyncio.run_coroutine_threadsafe(work, self._loop)

    def __enter__(self) -> MllpServerThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
