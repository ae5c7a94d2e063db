"""Running the real ``carepipe`` Typer app in tests, against the test's database."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from carepipe.core.config import Settings, get_settings


def sqlite_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated SQLite copy with every table of the schema (for ``db_url`` overrides).

    CLI adapters are exercised on SQLite; the services under them run on both
    databases in their own tests.
    """
    from sqlalchemy import create_engine

    from carepipe.schema import metadata

    target = tmp_path / "carepipe.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), target)
    engine = create_engine(f"sqlite:///{target}")
    metadata.create_all(engine)
    engine.dispose()
    return f"sqlite:///{target}"


@contextlib.contextmanager
def cli_environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point ``carepipe`` (its settings come from the environment) at the test's stores."""
    import carepipe.observability.logging as cp_logging

    # The CLI points structlog at the stderr of the moment, which CliRunner then closes:
    # later log lines (other tests' workers) would fail.
    monkeypatch.setattr(cp_logging, "configure_logging", lambda *a, **k: None)
    monkeypatch.setenv("CAREPIPE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CAREPIPE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CAREPIPE_PIPELINE_MODULES", settings.pipeline_modules)
    get_settings.cache_clear()
    try:
        yield
    finally:
        get_settings.cache_clear()
