"""``carepipe models deploy|deployments|canary|rollback`` (SQLite; the services run on both
databases in the API tests): deploy, a canary started and aborted, what served at a time,
a rollback with its targets, and errors as JSON on stderr with exit 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from carepipe.core.blobs import blob_store_from_settings
from carepipe.mlops import serving
from tests.mlops.factories import BROKEN, make_ref
from tests.support.cli import cli_environment, sqlite_database_url


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


@pytest.fixture
def cli(settings, monkeypatch):
    from carepipe.cli import app

    runner = CliRunner()
    with cli_environment(settings, monkeypatch):
        yield lambda *args: runner.invoke(app, list(args))


def test_cli_deploys_runs_a_canary_answers_what_served_and_rolls_back(cli, db, settings):
    with db.transaction() as s:
        v1, v2, v3 = (make_ref(s, "note-rules", "note", {"note_engine": "rules"}) for _ in range(3))
        broken = make_ref(s, "whisper-x", "asr", BROKEN, blobs=blob_store_from_settings(settings))

    out = cli("models", "deploy", "note", v1, "--json")
    assert out.exit_code == 0, out.output
    dep = json.loads(out.stdout)
    assert dep["stable"] == v1 and dep["revision"] == 1
    out = cli("models", "deploy", "note", v2, "--expected-revision", "1")
    assert out.exit_code == 0, out.output
    assert f"deployed {v2} for note/*" in out.stdout

    out = cli(
        "models",
        "canary",
        "start",
        dep["id"],
        v3,
        "--step",
        "20",
        "--step",
        "100",
        "--analysis",
        '{"min_jobs": 3}',
        "--json",
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["canary_percent"] == 20
    out = cli("models", "deployments", dep["id"])
    assert out.exit_code == 0, out.output
    assert f"canary  {v3} at 20%" in out.stdout and "steps [20, 100]" in out.stdout
    out = cli("models", "canary", "abort", dep["id"], "--reason", "drill")
    assert out.exit_code == 0, out.output
    assert f"abort: stable; stable {v2}" in out.stdout

    out = cli("models", "deployments", "--json")
    assert [d["stable"] for d in json.loads(out.stdout)] == [v2]
    out = cli("models", "deployments", dep["id"], "--history", "--json")
    actions = [e["action"] for e in json.loads(out.stdout)["events"]]
    assert actions == ["canary_abort", "canary_start", "deploy", "deploy"]
    at = json.loads(out.stdout)["events"][-1]["at"]
    out = cli(
        "models", "deployments", "--at", at, "--kind", "note", "--tenant", "clinic-z", "--json"
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["stable"] == v1

    out = cli("models", "rollback", dep["id"], "--targets", "--json")
    assert [t["version"] for t in json.loads(out.stdout)] == [v1]
    out = cli("models", "rollback", dep["id"], "--reason", "note regression")
    assert out.exit_code == 0, out.output
    assert f"rolled back {v2} -> {v1}; incident" in out.stdout
    serving.clear_cache()

    # Errors: a version that fails its health check; a stale revision.
    out = cli("models", "deploy", "asr", broken)
    assert out.exit_code == 2
    assert json.loads(out.stderr)["error"]["code"] == "deployment_unhealthy"
    out = cli("models", "deploy", "note", v3, "--expected-revision", "1")
    assert out.exit_code == 2
    assert json.loads(out.stderr)["error"]["code"] == "registry_conflict"
