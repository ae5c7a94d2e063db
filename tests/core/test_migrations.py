"""The Alembic migrations create exactly the schema the ORM models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from carepipe.core.migrate import head_revision, upgrade
from carepipe.schema import metadata

# Alembic cannot compare expression indexes (``priority DESC``); these are
# checked by name and column order below instead.
_EXPRESSION_INDEXES = {"ix_tasks_ready", "ix_tasks_claim"}


def _comparable(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in _EXPRESSION_INDEXES)


def test_ready_index_exists(tmp_path):
    from sqlalchemy import inspect

    url = f"sqlite:///{tmp_path}/i.db"
    upgrade(url)
    engine = create_engine(url)
    names = {i["name"] for i in inspect(engine).get_indexes("tasks")}
    engine.dispose()
    assert names >= _EXPRESSION_INDEXES


def test_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": _comparable}
        )
        diff = compare_metadata(ctx, metadata)
        assert ctx.get_current_revision() == head_revision()
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_is_idempotent_on_postgres(pg_schema_url):
    upgrade(pg_schema_url)  # already at head: a second run changes nothing and does not fail
    engine = create_engine(pg_schema_url)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()
