"""Audit log listing/export and tamper detection; SQLite + PG."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import update

from carepipe.core import audit
from carepipe.core.audit import verify_chain
from carepipe.core.auth import Principal
from carepipe.core.errors import PermissionDenied
from carepipe.core.models import AuditEvent
from carepipe.ops import audit_export

COMPLIANCE = Principal(kind="user", id="cora", roles=("compliance",))
OPS = Principal(kind="user", id="olga", roles=("ops",))


def _seed(db, n=5):
    with db.transaction() as s:
        for i in range(n):
            audit.record(
                s,
                actor="user:olga",
                actor_role="ops",
                action="dlq.replay" if i % 2 else "payload.reveal",
                target_type="task",
                target_id=str(i),
                reason="=cmd|' /C calc'!A0" if i == 0 else f"INC-{i}",
            )


def test_list_filter_and_paging(db):
    _seed(db, 7)
    with db.session() as s:
        page = audit_export.list_events(s, COMPLIANCE, limit=3)
        assert [e.id for e in page.items] == [7, 6, 5] and page.next_before_id == 5
        older = audit_export.list_events(s, COMPLIANCE, before_id=page.next_before_id, limit=10)
        assert [e.id for e in older.items] == [4, 3, 2, 1]
        only = audit_export.list_events(s, COMPLIANCE, audit_export.AuditFilter(action="dlq."))
        assert {e.action for e in only.items} == {"dlq.replay"} and len(only.items) == 3
        with pytest.raises(PermissionDenied):
            audit_export.list_events(s, OPS)


def test_export_csv_json_carry_hashes_and_are_audited(db):
    _seed(db, 4)
    with db.transaction() as s:
        audit_export.record_export(s, COMPLIANCE, audit_export.AuditFilter(), "csv")
    rows = list(
        csv.DictReader(
            io.StringIO(
                "".join(audit_export.export_csv(db, COMPLIANCE, audit_export.AuditFilter()))
            )
        )
    )
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"] and rows[-1][
        "action"
    ] == "audit.export"
    assert rows[0]["reason"].startswith("'=")  # no spreadsheet formula injection
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    doc = json.loads(
        "".join(
            audit_export.export_json(
                db, COMPLIANCE, audit_export.AuditFilter(action="payload.reveal")
            )
        )
    )
    assert [e["action"] for e in doc["events"]] == ["payload.reveal", "payload.reveal"]
    with pytest.raises(PermissionDenied):
        list(audit_export.export_csv(db, OPS, audit_export.AuditFilter()))


def test_verify_detects_tampered_and_deleted_rows(db):
    _seed(db, 5)
    with db.session() as s:
        assert verify_chain(s).ok
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == 3).values(reason="nothing to see"))
    with db.session() as s:
        r = verify_chain(s)
    assert not r.ok and r.first_bad_id == 3 and "edited" in r.problem
