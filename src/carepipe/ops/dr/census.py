"""Row counts and acknowledged items, compared between the primary (as of the fence) and
the restored standby (before the smoke tests write to it). Layout independent: tables
are reflected from whichever database the URL names.

Rows are compared twice: in all, and those older than ``cutoff`` (fence - RPO target),
by the table's creation-time column when it has one. Rows younger than the cutoff may
be missing within the RPO; older ones may not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, MetaData, Table, func, inspect, select
from sqlalchemy.engine import Engine

from carepipe.core.db import Database

# The column that says when a row was created, by preference; the first one present wins.
TIME_COLUMNS = (
    "created_at",
    "received_at",
    "written_at",
    "occurred_at",
    "recorded_at",
    "started_at",
    "requested_at",
    "at",
    "fenced_at",
)
# How far back acknowledged items are compared one by one (counts cover the rest).
ITEM_WINDOW = timedelta(hours=24)
ITEM_LIMIT = 1000
# The acknowledgements a client holds: a job answered 202, an HL7 message ACKed AA
# (its archive row in ``messages``).
ITEM_TABLES = (("job", "jobs", "created_at"), ("message", "messages", "received_at"))


def _bind(engine: Engine, at: datetime) -> datetime:
    # SQLite stores CarePipe's UTC datetimes naive; reflected columns bind them as given.
    return at.replace(tzinfo=None) if engine.dialect.name == "sqlite" else at


def _time_column(table: Table) -> str | None:
    names = {c.name: c for c in table.columns}
    for name in TIME_COLUMNS:
        if name in names and isinstance(names[name].type, DateTime):
            return name
    return None


def _tables(engine: Engine) -> list[Table]:
    meta = MetaData()
    names = sorted(n for n in inspect(engine).get_table_names() if n != "alembic_version")
    return [Table(n, meta, autoload_with=engine) for n in names]


def table_census(db: Database, cutoff: datetime) -> dict[str, dict[str, Any]]:
    """Per table: ``total`` rows, ``time_column`` and ``before_cutoff`` (rows created
    before ``cutoff``; None without a time column)."""
    census: dict[str, dict[str, Any]] = {}
    with db.engine.connect() as conn:
        for table in _tables(db.engine):
            total = conn.scalar(select(func.count()).select_from(table)) or 0
            column = _time_column(table)
            before = None
            if column is not None:
                query = select(func.count()).where(table.c[column] < _bind(db.engine, cutoff))
                before = conn.scalar(query) or 0
            census[table.name] = {"total": total, "time_column": column, "before_cutoff": before}
    return census


def compare_census(
    primary: dict[str, dict[str, Any]], standby: dict[str, dict[str, Any]]
) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the standby holds every row the primary had before the cutoff, and the
    tables that differ (deficits younger than the cutoff are listed, not failed)."""
    ok, rows = True, []
    for name in sorted(set(primary) | set(standby)):
        p, s = primary.get(name), standby.get(name)
        if p is None or s is None:
            ok = False
            rows.append(
                {
                    "table": name,
                    "problem": "absent on the primary" if p is None else "absent on the standby",
                }
            )
            continue
        if p["total"] == s["total"] and p["before_cutoff"] == s["before_cutoff"]:
            continue
        entry = {"table": name, "primary": p["total"], "standby": s["total"]}
        if p["before_cutoff"] is not None:
            entry |= {
                "primary_before_cutoff": p["before_cutoff"],
                "standby_before_cutoff": s["before_cutoff"],
            }
            if (s["before_cutoff"] or 0) < p["before_cutoff"]:
                ok, entry["problem"] = False, "rows older than the RPO window missing"
        elif s["total"] < p["total"]:
            ok, entry["problem"] = False, "rows missing (table has no creation time)"
        rows.append(entry)
    return ok, rows


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def acknowledged_items(db: Database, fence: datetime, cutoff: datetime) -> dict[str, list[str]]:
    """Ids of jobs and messages the primary created in ``[fence - 24 h, cutoff)``."""
    out: dict[str, list[str]] = {}
    meta = MetaData()
    with db.engine.connect() as conn:
        for kind, name, column in ITEM_TABLES:
            table = Table(name, meta, autoload_with=db.engine)
            query = select(table.c.id).where(
                table.c[column] >= _bind(db.engine, fence - ITEM_WINDOW),
                table.c[column] < _bind(db.engine, cutoff),
            )
            out[kind] = [str(i) for i in conn.scalars(query)]
    return out


def missing_items(db: Database, items: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The items (by kind and id) the standby at ``db`` does not hold."""
    missing: list[dict[str, Any]] = []
    meta = MetaData()
    with db.engine.connect() as conn:
        for kind, name, _ in ITEM_TABLES:
            table = Table(name, meta, autoload_with=db.engine)
            wanted = items.get(kind, [])
            present: set[str] = set()
            for chunk in _chunks(wanted):
                present |= {
                    str(i) for i in conn.scalars(select(table.c.id).where(table.c.id.in_(chunk)))
                }
            missing += [{"kind": kind, "id": i} for i in wanted if i not in present]
    return missing[:ITEM_LIMIT]


def referenced_blob_keys(db: Database, fence: datetime) -> list[str]:
    """Blob keys of the messages received in the 24 h before ``fence`` (their payloads
    must be on the standby too; older ones are left to the manifest check)."""
    meta = MetaData()
    table = Table("messages", meta, autoload_with=db.engine)
    query = select(table.c.blob_key).where(
        table.c.received_at >= _bind(db.engine, fence - ITEM_WINDOW),
        table.c.received_at < _bind(db.engine, fence),
    )
    with db.engine.connect() as conn:
        return sorted({str(k) for k in conn.scalars(query) if k})
