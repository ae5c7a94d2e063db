"""``carepipe --help`` lists every root command and command group of the ``cli`` package."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from carepipe.cli import app

ROOT_COMMANDS = ["up", "worker", "mllp", "submit", "restore"]
GROUPS = {
    "db": ["upgrade"],
    "keys": ["create", "list", "revoke", "rotate", "request", "activate", "extend-grace"],
    "jobs": ["show"],
    "dlq": ["list", "replay", "bulk-replay"],
    "audit": ["verify", "checkpoint", "rotate-key", "export"],
    "queues": ["pause", "resume", "limit", "list"],
    "tenants": ["show", "set"],
    "users": ["create", "list", "lock", "unlock", "reset-password", "token"],
    "backfill": ["start", "pause", "resume", "cancel", "status", "report"],
    "reviews": ["list", "show", "approve", "return", "assign", "export"],
    "models": [
        "register",
        "list",
        "show",
        "alias",
        "promote",
        "approve",
        "evaluate",
        "compare",
        "report",
        "report-schedule",
        "deploy",
        "deployments",
        "canary",
        "rollback",
        "monitor",
        "drift",
    ],
    "secrets": ["put", "list", "rollback", "delete", "new-kek", "rewrap"],
    "flags": [
        "list",
        "show",
        "create",
        "update",
        "kill",
        "enable",
        "rollback",
        "approve",
        "reject",
        "log",
        "segment-put",
        "segments",
    ],
    "backup": ["status", "now", "list", "verify"],
    "maintenance": ["fence", "lift", "status"],
    "dr": ["drill", "list", "show", "report"],
}
# A row of the help's "Commands" panel: a box edge, the command's name, its summary.
ROW = re.compile(r"^[│|]\s(?P<name>[a-z][a-z0-9-]*)\s")


def _listed(help_text: str) -> list[str]:
    """The command names in the "Commands" panel of a Typer help page, in order."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if "Commands" in line)
    return [m["name"] for line in lines[start + 1 :] if (m := ROW.match(line))]


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


def test_root_help_lists_every_root_command_and_group():
    assert _listed(_help()) == [*ROOT_COMMANDS, *GROUPS]


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_group_lists_its_commands(group):
    assert _listed(_help(group)) == GROUPS[group]


def test_python_dash_m_runs_the_same_app():
    run = subprocess.run(
        [sys.executable, "-m", "carepipe.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )
    assert run.returncode == 0, run.stderr
    assert _listed(run.stdout) == [*ROOT_COMMANDS, *GROUPS]
