"""Signing in to the console: lockout, sessions, the signed cookie, CSRF tokens.

An unknown user, a locked account and a wrong password get the same answer
and the same work (one argon2 verification), so sign-in reveals nothing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.crypto import constant_time_equal, sha256_hex
from carepipe.core.db import Database
from carepipe.core.errors import (
    CarePipeError,
    CsrfFailed,
    InvalidCredentials,
    RateLimited,
)
from carepipe.ops.user_models import ConsoleSession, ConsoleUser, LoginAttempt
from carepipe.ops.users.accounts import (
    CLIENT_MAX_FAILURES,
    CLIENT_WINDOW,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    SESSION_IDLE,
    SESSION_MAX,
    SESSION_TOUCH_EVERY,
    dummy_hash,
    hash_password,
    needs_rehash,
    record_user_event,
    verify_password,
)


@dataclass(frozen=True)
class NewSession:
    """A session just started: ``secret`` goes into the (signed) cookie, never into the DB."""

    secret: str
    user_id: str
    username: str
    csrf_token: str
    password_must_change: bool


def _client_failures(session: Session, client: str) -> int:
    since = utcnow() - CLIENT_WINDOW
    return session.execute(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.client == client, LoginAttempt.at >= since, ~LoginAttempt.success)
    ).scalar_one()


def _authenticate(
    session: Session, *, username: str, password: str, client: str
) -> ConsoleUser | CarePipeError:
    """Check credentials, recording the attempt. Returns the user, or the error to raise
    after the caller commits (failure counters must persist)."""
    now = utcnow()
    username = (username or "").strip().lower()[:64]
    if _client_failures(session, client) >= CLIENT_MAX_FAILURES:
        return RateLimited("too many failed sign-ins from this address; try again later")
    user = session.execute(
        select(ConsoleUser).where(ConsoleUser.username == username)
    ).scalar_one_or_none()
    attempt = LoginAttempt(at=now, username=username, client=client[:64], success=False)
    session.add(attempt)
    # One answer for an unknown name, a locked account and a wrong password (same status,
    # code and message), and the same work for each: a password hash is verified every
    # time, so neither the answer nor its timing tells which names exist or are locked.
    refused = InvalidCredentials("wrong username or password")
    if user is None:
        verify_password(dummy_hash(), password)
        # Typed usernames may be mistyped passwords: the audit log does not keep them.
        record_user_event(
            session, "anonymous", "user.login_failed", None, after={"why": "unknown user"}
        )
        return refused
    password_ok = verify_password(user.password_hash, password)
    if user.locked:
        record_user_event(
            session, f"user:{username}", "user.login_failed", user, after={"why": "locked"}
        )
        return refused
    if user.locked_until is not None and user.locked_until > now:
        # Attempts during a lockout neither count nor extend it, and even the right
        # password is refused (saying "locked" here would confirm the guess).
        record_user_event(
            session, f"user:{username}", "user.login_failed", user, after={"why": "lockout"}
        )
        return refused
    if not password_ok:
        if user.locked_until is not None:  # an expired lockout: start counting afresh
            user.failed_logins, user.locked_until = 0, None
        user.failed_logins += 1
        user.last_failed_at = now
        user.updated_at = now
        after: dict[str, Any] = {"failed_logins": user.failed_logins}
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            after["locked_until"] = user.locked_until.isoformat()
        record_user_event(session, f"user:{username}", "user.login_failed", user, after=after)
        return refused
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    user.updated_at = now
    attempt.success = True
    return user


def login(
    db: Database, *, username: str, password: str, client: str, previous: str | None = None
) -> NewSession:
    """Sign in: check the password (rate limit, lockout) and start a *new* session.

    A session id the browser already had (``previous``) is ended, never reused:
    a planted id cannot be carried into a signed-in session (no fixation).
    """
    with db.transaction() as session:
        result = _authenticate(session, username=username, password=password, client=client)
        if isinstance(result, CarePipeError):
            failure: CarePipeError | None = result
        else:
            failure = None
            if previous:
                end_session(session, previous)
            new = start_session(session, result)
            record_user_event(session, f"user:{result.username}", "user.login", result)
    if failure is not None:
        raise failure
    return new


def start_session(session: Session, user: ConsoleUser) -> NewSession:
    now = utcnow()
    secret = secrets.token_urlsafe(32)
    row = ConsoleSession(
        id=sha256_hex(secret.encode()),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_MAX,
    )
    session.add(row)
    session.flush()
    return NewSession(secret, user.id, user.username, row.csrf_token, user.password_must_change)


@dataclass(frozen=True)
class ActiveSession:
    """What a request learns from a valid session cookie."""

    session_id: str  # the stored hash (never the secret)
    user_id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    csrf_token: str
    password_must_change: bool
    stale: bool = False  # last activity older than SESSION_TOUCH_EVERY

    @property
    def principal(self) -> Principal:
        return Principal(kind="user", id=self.username, roles=self.roles, name=self.display_name)


def resolve_session(session: Session, secret: str) -> ActiveSession | None:
    """The live session for ``secret``, or None (unknown, ended, idle too long, user locked).

    Read-only: callers refresh ``last_seen_at`` with ``touch_session`` when it is stale.
    """
    now = utcnow()
    row = session.get(ConsoleSession, sha256_hex(secret.encode()))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + SESSION_IDLE <= now:
        return None
    user = session.get(ConsoleUser, row.user_id)
    if user is None or user.locked:
        return None
    return ActiveSession(
        row.id,
        user.id,
        user.username,
        user.display_name,
        tuple(user.roles),
        row.csrf_token,
        user.password_must_change,
        stale=now - row.last_seen_at >= SESSION_TOUCH_EVERY,
    )


def touch_session(session: Session, session_id: str) -> None:
    """Record activity (at most once a minute per session: a write per page costs too much)."""
    session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def end_session(session: Session, secret: str) -> None:
    """Sign out: the session can never be used again."""
    row = session.get(ConsoleSession, sha256_hex(secret.encode()))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        user = session.get(ConsoleUser, row.user_id)
        if user is not None:
            record_user_event(session, f"user:{user.username}", "user.logout", user)


def cookie_serializer(settings: Settings) -> URLSafeSerializer:
    """Signs the session cookie (and the anonymous CSRF cookie) with the console secret."""
    return URLSafeSerializer(console_secret(settings), salt="carepipe.console")


def console_secret(settings: Settings) -> str:
    """``CAREPIPE_SESSION_SECRET``, else a secret generated once into the data directory."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value()
    path = settings.data_dir / "secrets" / "session.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def check_csrf(active: ActiveSession, presented: str | None) -> None:
    """The session-bound CSRF check used by the console and by cookie-authenticated API calls."""
    if not presented or not constant_time_equal(presented, active.csrf_token):
        raise CsrfFailed("missing or wrong CSRF token; reload the page and try again")


def session_id_of(secret: str) -> str:
    """The stored id of a session secret (for callers that keep the current session)."""
    return hashlib.sha256(secret.encode()).hexdigest()
