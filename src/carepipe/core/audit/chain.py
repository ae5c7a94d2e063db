"""The row format of the keyed chain and the append path.

Each row stores ``prev_hash`` (the previous row's ``hash``) and its own
``hash = HMAC-SHA256(key, canonical JSON of the row including prev_hash)``.
Without the key nobody can compute a valid hash, so an edited row cannot be
"repaired" by recomputing the rest of the chain.

Rows written before the chain was keyed (migration 0008) carry a plain
SHA-256 instead; they are accepted only up to the id named by the signed
``audit.chain_keyed`` row that migration appended (see ``verify``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from carepipe.core.audit.keys import AuditKey
from carepipe.core.audit.setup import current_setup
from carepipe.core.clock import utcnow
from carepipe.core.models import AuditEvent

GENESIS = "0" * 64
KEYED_ACTION = "audit.chain_keyed"  # the signed row marking where unkeyed rows end
_LOCK_ID = 0x43415544  # "CAUD": serialises appends on PostgreSQL

FIELDS = (
    "at",
    "actor",
    "actor_role",
    "tenant",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "reason",
    "request_id",
    "prev_hash",
)


def canonical(row: Any) -> bytes:
    """The bytes a row's hash covers: every column but ``id`` and ``hash``, as sorted JSON.

    ``row`` is an ``AuditEvent`` or any object/mapping with the same attributes.
    """
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    body = {k: get(k) for k in FIELDS}
    at = body["at"]
    body["at"] = at.isoformat() if isinstance(at, datetime) else at
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def legacy_hash(row: Any) -> str:
    """The unkeyed SHA-256 of rows written before migration 0008."""
    return hashlib.sha256(canonical(row)).hexdigest()


def keyed_hash(row: Any, key: AuditKey) -> str:
    return key.mac(canonical(row))


def compute_hash(event: AuditEvent, key: AuditKey | None = None) -> str:
    """The hash ``event`` must carry under ``key`` (default: the current key)."""
    return keyed_hash(event, key or current_setup().keyring.current)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    tenant: str | None = None,
    actor_role: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it commits with the change it records).

    Summaries in ``before``/``after`` must not carry PHI: ids and states, not contents.
    """
    key = current_setup().keyring.current
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
    prev = session.execute(
        select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).scalar_one_or_none()
    if request_id is None:
        from carepipe.observability.context import current_request_id

        request_id = current_request_id()
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        actor_role=actor_role,
        tenant=tenant,
        action=action,
        target_type=target_type,
        target_id=str(target_id) if target_id is not None else None,
        before=before,
        after=after,
        reason=reason,
        request_id=request_id,
        prev_hash=prev or GENESIS,
    )
    event.hash = keyed_hash(event, key)
    session.add(event)
    session.flush()
    return event
