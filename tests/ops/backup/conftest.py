"""Fixtures shared by the backup tests: a CarePipe whose SQLite database is backed up by
Litestream into the test's ``backup`` directory, driven through the ``carepipe`` CLI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cli import cli_environment


@pytest.fixture
def cli_env(settings, monkeypatch, tmp_path) -> Iterator[None]:
    """``CAREPIPE_BACKUP_URL`` = ``tmp_path/backup``, and the CLI pointed at the test's stores."""
    monkeypatch.setenv("CAREPIPE_BACKUP_URL", str(tmp_path / "backup"))
    with cli_environment(settings, monkeypatch):
        yield
