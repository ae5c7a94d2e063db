"""The fence's table: one row (id 1) when the platform is or was fenced (migration 0014)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base


class MaintenanceFence(Base):
    """The platform's fence. ``fenced_at`` set and ``lifted_at`` empty: fenced now.

    A single row rather than a log: the audit log keeps the history (``maintenance.fence``,
    ``maintenance.lift``), and every process reads this row each second.
    """

    __tablename__ = "maintenance_fence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fenced_at: Mapped[datetime | None]
    lifted_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(String(256), default="")
    fenced_by: Mapped[str] = mapped_column(String(128), default="")
    retry_after_seconds: Mapped[int] = mapped_column(Integer, default=60)
    drill_id: Mapped[str | None] = mapped_column(String(36))
