"""A claim on one queue reads its tasks in claim order from an index, never sorting the backlog."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from carepipe.core.db import Database
from carepipe.core.migrate import upgrade
from carepipe.core.queue import claim


def test_single_queue_claim_uses_the_claim_index_without_a_sort(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/plan.db"
    upgrade(url)
    db = Database(url)
    seen: list[tuple[str, object]] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE tasks"):
            seen.append((statement, parameters))

    assert claim(db, queues=["asr"], worker_id="w", limit=8, lease_seconds=30) == []
    statement, parameters = seen[0]
    with db.engine.connect() as conn:
        plan = " | ".join(
            str(row[-1])
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    db.engine.dispose()
    assert "ix_tasks_claim (queue=? AND status=?)" in plan
    assert "TEMP B-TREE" not in plan, plan
