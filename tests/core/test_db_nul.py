"""The database layer's net: a NUL that reaches PostgreSQL is ``validation_failed``.

Every door checks text for U+0000 first (tests/api/test_refusals.py,
tests/web/test_nul_input.py); this is what happens if one ever misses it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carepipe.core.auth import SYSTEM
from carepipe.core.errors import ValidationFailed
from carepipe.core.models import AuditEvent
from carepipe.ops.tenants import set_tenant_settings


def test_a_nul_in_a_write_is_an_input_error_on_postgres_and_stored_on_sqlite(db):
    def write() -> None:
        with db.transaction() as s:
            set_tenant_settings(s, SYSTEM, "acme", {"review_required": True}, reason="a\x00b")

    if db.is_postgres:
        with pytest.raises(ValidationFailed, match="U\\+0000"):
            write()
        with db.session() as s:  # rolled back whole: no half-written change, no audit row
            assert s.execute(select(AuditEvent)).scalars().all() == []
    else:  # SQLite stores it; the doors above keep both databases giving one answer
        write()
        with db.session() as s:
            (event,) = s.execute(select(AuditEvent)).scalars().all()
        assert event.reason == "a\x00b"
