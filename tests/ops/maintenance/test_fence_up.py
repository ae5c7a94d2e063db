"""A real ``carepipe up`` (API, workers, scheduler, MLLP listener in one process) fenced
and lifted with ``carepipe maintenance`` in another process: within a few seconds MLLP
connects are refused and writes answered 503; queued work waits; the lift lets the same
message in (ACKed AA, its job there) and the waiting job runs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from carepipe.core.blobs import blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.models import Job
from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.pipelines.ingest import submit
from tests.api.conftest import make_key
from tests.interop.hl7.samples import adt
from tests.support.live_server import free_port
from tests.support.up_process import carepipe_up, run_cli
from tests.support.waiting import port_refuses, wait_until

JOB = {"pipeline": "echo", "payload": {"hello": "world"}}
# The fence must reach the running process within this (one 1 s poll and some margin).
REACH_SECONDS = 3.0


def _job_status(db: Database, job_id: str) -> str:
    with db.session() as s:
        return s.get(Job, job_id).status


def test_fence_and_lift_a_running_platform(tmp_path: Path) -> None:
    mllp_port = free_port()
    with carepipe_up(tmp_path, mllp_port=mllp_port, workers=1) as up:
        # The up process's own stores, for what only a direct write can do while fenced.
        own = Settings(data_dir=tmp_path / "var", _env_file=None)  # type: ignore[call-arg]
        db, blobs = Database(own.resolved_database_url), blob_store_from_settings(own)
        auth = {"Authorization": f"Bearer {make_key(db)}"}
        with httpx.Client(base_url=up.base_url, headers=auth, timeout=10) as api:
            (before,) = send_messages_sync("127.0.0.1", mllp_port, [adt("BEFORE")])
            assert parse_ack(before).code == "AA"
            assert api.post("/v1/jobs", json=JOB).status_code == 202

            fenced = run_cli(up, "maintenance", "fence", "--reason", "dr drill", "--json")
            assert fenced.returncode == 0, fenced.stderr
            fenced_at = datetime.fromisoformat(json.loads(fenced.stdout)["fenced_at"])
            wait_until(lambda: port_refuses(mllp_port), timeout=REACH_SECONDS, interval=0.1)
            refused = wait_until(
                lambda: (r := api.post("/v1/jobs", json=JOB)).status_code == 503 and r,
                timeout=REACH_SECONDS,
                interval=0.1,
            )
            # From the fence's commit, not from the CLI's exit (its start-up takes seconds).
            reached = (datetime.now(UTC) - fenced_at).total_seconds()
            assert reached <= REACH_SECONDS
            assert refused.json()["error"]["code"] == "maintenance"
            assert refused.headers["retry-after"] == "60"
            assert api.get("/readyz").status_code == 503
            assert "carepipe_maintenance_fenced 1.0" in api.get("/metrics").text
            with pytest.raises(ConnectionRefusedError):
                send_messages_sync("127.0.0.1", mllp_port, [adt("DURING")], timeout=2)

            # A job written straight into the database waits: no worker claims it.
            waiting = submit(
                db,
                blobs,
                tenant="demo",
                pipeline="echo",
                payload=b"{}",
                content_type="application/json",
            ).job_id
            time.sleep(2.0)
            assert _job_status(db, waiting) == "queued"

            lifted = run_cli(up, "maintenance", "lift", "--json")
            assert lifted.returncode == 0 and json.loads(lifted.stdout)["fenced"] is False
            wait_until(lambda: not port_refuses(mllp_port), timeout=REACH_SECONDS, interval=0.1)
            (during,) = send_messages_sync("127.0.0.1", mllp_port, [adt("DURING")])
            assert parse_ack(during).code == "AA" and parse_ack(during).control_id == "DURING"
            wait_until(lambda: _job_status(db, waiting) == "succeeded", timeout=10, interval=0.1)
            assert api.post("/v1/jobs", json=JOB).status_code == 202
            assert "carepipe_maintenance_fenced 0.0" in api.get("/metrics").text
        with db.session() as s:
            controls = {k.rsplit(":", 1)[1] for k in s.scalars(select(Job.idempotency_key)) if k}
        assert {"BEFORE", "DURING"} <= controls
        db.dispose()
    print(f"fence reached the running process in {reached:.2f} s")
