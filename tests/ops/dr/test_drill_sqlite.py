"""``carepipe dr drill`` on SQLite, end to end against a real ``carepipe up`` (API, MLLP
listener, Litestream): the drill fences it, restores the latest replica to a standby
it starts (another ``carepipe up`` on other ports), smoke-tests the standby through
HTTP, MLLP, the CLI and headless Chromium, measures RTO and RPO, reports, fails back.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from carepipe.interop.hl7.mllp import send_messages_sync
from tests.interop.hl7.samples import adt
from tests.support.drill_traffic import (
    SMOKE_TESTS,
    assert_unfenced,
    partner_key,
    post_job,
    run_drill,
    traffic,
)
from tests.support.live_server import free_port
from tests.support.up_process import UpProcess, carepipe_up, run_cli

RPO_TARGET = 5  # the SQLite target (seconds)


def _blobs_copied_by_the_scheduler(tmp_path: Path) -> None:
    """Every blob of the primary is in the blob backup's manifest within 15 s, copied by
    the scheduler's ``backup.blobs`` job (every 5 s by default): no ``backup now``."""
    source = tmp_path / "var" / "blobs"
    manifest = tmp_path / "backup" / "blobs" / "manifest.json"
    deadline = time.monotonic() + 15
    while True:
        stored = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
        copied = set(json.loads(manifest.read_text())) if manifest.exists() else set()
        if stored and stored <= copied:
            return
        assert time.monotonic() < deadline, f"{len(stored - copied)} blobs not copied in 15 s"
        time.sleep(0.5)


def _backed_up(up: UpProcess) -> None:
    """``backup now``: ship the WAL and the blobs at once."""
    r = run_cli(up, "backup", "now")
    assert r.returncode == 0, r.stdout + r.stderr


def _audit_actions(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_events ORDER BY id")]


def test_drill_passes_with_rpo_measured_and_reports(tmp_path: Path) -> None:
    mllp_port = free_port()
    backup = {"CAREPIPE_BACKUP_URL": str(tmp_path / "backup")}
    with carepipe_up(tmp_path, extra_env=backup, mllp_port=mllp_port) as up:
        key = partner_key(up)
        jobs, controls = traffic(up, mllp_port, key, prefix="DRT")
        _blobs_copied_by_the_scheduler(tmp_path)
        reports = tmp_path / "reports"
        started = time.monotonic()
        r = run_drill(
            up, mllp_port, RPO_TARGET, "--keep-standby", "--report-dir", str(reports), "--json"
        )
        took = time.monotonic() - started
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        drill = json.loads(r.stdout)
        print(
            f"\ndrill {took:.1f} s: RTO {drill['rto_seconds']} s, RPO {drill['rpo_seconds']} s, "
            f"restore {drill['details']['restore']['seconds']} s; smoke "
            + ", ".join(f"{s['name']} {s['seconds']}" for s in drill["smoke"])
        )
        assert drill["status"] == "passed"
        assert drill["rpo_seconds"] is not None and 0 <= drill["rpo_seconds"] <= RPO_TARGET
        assert drill["rpo_met"] is True and drill["rto_met"] is True
        assert drill["rto_seconds"] is not None and drill["rto_seconds"] > 0
        assert {s["name"] for s in drill["smoke"]} == SMOKE_TESTS
        assert all(s["ok"] for s in drill["smoke"]), drill["smoke"]
        assert drill["missing"] == []
        # The comparison covered what we sent (acknowledged well before fence - RPO).
        compared = drill["details"]["acknowledged_compared"]
        assert compared["job"] >= 2 * len(jobs) and compared["message"] >= len(jobs) * 2
        # The fence held on both doors while the standby was built.
        fence = drill["details"]["fence"]
        assert fence["ok"] is True, fence
        assert (
            "503 maintenance" in fence["api"]
            and fence["mllp"] == f"refused (127.0.0.1:{mllp_port})"
        )
        steps = [e["step"] for e in drill["timeline"]]
        for step in (
            "heartbeat",
            "fence",
            "fence_effective",
            "restore",
            "promote",
            "standby_up",
            "smoke",
            "measure",
            "finish",
            "failback",
        ):
            assert step in steps, steps
        assert not [f for f in drill["findings"] if f["severity"] in {"critical", "high"}]

        # Afterwards the primary takes writes again; its audit log holds the drill.
        assert_unfenced(up, key)
        actions = _audit_actions(tmp_path / "var" / "carepipe.db")
        assert actions.count("dr.drill") == 2
        assert "maintenance.fence" in actions and "maintenance.lift" in actions

        # One by one: every job answered 202 and every HL7 message ACKed is on the standby.
        standby_db = tmp_path / "var" / "dr" / drill["id"] / "var" / "carepipe.db"
        with sqlite3.connect(standby_db) as conn:
            job_ids = {row[0] for row in conn.execute("SELECT id FROM jobs")}
            keys = {row[0] for row in conn.execute("SELECT idempotency_key FROM jobs")}
        assert set(jobs) <= job_ids
        assert all(any(k and k.endswith(f":{c}") for k in keys) for c in controls)
        # The standby's audit log says how it was promoted: the fence is lifted there (and
        # audited) when its write had shipped before the restore; otherwise it never
        # reached the standby, and the promotion says so.
        (promote,) = [e["detail"] for e in drill["timeline"] if e["step"] == "promote"]
        if "fence lifted" in promote:
            assert "maintenance.lift" in _audit_actions(standby_db)
        else:
            assert "no fence in the restored database" in promote, promote
            assert "maintenance.lift" not in _audit_actions(standby_db)

        # The report in three forms, from the files and from ``dr report``.
        for ext in ("json", "html", "pdf"):
            assert (reports / f"dr-drill-{drill['id']}.{ext}").stat().st_size > 0
        html_file = tmp_path / "r.html"
        r = run_cli(up, "dr", "report", drill["id"], "--format", "html", "--output", str(html_file))
        assert r.returncode == 0, r.stderr
        html = html_file.read_text()
        assert f"{drill['rto_seconds']:.2f} s" in html and "met" in html
        assert (reports / f"dr-drill-{drill['id']}.pdf").read_bytes().startswith(b"%PDF")
        report_json = json.loads((reports / f"dr-drill-{drill['id']}.json").read_text())
        assert report_json["id"] == drill["id"] and report_json["status"] == "passed"


def test_drill_with_a_bad_blob_backup_fails_and_unfences(tmp_path: Path) -> None:
    mllp_port = free_port()
    # Blobs copied only by ``backup now`` here (the scheduler's copy once an hour), so a
    # message's payload can be missing from the blob backup, as when the copy is down.
    backup = {
        "CAREPIPE_BACKUP_URL": str(tmp_path / "backup"),
        "CAREPIPE_BACKUP_BLOB_SYNC_SECONDS": "3600",
    }
    with carepipe_up(tmp_path, extra_env=backup, mllp_port=mllp_port) as up:
        key = partner_key(up)
        traffic(up, mllp_port, key, n=2, prefix="DRT")
        _backed_up(up)
        # A blob in the backup altered after it was copied: the standby gets a bad payload.
        manifest = json.loads((tmp_path / "backup" / "blobs" / "manifest.json").read_text())
        victim = tmp_path / "backup" / "blobs" / sorted(manifest)[0]
        victim.write_bytes(victim.read_bytes()[:-1] + b"\x00")
        # And a message after the last ``backup now``: its row replicates, its payload not.
        (ack,) = send_messages_sync("127.0.0.1", mllp_port, [adt("LATE0001")], timeout=10)
        assert "MSA|AA|LATE0001" in ack
        # Older than the RPO window at the fence: its payload is required on the standby
        # (a younger one's payload may still be on its way, like a younger row).
        time.sleep(RPO_TARGET + 1)
        r = run_drill(up, mllp_port, RPO_TARGET)
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
        assert "FAILED" in r.stdout and "blob_hashes" in r.stdout
        drill_id = r.stdout.split()[1].rstrip(":")  # "drill <id>: FAILED ..."
        drill = json.loads(run_cli(up, "dr", "show", drill_id, "--json").stdout)
        assert drill["status"] == "failed"
        failed = [s["name"] for s in drill["smoke"] if not s["ok"]]
        assert failed == ["blob_hashes"], drill["smoke"]
        detail = drill["smoke"][-1]["detail"]
        assert "1 missing or altered" in detail, detail
        assert "stored after the last blob backup" in detail, detail
        titles = [f["title"] for f in drill["findings"]]
        assert any("blob_hashes" in t for t in titles), titles
        finding = next(f for f in drill["findings"] if "blob_hashes" in f["title"])
        assert finding["severity"] == "critical" and finding["owner"] == "platform-ops"
        assert drill["rto_seconds"] is None  # the standby never passed its smoke tests
        assert_unfenced(up, key)
        # Failback removed the standby (it holds a copy of production data).
        assert not (tmp_path / "var" / "dr" / drill["id"]).exists()


def test_drill_without_failback_leaves_the_standby_serving(tmp_path: Path) -> None:
    """``--no-failback`` is a real failover: the standby keeps serving the primary's
    partners (same key), the primary stays fenced until an operator lifts it."""
    mllp_port = free_port()
    backup = {"CAREPIPE_BACKUP_URL": str(tmp_path / "backup")}
    with carepipe_up(tmp_path, extra_env=backup, mllp_port=mllp_port) as up:
        key = partner_key(up)
        traffic(up, mllp_port, key, n=1, prefix="DRF")
        _blobs_copied_by_the_scheduler(tmp_path)
        r = run_drill(up, mllp_port, RPO_TARGET, "--no-failback", "--json")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        drill = json.loads(r.stdout)
        standby = drill["details"]["standby"]
        try:
            assert drill["status"] == "passed"
            steps = [e["step"] for e in drill["timeline"]]
            assert "failover" in steps and "failback" not in steps
            # The partner's key works on the standby: it is the restored database.
            r = httpx.post(
                standby["base_url"] + "/v1/jobs",
                json={"pipeline": "echo", "payload": "on the standby"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert r.status_code == 202, r.text
            assert httpx.get(standby["base_url"] + "/readyz").status_code == 200
            # The standby's own record of the drill is finished, not "running".
            standby_db = Path(standby["data_dir"]) / "carepipe.db"
            with sqlite3.connect(standby_db) as conn:
                (status,) = conn.execute(
                    "SELECT status FROM dr_drills WHERE id = ?", (drill["id"],)
                ).fetchone()
            assert status == "passed"
            # The old primary stays fenced: writes 503 maintenance, its MLLP port closed.
            r = post_job(up, key)
            assert r.status_code == 503 and r.json()["error"]["code"] == "maintenance"
            assert r.headers["retry-after"]
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", mllp_port), timeout=2).close()
            r = run_cli(up, "maintenance", "lift")
            assert r.returncode == 0, r.stderr
            assert_unfenced(up, key)
        finally:
            os.killpg(standby["pid"], signal.SIGTERM)
