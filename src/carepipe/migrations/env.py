"""Alembic environment: the URL comes from the caller (``carepipe db upgrade``) or settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from carepipe.schema import metadata

config = context.config

# Alembic cannot compare expression indexes; these are created by hand in migrations.
_HAND_WRITTEN_INDEXES = {"ix_tasks_ready"}


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in _HAND_WRITTEN_INDEXES)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from carepipe.core.config import get_settings

    return get_settings().resolved_database_url


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        include_object=_include,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable,
            target_metadata=metadata,
            render_as_batch=True,
            include_object=_include,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=metadata,
            render_as_batch=True,
            include_object=_include,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
