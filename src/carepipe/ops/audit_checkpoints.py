"""Audit checkpoints (on a schedule and on demand), verification and key rotation.

A checkpoint signs the log's current head (last id, head hash, row count) with
the audit key and appends it to the checkpoint log outside the database
(``carepipe.core.audit.checkpoints``). Before signing, the writer checks that
the log still matches the previous checkpoint and that every row since then
verifies; if not it refuses (``audit_checkpoint_refused``), logs
``audit.checkpoint_refused`` and counts it in ``carepipe_audit_checkpoints_total``,
so tampering is noticed within one interval without a full verification.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.audit import keys as audit_keys
from carepipe.core.audit.checkpoints import (
    HEARTBEAT_SECONDS,
    Checkpoint,
    CheckpointStore,
    database_fingerprint,
)
from carepipe.core.audit.setup import AuditSetup, current_setup, forget_cached
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import AuditCheckpointRefused, AuditKeyFromEnvironment
from carepipe.core.models import AuditEvent
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import AUDIT_CHECKPOINT_LAST, AUDIT_CHECKPOINTS

log = get_logger("carepipe.audit")

HEARTBEAT = timedelta(seconds=HEARTBEAT_SECONDS)


@dataclass(frozen=True)
class CheckpointResult:
    """``status``: written, unchanged (same head, recent checkpoint), or empty (no rows)."""

    status: str
    checkpoint: Checkpoint | None
    store: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "store": self.store,
            "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None,
        }


@dataclass(frozen=True)
class _Head:
    last_id: int
    head: str
    count: int
    chain: str  # hash of the first row if it is the genesis row, else ""
    db: str


def _head(session: Session) -> _Head | None:
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if last is None:
        return None
    count = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= last.id)
    ).scalar_one()
    first = session.execute(
        select(AuditEvent.prev_hash, AuditEvent.hash).order_by(AuditEvent.id).limit(1)
    ).one()
    chain = first.hash if first.prev_hash == audit.GENESIS else ""
    return _Head(last.id, last.hash, count, chain, database_fingerprint(session.get_bind().url))


def _still_matches(session: Session, cp: Checkpoint) -> list[str]:
    """What no longer matches checkpoint ``cp`` (its head row and the count up to it)."""
    row = session.execute(select(AuditEvent.hash).where(AuditEvent.id == cp.last_id)).first()
    if row is None:
        return [f"row {cp.last_id}, the head of checkpoint #{cp.seq}, is missing"]
    out = []
    if not hmac.compare_digest(row.hash, cp.head):
        out.append(f"row {cp.last_id} differs from checkpoint #{cp.seq}")
    n = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.id <= cp.last_id)
    ).scalar_one()
    if n != cp.count:
        out.append(
            f"checkpoint #{cp.seq} recorded {cp.count} rows through id {cp.last_id}, {n} now"
        )
    return out


def write_checkpoint(
    db: Database, *, setup: AuditSetup | None = None, force: bool = False
) -> CheckpointResult:
    """Sign the log's current head and append it to the checkpoint log.

    Skipped (``unchanged``) when the newest checkpoint of this database has the
    same head and is younger than ``HEARTBEAT``, unless ``force``. Raises
    ``AuditCheckpointRefused`` when the log no longer matches that checkpoint or
    a row written since does not verify.
    """
    setup = setup or current_setup()
    store = CheckpointStore(setup.checkpoint_dir)
    key = setup.keyring.current
    now = utcnow()
    with db.session() as session:
        head = _head(session)
        if head is None:
            AUDIT_CHECKPOINTS.labels("empty").inc()
            return CheckpointResult("empty", None, str(store.path))

        def make(existing: list[Checkpoint]) -> Checkpoint | None:
            mine = [
                c
                for c in existing
                if (c.db == head.db or (head.chain and c.chain == head.chain))
                and c.signature_ok(setup.keyring)
            ]
            prev_mine = max(mine, key=lambda c: c.seq) if mine else None
            if prev_mine is not None:
                if (
                    not force
                    and (prev_mine.last_id, prev_mine.head, prev_mine.count)
                    == (head.last_id, head.head, head.count)
                    and now - datetime.fromisoformat(prev_mine.at) < HEARTBEAT
                ):
                    return None
                faults = _still_matches(session, prev_mine)
                if not faults:
                    seg = audit.verify_segment(
                        session, after_id=prev_mine.last_id, after_hash=prev_mine.head, setup=setup
                    )
                    faults = [p.message for p in seg.problems]
            else:  # the first checkpoint of this database signs only a chain that verifies
                report = audit.verify_chain(session, setup=setup, checkpoints=False)
                faults = [p.message for p in report.problems]
            if faults:
                raise AuditCheckpointRefused(
                    "the audit log does not verify; not signing its head "
                    "(run `carepipe audit verify`)",
                    details={"problems": faults[:20]},
                )
            last = existing[-1] if existing else None
            return Checkpoint(
                seq=(last.seq + 1) if last else 1,
                at=now.isoformat(),
                chain=head.chain,
                db=head.db,
                last_id=head.last_id,
                head=head.head,
                count=head.count,
                key_id=key.id,
                prev=last.mac if last else None,
            ).signed(key)

        try:
            cp = store.append(make)
        except AuditCheckpointRefused as exc:
            AUDIT_CHECKPOINTS.labels("refused").inc()
            log.error("audit.checkpoint_refused", problems=(exc.details or {}).get("problems"))
            raise
    if cp is None:
        AUDIT_CHECKPOINTS.labels("unchanged").inc()
        return CheckpointResult("unchanged", None, str(store.path))
    AUDIT_CHECKPOINTS.labels("written").inc()
    AUDIT_CHECKPOINT_LAST.set(now.timestamp())
    # The same signed record in the structured log: a log shipper carries a second copy
    # off this host (nothing here is secret: ids, hashes and an HMAC).
    log.info("audit.checkpoint", **{k: v for k, v in cp.to_dict().items() if k != "v"})
    return CheckpointResult("written", cp, str(store.path))


def scheduled_checkpoint(db: Database) -> None:
    """The scheduler's job: a refusal is logged and counted (above), not raised further."""
    try:
        write_checkpoint(db)
    except AuditCheckpointRefused:
        return


def verify(session: Session, principal: Principal) -> audit.ChainReport:
    """``audit.read``: the chain against its keys and every checkpoint (see ``verify_chain``)."""
    require(principal, "audit.read")
    return audit.verify_chain(session)


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    before: CheckpointResult
    after: CheckpointResult


def rotate_key(
    db: Database, settings: Settings, principal: Principal, *, reason: str | None = None
) -> Rotation:
    """Replace a file-kept audit key: checkpoint with the old key, retire it (kept for
    verification), write a new one, record ``audit.key_rotate`` and checkpoint again.

    A key set in ``CAREPIPE_AUDIT_HMAC_KEY`` is rotated in the environment instead
    (``AuditKeyFromEnvironment``; see docs/security.md).
    """
    # Rotation happens on a host that can write the key file (the CLI): that access is
    # the real gate; the permission keeps other principals out of the service.
    require(principal, "audit.read")
    setup = audit.setup_from_settings(settings)
    if setup.key_file is None:
        raise AuditKeyFromEnvironment(
            "the audit key comes from CAREPIPE_AUDIT_HMAC_KEY: add it to "
            "CAREPIPE_AUDIT_HMAC_OLD_KEYS and set a new one on every host"
        )
    before = write_checkpoint(db, setup=setup, force=True)
    old, new = audit_keys.retire_file_key(setup.key_file, setup.retired_file)
    forget_cached()
    setup = audit.setup_from_settings(settings)
    with db.transaction() as s:
        audit.record(
            s,
            actor=principal.actor,
            actor_role=principal.role,
            action="audit.key_rotate",
            target_type="audit_key",
            target_id=new.id,
            before={"key_id": old.id},
            after={"key_id": new.id},
            reason=reason,
        )
    after = write_checkpoint(db, setup=setup, force=True)
    return Rotation(old.id, new.id, before, after)
