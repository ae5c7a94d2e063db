"""``carepipe users|dlq bulk-replay|audit export`` through the real Typer app (SQLite)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from carepipe.ops import users
from tests.support.cli import cli_environment, sqlite_database_url
from tests.support.console import insert_dead


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


@pytest.fixture
def cli_env(settings, monkeypatch):
    with cli_environment(settings, monkeypatch):
        yield


def test_users_dlq_and_audit_commands(cli_env, db):
    from carepipe.cli import app

    run = CliRunner().invoke
    r = run(app, ["users", "create", "--username", "root", "--role", "admin"])
    assert r.exit_code == 0, r.output
    otp = r.output.strip().splitlines()[-1]
    assert users.login(db, username="root", password=otp, client="c").password_must_change
    r = run(
        app,
        ["users", "create", "--username", "opsy", "--role", "ops", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert r.exit_code == 0 and "one-time" not in r.output
    assert not users.login(
        db, username="opsy", password="a-long-enough-password", client="c"
    ).password_must_change
    assert run(app, ["users", "lock", "opsy", "--reason", "test"]).exit_code == 0
    assert "locked" in run(app, ["users", "list"]).output
    assert run(app, ["users", "unlock", "opsy"]).exit_code == 0
    r = run(app, ["users", "token", "opsy", "--name", "ci"])
    assert r.output.strip().splitlines()[-1].startswith("cpu_")
    insert_dead(db, 7, codes=("emr_rejected",))
    r = run(
        app, ["dlq", "bulk-replay", "--error-code", "emr_rejected", "--reason", "INC-5", "--yes"]
    )
    assert r.exit_code == 0 and "replayed 7" in r.output, r.output
    r = run(app, ["audit", "export", "--format", "json", "--action", "dlq."])
    doc = json.loads(r.stdout)
    assert {e["action"] for e in doc["events"]} == {
        "dlq.replay",
        "dlq.bulk_replay.request",
        "dlq.bulk_replay.done",
    }
    assert run(app, ["audit", "verify"]).exit_code == 0
