"""The maintenance fence service: fence the platform, lift it, say where it stands.

While fenced, every process stops taking writes within one poll of its ``FenceWatch``:
the API answers them ``503 maintenance`` with Retry-After, the MLLP listener closes its
port, workers stop claiming and the scheduler's writing jobs wait. A disaster-recovery
drill fences the primary before it restores the backup to a standby (issue 17).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import get_settings
from carepipe.core.db import Database
from carepipe.core.errors import ValidationFailed
from carepipe.core.maintenance.fence import lift_fence, set_fence
from carepipe.core.maintenance.state import FENCE_ROW_ID, fence_row, state_of
from carepipe.core.maintenance.watch import refresh_local
from carepipe.ops.views import View

MANAGE = "dr.manage"
READ = "dr.read"
MAX_REASON = 256
MAX_RETRY_AFTER = 86400


class FenceView(View):
    """The fence row: ``fenced`` now or not; the last fence's times, reason and author."""

    fenced: bool
    fenced_at: datetime | None
    lifted_at: datetime | None
    reason: str | None
    fenced_by: str | None
    retry_after_seconds: int | None
    drill_id: str | None


def _view(session: Session) -> FenceView:
    row = fence_row(session)
    if row is None:
        return FenceView(
            fenced=False,
            fenced_at=None,
            lifted_at=None,
            reason=None,
            fenced_by=None,
            retry_after_seconds=None,
            drill_id=None,
        )
    return FenceView(
        fenced=state_of(row) is not None,
        fenced_at=row.fenced_at,
        lifted_at=row.lifted_at,
        reason=row.reason,
        fenced_by=row.fenced_by,
        retry_after_seconds=row.retry_after_seconds,
        drill_id=row.drill_id,
    )


def fence(
    db: Database,
    principal: Principal,
    *,
    reason: str,
    retry_after_seconds: int | None = None,
    drill_id: str | None = None,
) -> FenceView:
    """``dr.manage``: pause every write on the platform; audited ``maintenance.fence``.

    Fencing a fenced platform changes nothing (the first ``fenced_at`` stays, nothing is
    audited) and returns the fence in force.
    """
    require(principal, MANAGE)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("a fence needs a reason (operators and senders see it)")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"the reason is longer than {MAX_REASON} characters")
    retry = retry_after_seconds or get_settings().maintenance_retry_after_seconds
    if not 0 < retry <= MAX_RETRY_AFTER:
        raise ValidationFailed(f"retry_after_seconds must be between 1 and {MAX_RETRY_AFTER}")
    with db.transaction() as session:
        already = state_of(fence_row(session))
        state = set_fence(
            session,
            reason=reason,
            fenced_by=principal.actor,
            retry_after_seconds=retry,
            drill_id=drill_id,
            at=utcnow(),
        )
        if already is None:
            audit.record(
                session,
                actor=principal.actor,
                actor_role=principal.role,
                action="maintenance.fence",
                target_type="maintenance",
                target_id=str(FENCE_ROW_ID),
                after={
                    "fenced_at": state.fenced_at.isoformat(),
                    "retry_after_seconds": state.retry_after_seconds,
                    "drill_id": state.drill_id,
                },
                reason=reason,
            )
        view = _view(session)
    refresh_local(db)
    return view


def lift(db: Database, principal: Principal) -> FenceView:
    """``dr.manage``: let writes in again; audited ``maintenance.lift`` (a platform not
    fenced is left as it is, and nothing is audited)."""
    require(principal, MANAGE)
    with db.transaction() as session:
        lifted = lift_fence(session, at=utcnow())
        view = _view(session)
        if lifted is not None:
            audit.record(
                session,
                actor=principal.actor,
                actor_role=principal.role,
                action="maintenance.lift",
                target_type="maintenance",
                target_id=str(FENCE_ROW_ID),
                before={
                    "fenced_at": lifted.fenced_at.isoformat(),
                    "fenced_by": lifted.fenced_by,
                    "drill_id": lifted.drill_id,
                },
                after={"lifted_at": view.lifted_at.isoformat() if view.lifted_at else None},
                reason=lifted.reason,
            )
    refresh_local(db)
    return view


def fence_status(db: Database, principal: Principal) -> FenceView:
    """``dr.read``: whether the platform is fenced, and the last fence's details."""
    require(principal, READ)
    with db.session() as session:
        return _view(session)
