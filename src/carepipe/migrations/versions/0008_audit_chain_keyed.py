"""audit chain keyed: mark where unkeyed (plain SHA-256) rows end

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

From this revision on, every audit row's hash is an HMAC-SHA256 with a key kept
outside the database (``carepipe.core.audit``). Rows written before keep their
plain SHA-256 hashes: re-hashing them would launder any edit made before the
upgrade, and change hashes that auditors may already hold in exports.

Instead, when the log is not empty, this migration appends one keyed row,
``audit.chain_keyed``, that records the id, hash and number of the last unkeyed
row. ``verify_chain`` accepts an unkeyed row only at or below that id, and only
while that row is validly signed: a database administrator who strips the keys
from later rows, or forges or deletes the marker, is reported. The migration
therefore needs the audit key (``CAREPIPE_AUDIT_HMAC_KEY`` or the one generated
into the data directory): run ``carepipe db upgrade`` with the same settings as
the API hosts.

No schema change: the key id of a row is found by trying the (few) trusted keys,
and each checkpoint names the key that signed it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from carepipe.core.audit.chain import _LOCK_ID, KEYED_ACTION, keyed_hash
    from carepipe.core.audit.setup import current_setup
    from carepipe.core.clock import utcnow
    from carepipe.core.models import AuditEvent

    bind = op.get_bind()
    t = AuditEvent.__table__
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    last = bind.execute(sa.select(t.c.id, t.c.hash).order_by(t.c.id.desc()).limit(1)).first()
    if last is None:
        return  # an empty log: every row will be keyed from the first
    if bind.execute(sa.select(t.c.id).where(t.c.action == KEYED_ACTION).limit(1)).first():
        return
    count = bind.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
    key = current_setup().keyring.current
    row = {
        "at": utcnow(),
        "actor": "system:migration-0008",
        "actor_role": None,
        "tenant": None,
        "action": KEYED_ACTION,
        "target_type": "audit_log",
        "target_id": None,
        "before": None,
        "after": {
            "legacy_through_id": last.id,
            "legacy_head": last.hash,
            "legacy_count": count,
            "key_id": key.id,
        },
        "reason": "audit chain keyed (HMAC-SHA256); earlier rows keep their SHA-256 hashes",
        "request_id": None,
        "prev_hash": last.hash,
    }
    bind.execute(sa.insert(t).values(**row, hash=keyed_hash(row, key)))


def downgrade() -> None:
    # The marker stays: it is part of the chain (removing it would break the next row's link).
    pass
