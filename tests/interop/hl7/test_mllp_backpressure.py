"""Overload: the listener bounds the messages in flight and stops reading beyond it."""

from __future__ import annotations

import asyncio
import threading
import time

from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.mllp import AckDecision, MllpServerThread, send_messages, sync_handler
from carepipe.observability.metrics import REGISTRY
from tests.interop.hl7.samples import adt


def test_in_flight_work_is_bounded_and_every_sender_still_gets_its_acks() -> None:
    limit, senders, per_sender = 3, 12, 5
    lock = threading.Lock()
    active = peak = 0

    def slow(raw: bytes, peer: str) -> AckDecision:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)  # an intake slower than the senders
        with lock:
            active -= 1
        return AckDecision.accept()

    server = MllpServerThread("127.0.0.1", 0, sync_handler(slow), max_in_flight=limit)
    server.start()
    try:

        async def main() -> list[list[str]]:
            return await asyncio.gather(
                *(
                    send_messages(
                        "127.0.0.1",
                        server.port,
                        [adt(f"S{s}-{i}") for i in range(per_sender)],
                        window=per_sender,
                        timeout=30,
                    )
                    for s in range(senders)
                )
            )

        results = asyncio.run(main())
    finally:
        server.stop()
    assert peak <= limit
    for s, acks in enumerate(results):
        assert [parse_ack(a).control_id for a in acks] == [f"S{s}-{i}" for i in range(per_sender)]
        assert all(parse_ack(a).code == "AA" for a in acks)
    assert server.server.stats.backpressure_waits > 0
    assert REGISTRY.get_sample_value("carepipe_mllp_in_flight_limit") == limit
    assert REGISTRY.get_sample_value("carepipe_mllp_backpressure_waits_total") > 0
