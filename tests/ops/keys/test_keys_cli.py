"""``carepipe keys request|activate|extend-grace --json`` (real Typer app, SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from carepipe.ops.api_keys import ApiKeyView, IssuedKey
from carepipe.ops.key_handover import HandoverLink
from carepipe.ops.key_rotation import Activation
from tests.support.cli import cli_environment, sqlite_database_url


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


@pytest.fixture
def cli(settings, monkeypatch):
    """Run ``carepipe`` against the test database; returns a function giving stdout."""
    from carepipe.cli import app

    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (args, result.exit_code, result.output)
        return result.stdout

    with cli_environment(settings, monkeypatch):
        yield run


def test_request_activate_extend_grace(cli, clock):
    old = IssuedKey.model_validate_json(
        cli("keys", "create", "--tenant", "acme", "--name", "emr", "--json")
    )
    # A ticket is required: an empty one is refused.
    cli("keys", "request", "--tenant", "acme", "--name", "emr", "--ticket", " ", code=1)
    new = IssuedKey.model_validate_json(
        cli("keys", "request", "--tenant", "acme", "--name", "emr", "--ticket", "OPS-7", "--json")
    )
    assert new.status == "staged" and new.plaintext.startswith("cpk_dev_")
    done = Activation.model_validate_json(
        cli("keys", "activate", new.id, "--reason", "partner asked by phone", "--json")
    )
    assert done.status == "active" and [p.id for p in done.previous] == [old.id]
    # The default grace period: 24 h.
    assert done.previous[0].grace_until == clock.now() + timedelta(hours=24)
    extended = ApiKeyView.model_validate_json(
        cli("keys", "extend-grace", old.id, "--hours", "12", "--reason", "OPS-7", "--json")
    )
    assert extended.status == "grace"
    assert extended.grace_until == clock.now() + timedelta(hours=36)
    # Only keys in grace can be extended.
    cli("keys", "extend-grace", new.id, "--hours", "1", "--reason", "x", code=1)


def test_request_with_a_one_time_link(cli, monkeypatch):
    from carepipe.core.config import get_settings

    monkeypatch.setenv("CAREPIPE_PUBLIC_URL", "https://carepipe.example")
    get_settings.cache_clear()
    link = HandoverLink.model_validate_json(
        cli(
            "keys",
            "request",
            "--tenant",
            "acme",
            "--name",
            "lab",
            "--ticket",
            "T",
            "--link",
            "--json",
        )
    )
    assert link.path == f"https://carepipe.example/console/keys/handover/{link.token}"
