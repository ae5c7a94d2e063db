"""Databases for the patient index: SQLite (tmp file) and PostgreSQL (a schema of our own).

Only ``patient_links`` is created (``Base.metadata.create_all`` limited to it), so
these tests do not depend on migrations and never touch other tests' tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text

from carepipe.core.db import Database
from carepipe.core.models import Base
from carepipe.interop.identity.models import PatientLink

PG_URL = os.environ.get(
    "CAREPIPE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _create_tables(db: Database) -> None:
    Base.metadata.create_all(db.engine, tables=[PatientLink.__table__])


@pytest.fixture(scope="session")
def identity_pg_url() -> Iterator[str]:
    schema = f"cp_identity_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL test database unreachable at {PG_URL}: {exc}")
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    db = Database(url)
    _create_tables(db)
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def index_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'index.db'}")
        _create_tables(db)
    else:
        db = Database(request.getfixturevalue("identity_pg_url"))
        with db.transaction() as s:
            s.execute(delete(PatientLink))
    yield db
    db.dispose()
