"""Append-only, hash-chained audit log.

Each row stores the SHA-256 of the previous row's hash plus its own content, so
editing or deleting any row breaks the chain from that point on, which
``verify_chain`` (``carepipe audit verify``) reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.models import AuditEvent

GENESIS = "0" * 64
_LOCK_ID = 0x43415544  # "CAUD": serialises appends on PostgreSQL


def _canonical(event: AuditEvent) -> bytes:
    body = {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "tenant": event.tenant,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


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
    event.hash = compute_hash(event)
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the whole log in id order and check every link and every row's own hash."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return ChainReport(ok=True, checked=checked)
        for ev in rows:
            if ev.prev_hash != prev:
                return ChainReport(
                    False, checked, ev.id, "previous-hash link broken (row deleted or inserted)"
                )
            if compute_hash(ev) != ev.hash:
                return ChainReport(
                    False, checked, ev.id, "row content does not match its hash (edited)"
                )
            prev = ev.hash
            checked += 1
            last_id = ev.id
