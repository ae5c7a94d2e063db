"""Paging stays fast at 100,000 dead letters (keyset on the ix_tasks_dead index)."""

from __future__ import annotations

import time

from sqlalchemy import text

from carepipe.core.auth import Principal
from carepipe.ops import dlq
from tests.support.console import insert_dead

OPS = Principal(kind="user", id="olga", roles=("ops",))
N = 100_000
BUDGET_MS = 200


def _timed(fn):
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        out = fn()
        best = min(best, (time.perf_counter() - t) * 1000)
    return out, best


def test_page_query_fast_and_indexed_at_100k(db):
    insert_dead(db, N, chunk=20_000)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    with db.session() as s:
        first, ms_first = _timed(lambda: dlq.page_dead(s, OPS, limit=50))
        assert len(first.items) == 50 and first.next_cursor
        # A page deep in the list: keyset, so no OFFSET scan of the rows before it.
        cursor = dlq.encode_cursor(
            first.items[0].died_at.replace(year=2026, month=1, day=1, hour=12), 10**9
        )
        deep, ms_deep = _timed(lambda: dlq.page_dead(s, OPS, cursor=cursor, limit=50))
        assert len(deep.items) == 50
        filtered, ms_filtered = _timed(
            lambda: dlq.page_dead(
                s, OPS, dlq.DeadLetterFilter(error_code="patient_not_found"), limit=50
            )
        )
        assert {r.error_code for r in filtered.items} == {"patient_not_found"}
        stmt = (
            dlq._filtered(OPS, dlq.DeadLetterFilter())
            .order_by(dlq.Task.updated_at.desc(), dlq.Task.id.desc())
            .limit(50)
        )
        compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
        prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        plan = "\n".join(str(r) for r in s.execute(text(prefix + str(compiled))).all())
    print(
        f"\n{db.dialect}: first {ms_first:.1f} ms, deep {ms_deep:.1f} ms, filtered {ms_filtered:.1f} ms"
    )
    assert "ix_tasks_dead" in plan, plan
    assert "TEMP B-TREE" not in plan.upper() and "Sort " not in plan, plan
    assert ms_first < BUDGET_MS and ms_deep < BUDGET_MS and ms_filtered < BUDGET_MS
