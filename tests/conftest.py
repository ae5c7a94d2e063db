"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use ``CAREPIPE_TEST_DATABASE_URL`` and a schema of their own
per test session (so parallel runs never collide); they fail, not skip, when
the server cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from carepipe.core.blobs import BlobStore, LocalBlobStore
from carepipe.core.clock import FrozenClock, set_clock
from carepipe.core.config import Settings
from carepipe.core.crypto import Cipher
from carepipe.core.db import Database
from carepipe.core.migrate import upgrade
from carepipe.observability.logging import stderr_logger_factory
from carepipe.pipelines.catalog import load_pipelines
from carepipe.schema import metadata

PG_URL = os.environ.get(
    "CAREPIPE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

load_pipelines("tests.support.pipelines")

# `make test` runs two xdist workers on a two-core machine. A Whisper decode with two
# OpenMP threads in each worker oversubscribes the cores: spinning threads slowed one
# 21-second clip from 22 s to over 300 s in CI. One thread per worker uses both cores
# without contention; every Settings built here, and every subprocess, reads this.
os.environ.setdefault("CAREPIPE_ASR_CPU_THREADS", "1")

# Tests that drive the CLI skip ``configure_logging``, which would leave structlog on its
# default, stdout: a background thread's log line (the maintenance watch of an app under
# test) then lands inside a CLI command's captured ``--json`` output. Log lines go to
# stderr, as they do in the product.
structlog.configure(logger_factory=stderr_logger_factory)

# On a shared 2-core CI machine timing varies; CI also runs the same examples
# every time (found failures are fixed and kept as explicit examples).
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    schema = f"cp_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL test database unreachable at {PG_URL}: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_pg(url: str) -> None:
    from sqlalchemy.exc import OperationalError

    eng = create_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    # TRUNCATE takes every table's strongest lock; autovacuum's ANALYZE can meet it in a
    # deadlock that PostgreSQL breaks by failing one side. Trying again is the remedy.
    for attempt in range(5):
        try:
            with eng.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            break
        except OperationalError as exc:
            if "deadlock detected" not in str(exc) or attempt == 4:
                raise
    eng.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a copy of the SQLite template, or a truncated PG schema."""
    if request.param == "sqlite":
        target = tmp_path / "carepipe.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("pg_schema_url")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=db_url,
        lease_seconds=30,
        heartbeat_seconds=5,
        poll_interval_seconds=0.1,
        retry_base_seconds=0.5,
        retry_max_seconds=5,
        max_attempts=3,
        shutdown_grace_seconds=5,
        max_payload_bytes=64 * 1024,
        pipeline_modules="tests.support.pipelines",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    yield database
    # A test's API (OFREP) or pipelines may have started this database's flag cache:
    # stop its poller before the schema goes, or it polls a dropped table for the rest of
    # the run.
    from carepipe.flags.cache import release_flag_cache
    from carepipe.flags.provider import release_provider

    release_provider(database)
    release_flag_cache(database)
    # Likewise the maintenance fence watch that a test's API, worker or listener started.
    from carepipe.core.maintenance.watch import release_fence_watch

    release_fence_watch(database)
    database.dispose()


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs", Cipher(b"k" * 32))


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    from datetime import UTC, datetime

    c = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    previous = set_clock(c)
    yield c
    set_clock(previous)
