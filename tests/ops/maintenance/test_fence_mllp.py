"""The MLLP listener under the fence: the port is closed (senders keep their messages and
retry), a message being handled is answered before its connection closes, nothing more
is read from it, and the same port listens again on the lift. Real sockets throughout."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import select

from carepipe.core.auth import Principal
from carepipe.core.models import Job
from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.mllp import (
    AckDecision,
    MllpClient,
    MllpServerThread,
    send_messages_sync,
    sync_handler,
)
from carepipe.ops import maintenance
from carepipe.pipelines.hl7_intake import start_mllp
from tests.interop.hl7.samples import adt
from tests.support.waiting import port_refuses, wait_until

ADMIN = Principal(kind="user", id="alice", roles=("admin",))


def test_pause_answers_the_message_in_hand_reads_no_more_and_resume_listens_again():
    entered, release = threading.Event(), threading.Event()
    handled: list[str] = []

    def handler(raw: bytes, _peer: str) -> AckDecision:
        handled.append(raw.split(b"|")[9].decode())
        if len(handled) == 1:
            entered.set()
            release.wait(10)
        return AckDecision.accept()

    with MllpServerThread("127.0.0.1", 0, sync_handler(handler)) as server:
        port = server.port

        async def exchange() -> tuple[str, bytes]:
            async with MllpClient("127.0.0.1", port, timeout=10) as client:
                await client.write(adt("FIRST"))
                await asyncio.to_thread(entered.wait, 10)
                server.set_accepting(False)  # the fence arrives mid-message
                await asyncio.to_thread(wait_until, lambda: port_refuses(port), timeout=5)
                await client.write(adt("SECOND"))  # sent, but never to be read
                release.set()
                ack = await client.read_ack()
                assert client._reader is not None
                rest = await client._reader.read(65536)  # EOF: the server closed it
                return ack, rest

        ack, rest = asyncio.run(exchange())
        assert parse_ack(ack).code == "AA" and parse_ack(ack).control_id == "FIRST"
        assert rest == b"" and handled == ["FIRST"]
        assert server.server.paused and server.port == port

        # While paused, a sender's connection is refused: its message stays with it.
        with pytest.raises(ConnectionRefusedError):
            send_messages_sync("127.0.0.1", port, [adt("SECOND")], timeout=2)

        server.set_accepting(True)
        wait_until(lambda: not port_refuses(port), timeout=5, what="the port to listen again")
        (again,) = send_messages_sync("127.0.0.1", port, [adt("SECOND")])
        assert parse_ack(again).code == "AA" and handled == ["FIRST", "SECOND"]


def test_stop_while_paused_returns_at_once():
    server = MllpServerThread("127.0.0.1", 0, sync_handler(lambda _r, _p: AckDecision.accept()))
    server.start()
    server.set_accepting(False)
    wait_until(lambda: port_refuses(server.port), timeout=5)
    done = threading.Thread(target=server.stop)
    done.start()
    done.join(5)
    assert not done.is_alive()


def test_the_intake_listener_follows_the_fence(db, blobs, settings):
    server = start_mllp(settings.model_copy(update={"mllp_port": 0}), db, blobs)
    port = server.port
    try:
        (first,) = send_messages_sync("127.0.0.1", port, [adt("BEFORE")])
        assert parse_ack(first).code == "AA"
        maintenance.fence(db, ADMIN, reason="drill")
        wait_until(lambda: port_refuses(port), timeout=3, what="the MLLP port to close")
        with pytest.raises(ConnectionRefusedError):
            send_messages_sync("127.0.0.1", port, [adt("DURING")], timeout=2)

        maintenance.lift(db, ADMIN)
        wait_until(lambda: not port_refuses(port), timeout=3, what="the MLLP port to open")
        (during,) = send_messages_sync("127.0.0.1", port, [adt("DURING")])
    finally:
        server.stop()
    assert parse_ack(during).code == "AA" and parse_ack(during).control_id == "DURING"
    with db.session() as s:
        keys = set(s.scalars(select(Job.idempotency_key)))
    assert {k.rsplit(":", 1)[1] for k in keys} == {"BEFORE", "DURING"}
