"""The MLLP listener over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable

import pytest

from carepipe.interop.hl7 import (
    AckDecision,
    MllpClient,
    MllpServer,
    MllpServerThread,
    parse_ack,
    send_messages,
    send_messages_sync,
    sync_handler,
)
from carepipe.interop.hl7.framing import frame
from carepipe.interop.hl7.mllp import HANDLER_FAILED_TEXT, TOO_LARGE_TEXT
from tests.interop.hl7.samples import adt
from tests.support.waiting import wait_until_async


class Recorder:
    """A handler that records what it was given and accepts everything."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.peers: set[str] = set()

    async def __call__(self, raw: bytes, peer: str) -> AckDecision:
        self.messages.append(raw)
        self.peers.add(peer)
        return AckDecision.accept()


def run(coro_fn: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(coro_fn(), timeout=60))


def control_ids(acks: list[str]) -> list[str]:
    return [parse_ack(a).control_id for a in acks]


@pytest.mark.parametrize("window", [1, 100])
def test_one_client_1000_messages_1000_matching_acks(window: int) -> None:
    handler = Recorder()
    messages = [adt(f"C{i:05d}") for i in range(1000)]

    async def main() -> None:
        async with MllpServer("127.0.0.1", 0, handler) as server:
            acks = await send_messages("127.0.0.1", server.port, messages, window=window)
        assert [parse_ack(a).code for a in acks] == ["AA"] * 1000
        assert control_ids(acks) == [f"C{i:05d}" for i in range(1000)]
        assert handler.messages == [m.encode() for m in messages]
        assert len(handler.peers) == 1 and next(iter(handler.peers)).startswith("127.0.0.1:")
        assert server.stats.messages == 1000 and server.stats.acks["AA"] == 1000

    run(main)


def test_partial_frames_several_frames_per_write_and_garbage() -> None:
    handler = Recorder()

    async def main() -> None:
        async with (
            MllpServer("127.0.0.1", 0, handler) as server,
            MllpClient("127.0.0.1", server.port) as c,
        ):
            data = frame(adt("P1"))
            for i in range(0, len(data), 7):  # one message in 7-byte writes
                await c.send_raw(data[i : i + 7])
                await asyncio.sleep(0)
            assert parse_ack(await c.read_ack()).control_id == "P1"
            # Garbage, then three frames in a single write.
            await c.send_raw(b"noise\r\n" + frame(adt("M1")) + frame(adt("M2")) + frame(adt("M3")))
            assert [parse_ack(await c.read_ack()).control_id for _ in range(3)] == [
                "M1",
                "M2",
                "M3",
            ]
        assert server.stats.garbage_bytes == 7
        assert len(handler.messages) == 4

    run(main)


def test_oversized_frame_gets_ar_and_the_connection_keeps_working() -> None:
    handler = Recorder()

    async def main() -> None:
        async with (
            MllpServer("127.0.0.1", 0, handler, max_message_bytes=2000) as server,
            MllpClient("127.0.0.1", server.port) as c,
        ):
            big = adt("BIG1") + "NTE|1||" + "x" * 50_000 + "\r"
            info = parse_ack(await c.send(big))
            assert (info.code, info.control_id, info.text) == ("AR", "BIG1", TOO_LARGE_TEXT)
            assert parse_ack(await c.send(adt("SMALL1"))).code == "AA"
        assert handler.messages == [adt("SMALL1").encode()]
        assert server.stats.oversized == 1

    run(main)


def test_handler_failure_gives_ae_and_keeps_the_connection(capsys) -> None:
    async def handler(raw: bytes, peer: str) -> AckDecision:
        if b"FAIL" in raw:
            raise RuntimeError("db down while storing Secretname")
        if b"WRONG" in raw:
            return "AA"  # type: ignore[return-value]
        return AckDecision.accept()

    async def main() -> None:
        async with (
            MllpServer("127.0.0.1", 0, handler) as server,
            MllpClient("127.0.0.1", server.port) as c,
        ):
            msg = adt("FAIL1").replace("Doe^Jane", "Secretname^Jane")
            info = parse_ack(await c.send(msg))
            assert (info.code, info.control_id, info.text) == (
                "AE",
                "FAIL1",
                HANDLER_FAILED_TEXT,
            )
            assert parse_ack(await c.send(adt("WRONG1"))).code == "AE"
            assert parse_ack(await c.send(adt("OK1"))).code == "AA"
        assert server.stats.handler_errors == 2

    run(main)
    out = capsys.readouterr()
    logs = out.out + out.err
    assert "mllp.handler_failed" in logs
    assert "Secretname" not in logs and "FAIL1" not in logs


def test_handler_decisions_are_framed_as_acks() -> None:
    async def handler(raw: bytes, peer: str) -> AckDecision:
        return AckDecision.reject("unknown patient", "204")

    async def main() -> None:
        async with MllpServer("127.0.0.1", 0, handler) as server:
            (ack,) = await send_messages("127.0.0.1", server.port, [adt("R1")])
        info = parse_ack(ack)
        assert (info.code, info.control_id, info.text, info.error_code) == (
            "AR",
            "R1",
            "unknown patient",
            "204",
        )

    run(main)


def test_empty_and_garbage_frames_get_a_nak_from_the_handler_path() -> None:
    from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
    from carepipe.interop.hl7 import ack_code_for, parse_message

    async def handler(raw: bytes, peer: str) -> AckDecision:
        try:
            parse_message(raw)
        except (Hl7Malformed, Hl7Unsupported) as exc:
            return AckDecision(ack_code_for(exc), exc.message, exc.details.get("hl7_error"))
        return AckDecision.accept()

    async def main() -> None:
        async with MllpServer("127.0.0.1", 0, handler) as server:
            acks = await send_messages("127.0.0.1", server.port, [b"", b"\xff\xfe", adt("G1")])
        assert [parse_ack(a).code for a in acks] == ["AE", "AE", "AA"]
        assert parse_ack(acks[0]).control_id == ""

    run(main)


def test_idle_connections_are_closed() -> None:
    async def main() -> None:
        async with MllpServer("127.0.0.1", 0, Recorder(), idle_timeout=0.2) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"\x0bMSH|partial")  # a frame that never ends
            await writer.drain()
            started = time.monotonic()
            assert await asyncio.wait_for(reader.read(100), 5) == b""  # closed by the server
            assert time.monotonic() - started < 3
            writer.close()
            assert server.stats.idle_closed == 1

    run(main)


def test_many_concurrent_connections() -> None:
    handler = Recorder()

    async def one_client(n: int, port: int) -> list[str]:
        msgs = [adt(f"K{n}-{i}") for i in range(20)]
        acks = await send_messages("127.0.0.1", port, msgs, window=5)
        assert control_ids(acks) == [f"K{n}-{i}" for i in range(20)]
        return acks

    async def main() -> None:
        async with MllpServer("127.0.0.1", 0, handler) as server:
            results = await asyncio.gather(*(one_client(n, server.port) for n in range(50)))
        assert sum(len(r) for r in results) == 1000
        assert len(handler.messages) == 1000 and len(handler.peers) == 50

    run(main)


def test_connections_over_the_limit_are_refused() -> None:
    async def main() -> None:
        async with MllpServer("127.0.0.1", 0, Recorder(), max_connections=2) as server:
            a = MllpClient("127.0.0.1", server.port)
            b = MllpClient("127.0.0.1", server.port)
            await a.connect()
            await b.connect()
            assert parse_ack(await a.send(adt("A"))).code == "AA"
            assert parse_ack(await b.send(adt("B"))).code == "AA"
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            assert await asyncio.wait_for(reader.read(100), 5) == b""
            writer.close()
            assert server.stats.connections_refused == 1
            assert parse_ack(await a.send(adt("A2"))).code == "AA"
            await a.close()
            await b.close()

    run(main)


def test_graceful_stop_finishes_in_flight_messages() -> None:
    entered = asyncio.Event()
    release = asyncio.Event()
    handled: list[bytes] = []

    async def slow(raw: bytes, peer: str) -> AckDecision:
        entered.set()
        await release.wait()
        handled.append(raw)
        return AckDecision.accept()

    async def main() -> None:
        server = MllpServer("127.0.0.1", 0, slow)
        await server.start()
        port = server.port
        busy = MllpClient("127.0.0.1", port)
        idle = MllpClient("127.0.0.1", port)
        await busy.connect()
        await idle.connect()
        await busy.write(adt("INFLIGHT"))
        await asyncio.wait_for(entered.wait(), 5)
        stopping = asyncio.create_task(server.stop(grace=5))
        await wait_until_async(
            lambda: server._server is None or not server._server.is_serving(),
            what="the listener to close",
        )
        # No longer accepting.
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        # The idle connection was closed.
        with pytest.raises(ConnectionError):
            await idle.read_ack()
        assert not stopping.done()
        release.set()
        info = parse_ack(await busy.read_ack())
        assert (info.code, info.control_id) == ("AA", "INFLIGHT")
        await asyncio.wait_for(stopping, 5)
        assert handled == [adt("INFLIGHT").encode()]
        assert server.active_connections == 0
        await busy.close()
        await idle.close()

    run(main)


def test_stop_cancels_handlers_that_outlive_the_grace_period() -> None:
    entered = asyncio.Event()

    async def forever(raw: bytes, peer: str) -> AckDecision:
        entered.set()
        await asyncio.sleep(3600)
        return AckDecision.accept()

    async def main() -> None:
        server = MllpServer("127.0.0.1", 0, forever)
        await server.start()
        c = MllpClient("127.0.0.1", server.port)
        await c.connect()
        await c.write(adt("STUCK"))
        await asyncio.wait_for(entered.wait(), 5)
        started = time.monotonic()
        await server.stop(grace=0.2)
        assert time.monotonic() - started < 3
        assert server.active_connections == 0
        await c.close()

    run(main)


def test_serve_forever_returns_after_stop() -> None:
    async def main() -> None:
        server = MllpServer("127.0.0.1", 0, Recorder())
        task = asyncio.create_task(server.serve_forever())
        while server._server is None:
            await asyncio.sleep(0.01)
        assert (
            parse_ack((await send_messages("127.0.0.1", server.port, [adt("SF")]))[0]).code == "AA"
        )
        await server.stop()
        await asyncio.wait_for(task, 5)

    run(main)


def test_thread_wrapper_with_a_blocking_handler() -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def blocking(raw: bytes, peer: str) -> AckDecision:
        time.sleep(0.001)  # e.g. a database write
        with lock:
            seen.append(threading.current_thread().name)
        return AckDecision.accept("stored")

    with MllpServerThread("127.0.0.1", 0, sync_handler(blocking)) as srv:
        acks = send_messages_sync("127.0.0.1", srv.port, [adt(f"T{i}") for i in range(50)])
    assert control_ids(acks) == [f"T{i}" for i in range(50)]
    assert {parse_ack(a).text for a in acks} == {"stored"}
    assert len(seen) == 50 and "mllp-server" not in seen  # ran in the executor, not the loop


def test_thread_wrapper_reports_bind_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        srv = MllpServerThread("127.0.0.1", port, Recorder())
        with pytest.raises(OSError):
            srv.start()


class BatchRecorder:
    """A batch handler that records each call; messages whose text holds REFUSE get AE."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[bytes]] = []
        self.fail = fail

    async def __call__(self, raws: list[bytes], peer: str) -> list[AckDecision]:
        self.calls.append(raws)
        if self.fail:
            raise RuntimeError("database down")
        return [
            AckDecision.error("refused") if b"REFUSE" in r else AckDecision.accept() for r in raws
        ]


def test_frames_that_arrive_together_go_to_the_batch_handler_in_order() -> None:
    single, batch = Recorder(), BatchRecorder()

    async def main() -> None:
        async with (
            MllpServer("127.0.0.1", 0, single, batch_handler=batch) as server,
            MllpClient("127.0.0.1", server.port) as c,
        ):
            # Three frames in one write: one batch call, three ACKs in order.
            await c.send_raw(frame(adt("B1")) + frame(adt("REFUSE2")) + frame(adt("B3")))
            acks = [await c.read_ack() for _ in range(3)]
            assert control_ids(acks) == ["B1", "REFUSE2", "B3"]
            assert [parse_ack(a).code for a in acks] == ["AA", "AE", "AA"]
            # One frame alone still takes the single-message handler.
            await c.send_raw(frame(adt("S1")))
            assert parse_ack(await c.read_ack()).control_id == "S1"
            assert server.stats.messages == 4 and server.stats.acks == {"AA": 3, "AE": 1, "AR": 0}
        assert [[parse_ack_id(r) for r in call] for call in batch.calls] == [
            ["B1", "REFUSE2", "B3"]
        ]
        assert single.messages == [adt("S1").encode()]

    run(main)


def parse_ack_id(raw: bytes) -> str:
    return raw.decode().split("\r")[0].split("|")[9]


def test_oversized_frames_in_a_batch_get_ar_and_a_failed_batch_gets_ae() -> None:
    batch = BatchRecorder(fail=True)

    async def main() -> None:
        async with (
            MllpServer("127.0.0.1", 0, Recorder(), 2000, batch_handler=batch) as server,
            MllpClient("127.0.0.1", server.port) as c,
        ):
            big = adt("BIG") + "NTE|1||" + "x" * 5000 + "\r"
            await c.send_raw(frame(adt("F1")) + frame(big) + frame(adt("F3")))
            acks = [parse_ack(await c.read_ack()) for _ in range(3)]
            assert [(a.control_id, a.code) for a in acks] == [
                ("F1", "AE"),
                ("BIG", "AR"),
                ("F3", "AE"),
            ]
            assert acks[0].text == HANDLER_FAILED_TEXT and acks[1].text == TOO_LARGE_TEXT
            assert server.stats.handler_errors == 2 and server.stats.oversized == 1
        assert len(batch.calls) == 1 and len(batch.calls[0]) == 2

    run(main)
