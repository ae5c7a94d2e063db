"""Tables of console people: users, their sessions, personal API tokens, login attempts,
and the bulk-replay jobs they start from the dead-letter queue (migration 0004).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId, JsonType, new_id


class ConsoleUser(Base):
    """A person who signs in to the console (or the staff API with a personal token)."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # Set for one-time passwords: every page but "change password" is refused until changed.
    password_must_change: Mapped[bool] = mapped_column(Boolean, default=True)
    # Locked by an administrator (until unlocked), as opposed to the automatic lockout below.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_failed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(128))


class ConsoleSession(Base):
    """A server-side session. Only the SHA-256 of the session secret is stored.

    ``csrf_token`` is bound to the session: forms carry it, and a new session
    (at every login) gets a new one.
    """

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the secret
    user_id: Mapped[str] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class UserToken(Base):
    """A personal bearer token for the staff API: ``cpu_<id>_<secret>``; only a hash is kept."""

    __tablename__ = "user_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("console_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every sign-in attempt, for per-client rate limiting (and the security review)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_login_attempts_client_at", "client", "at"),)


class BulkReplay(Base):
    """A bulk replay of dead letters, run in the background with durable progress.

    ``selection`` is either ``{"task_ids": [...]}`` or ``{"filter": {...}}``; a
    filter selects the dead tasks that matched when the operator confirmed
    (``cutoff``), so tasks that die again after their replay are not looped over.
    """

    __tablename__ = "bulk_replays"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued/running/done/failed
    selection: Mapped[dict[str, Any]] = mapped_column(JsonType)
    cutoff: Mapped[datetime]
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    replayed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # no longer dead (already replayed)
    # Keyset position of the runner over the selection: (died_at, task id) of the last row done.
    cursor_at: Mapped[datetime | None]
    cursor_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_roles: Mapped[list[str]] = mapped_column(JsonType, default=list)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_bulk_replays_status", "status", "created_at"),)
