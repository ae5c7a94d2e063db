"""The only writer of the fence row (``maintenance_fence``, id 1).

Callers hold the transaction and check permissions (``carepipe.ops.maintenance``); the
audit entry is theirs too. Processes notice a change within one poll of their
``FenceWatch`` (``carepipe.core.maintenance.watch``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from carepipe.core.maintenance.models import MaintenanceFence
from carepipe.core.maintenance.state import FENCE_ROW_ID, FenceState, fence_row, state_of


def set_fence(
    session: Session,
    *,
    reason: str,
    fenced_by: str,
    retry_after_seconds: int,
    drill_id: str | None,
    at: datetime,
) -> FenceState:
    """Fence the platform as of ``at``; returns the fence in force.

    Idempotent: on a platform already fenced nothing changes and the existing fence is
    returned, so its ``fenced_at`` (the start of the RPO window of a drill) stays the
    first one. A lifted fence is replaced by the new one.
    """
    row = fence_row(session)
    current = state_of(row)
    if current is not None:
        return current
    if row is None:
        row = MaintenanceFence(id=FENCE_ROW_ID)
        session.add(row)
    row.fenced_at = at
    row.lifted_at = None
    row.reason = reason[:256]
    row.fenced_by = fenced_by[:128]
    row.retry_after_seconds = retry_after_seconds
    row.drill_id = drill_id
    session.flush()
    state = state_of(row)
    assert state is not None
    return state


def lift_fence(session: Session, *, at: datetime) -> FenceState | None:
    """Lift the fence as of ``at``; returns the fence that was lifted (None: there was
    none, and nothing changed)."""
    row = fence_row(session)
    lifted = state_of(row)
    if row is None or lifted is None:
        return None
    row.lifted_at = at
    session.flush()
    return lifted
