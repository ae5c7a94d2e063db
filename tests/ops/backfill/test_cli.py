"""``carepipe backfill ...`` (the command group ``carepipe.cli.backfill``)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from carepipe.cli import backfill as cli_backfill
from carepipe.core.crypto import sha256_hex
from carepipe.core.models import AuditEvent
from tests.ops.backfill.helpers import accepted, drain, rejected


@pytest.fixture
def run(monkeypatch, settings, db, blobs):
    monkeypatch.setattr(cli_backfill, "load_settings", lambda: settings)
    monkeypatch.setattr(cli_backfill, "open_stores", lambda s: (db, blobs))
    app = typer.Typer()
    app.add_typer(cli_backfill.group, name="backfill")
    app.command("noop")(lambda: None)  # a second command keeps "backfill" a sub-command
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["backfill", *args])

    return invoke


def _json(out: str):
    """The command's JSON (log lines may precede it: tests leave logging unconfigured)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    return json.loads("\n".join(lines[start:]))


def _last(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_cli_start_pause_resume_status_report(run, db, blobs, settings, clock):
    since = (clock.now() - timedelta(minutes=1)).isoformat()
    accepted(db, blobs, {"n": 1})
    rejected(db, blobs)
    drain(db, blobs, settings, clock)
    until = (clock.now() + timedelta(minutes=1)).isoformat()
    window = ["--since", since, "--until", until, "--pipeline", "two_step"]
    r = run("start", *window, "--dry-run")
    assert r.exit_code == 0, r.output
    assert _json(r.stdout)["matching"] == 2
    r = run("start", *window, "--rate", "120", "--reason", "INC-1")
    assert r.exit_code == 0, r.output
    view = _json(r.stdout)
    bid = view["id"]
    assert view["enqueued"] == 2
    assert _last(run("pause", bid).stdout) == f"backfill {bid} paused"
    assert run("pause", bid).exit_code == 2
    assert _last(run("resume", bid, "--reason", "window open").stdout) == f"backfill {bid} running"
    r = run("report", bid)
    assert r.exit_code == 2 and "backfill_not_finished" in r.output
    drain(db, blobs, settings, clock)
    listing = run("status").output
    assert bid in listing and "completed" in listing and "processed 2/2" in listing
    assert _json(run("status", bid).stdout)["succeeded"] == 2
    r = run("report", bid)
    assert r.exit_code == 0
    with db.session() as s:
        audited = s.execute(
            select(AuditEvent).where(AuditEvent.action == "backfill.report")
        ).scalar_one()
        actors = set(
            s.execute(select(AuditEvent.actor).where(AuditEvent.target_id == bid)).scalars()
        )
    assert audited.after["report_sha256"] == sha256_hex(
        r.stdout_bytes[r.stdout_bytes.index(b'{\n  "backfill"') :]
    )
    assert any(a.startswith("cli:") for a in actors)
    r = run("start", "--since", "2026-01-01T00:00:00", "--until", until, "--pipeline", "two_step")
    assert r.exit_code != 0  # no time zone
