"""Crash RPO on SQLite: SIGKILL a real ``carepipe up`` under write load, restore, count losses.

``carepipe up`` runs with the MLLP listener and Litestream (CAREPIPE_BACKUP_URL set);
the test sends HL7 v2 messages over MLLP and POSTs jobs over HTTP from two threads,
noting when each ACK (AA) / 202 arrived, kills the whole process group (API and
Litestream) at time K, restores the replica with ``carepipe restore`` and checks that
every item acknowledged before K - RPO is in the restored database. A second test checks
the orderly counterpart: SIGTERM stops ``carepipe up`` and its Litestream together.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

from tests.support.ack_load import AckLoad, present_ids
from tests.support.live_server import free_port
from tests.support.up_process import carepipe_up, run_cli

# The SQLite target (docs/backups.md measures ~2 s with sync-interval=1s).
RPO_SECONDS = 5.0
LOAD_SECONDS = 7.0


def _present(db: Path) -> tuple[set[str], set[str]]:
    """(HL7 control ids, job ids) in a restored database."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, idempotency_key FROM jobs").fetchall()
    return present_ids(rows)


def test_sigkill_under_load_loses_nothing_older_than_the_rpo(tmp_path: Path) -> None:
    mllp_port = free_port()
    backup = {"CAREPIPE_BACKUP_URL": str(tmp_path / "backup")}
    with carepipe_up(tmp_path, extra_env=backup, mllp_port=mllp_port) as up:
        r = run_cli(up, "keys", "create", "--tenant", "default", "--name", "rpo-test")
        assert r.returncode == 0, r.stderr
        key = r.stdout.strip().splitlines()[-1]

        load = AckLoad()
        writers = [
            threading.Thread(target=load.hl7, args=(mllp_port,)),
            threading.Thread(target=load.jobs, args=(up.base_url, key)),
        ]
        for t in writers:
            t.start()
        time.sleep(LOAD_SECONDS)
        # The crash: API, MLLP listener and Litestream die at once, mid-write.
        kill_at = time.time()
        os.killpg(up.pid, signal.SIGKILL)
        load.stop.set()
        for t in writers:
            t.join(10)

        target = tmp_path / "restored.db"
        r = run_cli(up, "restore", "--target", str(target))
        assert r.returncode == 0, r.stdout + r.stderr

    controls, job_ids = _present(target)
    acked = sorted(load.acked)
    kinds = {kind for _, kind, _ in acked}
    assert kinds == {"hl7", "job"}, f"both writers must have been acknowledged: {kinds}"

    def present(kind: str, ident: str) -> bool:
        return ident in (controls if kind == "hl7" else job_ids)

    # One by one: everything acknowledged before K - RPO must have survived.
    old_missing = [
        (round(kill_at - at, 2), kind, ident)
        for at, kind, ident in acked
        if at < kill_at - RPO_SECONDS and not present(kind, ident)
    ]
    in_window = [(at, kind, ident) for at, kind, ident in acked if at >= kill_at - RPO_SECONDS]
    window_missing = [item for item in in_window if not present(item[1], item[2])]
    newest_present = max(at for at, kind, ident in acked if present(kind, ident))
    # The loss actually suffered: how long before K the oldest lost acknowledgement came.
    oldest_lost = kill_at - min((at for at, _, _ in window_missing), default=kill_at)
    print(
        f"\nacked: {len(acked)} ({sum(k == 'hl7' for _, k, _ in acked)} HL7, "
        f"{sum(k == 'job' for _, k, _ in acked)} jobs) in {LOAD_SECONDS:.0f} s; "
        f"in the last {RPO_SECONDS:.0f} s: {len(in_window)}, missing {len(window_missing)}; "
        f"measured RPO (K - newest acked item present): {kill_at - newest_present:.2f} s; "
        f"oldest lost ack: {oldest_lost:.2f} s before K"
    )
    assert not old_missing, f"acknowledged before K-{RPO_SECONDS}s but lost: {old_missing[:10]}"
    assert kill_at - newest_present <= RPO_SECONDS


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text``."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue  # exited while we looked
    return pids


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (an exited child not yet reaped is a zombie: not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_sigterm_stops_litestream_with_carepipe_up(tmp_path: Path) -> None:
    # SIGTERM is how systemd and Docker stop a service: Litestream must not outlive it.
    backup = {"CAREPIPE_BACKUP_URL": str(tmp_path / "backup")}
    with carepipe_up(tmp_path, extra_env=backup) as up:
        config = str(tmp_path / "var" / "litestream.yml")
        deadline = time.monotonic() + 15
        while not _processes_mentioning(config):
            assert time.monotonic() < deadline, "litestream did not start under carepipe up"
            time.sleep(0.1)
        os.kill(up.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _processes_mentioning(config) or _running(up.pid):
            assert time.monotonic() < deadline, "carepipe up or litestream still running"
            time.sleep(0.1)
