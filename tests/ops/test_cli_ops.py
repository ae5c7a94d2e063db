"""``carepipe users|dlq bulk-replay|audit export`` through the real Typer app (SQLite)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from carepipe.core.config import get_settings
from carepipe.ops import users
from tests.support.console import insert_dead


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    """The CLI adapter is exercised once, on SQLite (its services run on both elsewhere)."""
    import shutil

    from sqlalchemy import create_engine

    from carepipe.schema import metadata

    target = tmp_path / "carepipe.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), target)
    engine = create_engine(f"sqlite:///{target}")
    metadata.create_all(engine)
    engine.dispose()
    return f"sqlite:///{target}"


@pytest.fixture
def cli_env(settings, monkeypatch):
    # The CLI configures structlog to print to the stderr of the moment, which CliRunner
    # closes afterwards: later log lines (other tests' workers) would then fail.
    import carepipe.observability.logging as cp_logging

    monkeypatch.setattr(cp_logging, "configure_logging", lambda *a, **k: None)
    monkeypatch.setenv("CAREPIPE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CAREPIPE_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


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
