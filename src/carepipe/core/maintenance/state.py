"""What the fence row says, as a plain value every layer can read and compare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from carepipe.core.maintenance.models import MaintenanceFence

FENCE_ROW_ID = 1


@dataclass(frozen=True)
class FenceState:
    """The platform is fenced: since ``fenced_at``, by ``fenced_by``, for ``reason``.

    Writes are refused with ``Retry-After: retry_after_seconds``; ``drill_id`` names the
    disaster-recovery drill that set it (None for a manual fence).
    """

    fenced_at: datetime
    reason: str
    fenced_by: str
    retry_after_seconds: int
    drill_id: str | None = None


def state_of(row: MaintenanceFence | None) -> FenceState | None:
    """The fence a row describes; None unless it is set and not lifted."""
    if row is None or row.fenced_at is None or row.lifted_at is not None:
        return None
    return FenceState(
        fenced_at=row.fenced_at,
        reason=row.reason,
        fenced_by=row.fenced_by,
        retry_after_seconds=row.retry_after_seconds,
        drill_id=row.drill_id,
    )


def fence_row(session: Session) -> MaintenanceFence | None:
    """The fence row itself (None on a platform never fenced)."""
    return session.get(MaintenanceFence, FENCE_ROW_ID)


def current_fence(session: Session) -> FenceState | None:
    """The fence in force now, read from the database (None: not fenced)."""
    return state_of(fence_row(session))
