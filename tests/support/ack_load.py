"""Write load that records what the server acknowledged: HL7 v2 over MLLP (ACK AA, by
control id) and ``POST /v1/jobs`` (202, by job id), each with the wall time of the ack.

The crash tests kill the server under this load and then check, one by one, that every
item acknowledged before ``K - RPO`` survived the restore.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx

from carepipe.interop.hl7.mllp import send_messages_sync
from tests.interop.hl7.samples import adt


class AckLoad:
    """Writers that run until ``stop`` is set; ``acked`` holds (wall time of the ack, kind, id)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.acked: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()

    def _note(self, kind: str, ident: str) -> None:
        with self.lock:
            self.acked.append((time.time(), kind, ident))

    def hl7(self, port: int) -> None:
        """One ADT per MLLP exchange, a new control id each, until stopped or killed."""
        n = 0
        while not self.stop.is_set():
            control = f"RPO{n:06d}"
            n += 1
            try:
                (ack,) = send_messages_sync("127.0.0.1", port, [adt(control)], timeout=5)
            except (OSError, TimeoutError):
                return  # the server was killed mid-exchange: no ACK, nothing promised
            if f"MSA|AA|{control}" in ack:
                self._note("hl7", control)

    def jobs(self, base_url: str, key: str) -> None:
        """``POST /v1/jobs`` (echo) back to back, until stopped or killed."""
        n = 0
        with httpx.Client(base_url=base_url, timeout=5) as client:
            while not self.stop.is_set():
                n += 1
                try:
                    r = client.post(
                        "/v1/jobs",
                        json={"pipeline": "echo", "payload": n},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                except httpx.TransportError:
                    return
                # Only a 202 promises anything; the tenant rate limit answers the rest 429.
                if r.status_code == 202:
                    self._note("job", r.json()["id"])

    def threads(self, mllp_port: int, base_url: str, key: str) -> list[threading.Thread]:
        """Both writers, started."""
        writers = [
            threading.Thread(target=self.hl7, args=(mllp_port,)),
            threading.Thread(target=self.jobs, args=(base_url, key)),
        ]
        for t in writers:
            t.start()
        return writers


def present_ids(rows: list[tuple[str, str | None]]) -> tuple[set[str], set[str]]:
    """(HL7 control ids, job ids) from ``jobs`` rows (id, idempotency_key): the MLLP
    listener keys each message's job ``hl7:...:<control id>``."""
    controls = {key.rsplit(":", 1)[1] for _, key in rows if key and key.startswith("hl7:")}
    return controls, {job_id for job_id, _ in rows}


@dataclass(frozen=True)
class LossReport:
    """The acknowledged items measured against a kill at ``kill_at`` and an RPO window."""

    acked: int
    in_window: int
    window_missing: int
    old_missing: list[tuple[float, str, str]]
    measured_rpo: float
    oldest_lost: float

    def summary(self, rpo_seconds: float) -> str:
        return (
            f"acked: {self.acked}; in the last {rpo_seconds:.0f} s: {self.in_window}, "
            f"missing {self.window_missing}; measured RPO (K - newest acked item present): "
            f"{self.measured_rpo:.2f} s; oldest lost ack: {self.oldest_lost:.2f} s before K"
        )


def losses(
    acked: list[tuple[float, str, str]],
    controls: set[str],
    job_ids: set[str],
    kill_at: float,
    rpo_seconds: float,
) -> LossReport:
    """Every acknowledged item, one by one, against what the restore holds."""

    def present(kind: str, ident: str) -> bool:
        return ident in (controls if kind == "hl7" else job_ids)

    old_missing = [
        (round(kill_at - at, 2), kind, ident)
        for at, kind, ident in acked
        if at < kill_at - rpo_seconds and not present(kind, ident)
    ]
    in_window = [(at, kind, ident) for at, kind, ident in acked if at >= kill_at - rpo_seconds]
    window_missing = [item for item in in_window if not present(item[1], item[2])]
    present_times = [at for at, kind, ident in acked if present(kind, ident)]
    newest_present = max(present_times, default=float("-inf"))
    return LossReport(
        acked=len(acked),
        in_window=len(in_window),
        window_missing=len(window_missing),
        old_missing=old_missing,
        measured_rpo=kill_at - newest_present,
        oldest_lost=kill_at - min((at for at, _, _ in window_missing), default=kill_at),
    )
