"""``--json``: the CLI prints the same typed views the API returns (real Typer app, SQLite)."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from carepipe.ops import users
from carepipe.ops.api_keys import ApiKeyView, IssuedKey
from carepipe.ops.dlq import DeadLetterList, ReplayedTask
from carepipe.ops.users import CreatedUser, IssuedToken, PasswordReset, UserView
from tests.support.cli import cli_environment, sqlite_database_url
from tests.support.console import FAST_HASHER, insert_dead


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


@pytest.fixture
def cli(settings, monkeypatch):
    """Run ``carepipe`` against the test database; returns a function giving stdout."""
    from carepipe.cli import app

    previous = users.use_password_hasher(FAST_HASHER)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (args, result.exit_code, result.output)
        return result.stdout

    with cli_environment(settings, monkeypatch):
        yield run
    users.use_password_hasher(previous)


def test_keys_json(cli):
    issued = IssuedKey.model_validate_json(
        cli("keys", "create", "--tenant", "acme", "--name", "lab", "--json")
    )
    assert issued.plaintext.startswith("cpk_") and issued.status == "active"
    cli("keys", "create", "--tenant", "globex", "--name", "other")
    listed_text = cli("keys", "list", "--tenant", "acme", "--json")
    listed = TypeAdapter(list[ApiKeyView]).validate_json(listed_text)
    assert [(k.id, k.tenant, k.status) for k in listed] == [(issued.id, "acme", "active")]
    assert issued.plaintext.split("_")[-1] not in listed_text and "sha256" not in listed_text
    revoked = ApiKeyView.model_validate_json(cli("keys", "revoke", issued.id, "--json"))
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    assert "revoked" in cli("keys", "list", "--tenant", "acme")  # the text form is unchanged


def test_users_json(cli):
    created = CreatedUser.model_validate_json(
        cli("users", "create", "--username", "opsy", "--role", "ops", "--json")
    )
    assert created.roles == ("ops",) and created.one_time_password
    locked = UserView.model_validate_json(cli("users", "lock", "opsy", "--json"))
    assert locked.locked is True and locked.username == "opsy"
    (listed,) = TypeAdapter(list[UserView]).validate_json(cli("users", "list", "--json"))
    assert listed.locked is True and listed.password_must_change is True
    assert "password_hash" not in cli("users", "list", "--json")
    assert UserView.model_validate_json(cli("users", "unlock", "opsy", "--json")).locked is False
    reset = PasswordReset.model_validate_json(cli("users", "reset-password", "opsy", "--json"))
    assert reset.one_time_password and reset.one_time_password != created.one_time_password
    token = IssuedToken.model_validate_json(cli("users", "token", "opsy", "--days", "1", "--json"))
    assert token.plaintext.startswith(f"cpu_{token.id}_") and token.expires_at is not None
    cli("users", "lock", "nobody", "--json", code=2)


def test_dlq_json(cli, db):
    insert_dead(db, 3, codes=("validation_failed", "patient_not_found", "validation_failed"))
    page = DeadLetterList.model_validate_json(cli("dlq", "list", "--json"))
    assert page.counts_by_error == {"validation_failed": 2, "patient_not_found": 1}
    assert page.total == 3 and len(page.items) == 3
    only = DeadLetterList.model_validate_json(
        cli("dlq", "list", "--error-code", "patient_not_found", "--json")
    )
    assert [r.error_code for r in only.items] == ["patient_not_found"]
    assert only.filter.error_code == "patient_not_found"
    tid = only.items[0].task_id
    replayed = ReplayedTask.model_validate_json(cli("dlq", "replay", str(tid), "--json"))
    assert replayed.task_id == tid and replayed.status == "ready" and replayed.replay
    after = DeadLetterList.model_validate_json(cli("dlq", "list", "--json"))
    assert tid not in [r.task_id for r in after.items] and after.total == 2  # no longer dead
    assert "validation_failed=2" in cli("dlq", "list")  # the text form is unchanged


def test_submit_priority_is_checked_by_the_service(cli, tmp_path):
    payload = tmp_path / "in.json"
    payload.write_text('{"n": 1}')
    args = ("submit", str(payload), "--pipeline", "two_step", "--tenant", "acme")
    err = CliRunner()
    from carepipe.cli import app

    refused = err.invoke(app, [*args, "--priority", "asap"])
    assert refused.exit_code == 2
    assert json.loads(refused.stderr)["error"]["code"] == "validation_failed"
    job = json.loads(cli(*args, "--priority", "urgent"))
    shown = json.loads(cli("jobs", "show", job["id"]))
    assert shown["priority"] == "urgent" and shown["tenant"] == "acme"
