"""Console users: accounts, passwords (argon2), sign-in with lockout, sessions, personal tokens.

Every state change writes an audit event in the same transaction. Time comes
from the injectable clock, so lockout windows and session expiry are testable
without sleeping.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import ROLES, Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.crypto import constant_time_equal, sha256_hex
from carepipe.core.db import Database
from carepipe.core.errors import (
    AccountLocked,
    AuthenticationRequired,
    CarePipeError,
    Conflict,
    CsrfFailed,
    InvalidCredentials,
    InvalidRequest,
    NotFound,
    PasswordChangeRequired,
    RateLimited,
    WeakPassword,
)

__all__ = [
    "AccountLocked",
    "CsrfFailed",
    "InvalidCredentials",
    "PasswordChangeRequired",
    "WeakPassword",
]
from carepipe.ops.user_models import ConsoleSession, ConsoleUser, LoginAttempt, UserToken

# -- policy --------------------------------------------------------------------------------

STAFF_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r != "partner")
MAX_FAILED_LOGINS = 5  # consecutive failures before the account locks itself
LOCKOUT = timedelta(minutes=15)
CLIENT_WINDOW = timedelta(minutes=15)
CLIENT_MAX_FAILURES = 20  # failed attempts per client address per window, any username
SESSION_COOKIE = "cp_session"  # shared by the console and the staff API
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(hours=12)
SESSION_TOUCH_EVERY = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 12
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_TOKEN_RE = re.compile(r"^cpu_([a-z0-9]{12})_([A-Za-z0-9_\-]{32,128})$")

_hasher = PasswordHasher()  # argon2id, RFC 9106 "low memory" profile
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the argon2 parameters (tests use cheap ones); returns the previous hasher."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def _dummy() -> str:
    # Verified against when the username is unknown, so timing does not reveal which names exist.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hash


# -- errors (the lead may move these to core/errors.py) --------------------------------------


# -- helpers -------------------------------------------------------------------------------


def principal_for(user: ConsoleUser) -> Principal:
    """The acting principal of a signed-in user (staff: all tenants)."""
    return Principal(kind="user", id=user.username, roles=tuple(user.roles), name=user.display_name)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password_policy(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise WeakPassword("password must not contain the username")


def _check_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    out = sorted(set(roles))
    if not out:
        raise InvalidRequest("a user needs at least one role")
    unknown = [r for r in out if r not in STAFF_ROLES]
    if unknown:
        raise InvalidRequest(
            f"unknown role(s): {', '.join(unknown)}", details={"roles": list(STAFF_ROLES)}
        )
    return out


def one_time_password() -> str:
    """A random password to hand over once (the user must change it at first sign-in)."""
    return secrets.token_urlsafe(15)


def _get_user(session: Session, username: str) -> ConsoleUser:
    user = session.execute(
        select(ConsoleUser).where(ConsoleUser.username == username.lower())
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("no such user")
    return user


def _audit(
    session: Session, actor: Principal | str, action: str, user: ConsoleUser | None, **kw: Any
) -> None:
    if isinstance(actor, Principal):
        name, role = actor.actor, actor.role
    else:
        name, role = actor, None
    audit.record(
        session,
        actor=name,
        actor_role=role,
        action=action,
        target_type="user",
        target_id=user.username if user is not None else None,
        **kw,
    )


# -- accounts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedUser:
    id: str
    username: str
    roles: tuple[str, ...]
    one_time_password: str | None  # shown once when no password was given


def create_user(
    session: Session,
    actor: Principal,
    *,
    username: str,
    roles: list[str] | tuple[str, ...],
    password: str | None = None,
    display_name: str = "",
    reason: str | None = None,
) -> CreatedUser:
    """Create a console user. Without ``password`` a one-time password is generated and
    returned; the user must change it at first sign-in."""
    require(actor, "users.manage")
    username = username.strip().lower()
    if not _USERNAME_RE.match(username):
        raise InvalidRequest("username: 2-64 of a-z 0-9 . _ - (starting with a letter or digit)")
    checked = _check_roles(roles)
    if session.execute(
        select(ConsoleUser.id).where(ConsoleUser.username == username)
    ).scalar_one_or_none():
        raise Conflict("a user with this name exists")
    otp = None
    if password is None:
        otp = password = one_time_password()
    else:
        _check_password_policy(password, username)
    now = utcnow()
    user = ConsoleUser(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        roles=checked,
        password_must_change=otp is not None,
        locked=False,
        failed_logins=0,
        created_at=now,
        updated_at=now,
        password_changed_at=None if otp else now,
        created_by=actor.actor,
    )
    session.add(user)
    session.flush()
    _audit(session, actor, "user.create", user, after={"roles": checked}, reason=reason)
    return CreatedUser(user.id, username, tuple(checked), otp)


def ensure_admin(session: Session) -> str | None:
    """Bootstrap: when no user exists, create ``admin`` and return its one-time password."""
    if session.execute(select(func.count()).select_from(ConsoleUser)).scalar_one():
        return None
    from carepipe.core.auth import SYSTEM

    created = create_user(
        session, SYSTEM, username="admin", roles=["admin"], reason="bootstrap (make up)"
    )
    return created.one_time_password


def list_users(session: Session, actor: Principal) -> list[ConsoleUser]:
    require(actor, "users.manage")
    return list(session.execute(select(ConsoleUser).order_by(ConsoleUser.username)).scalars())


def lock_user(
    session: Session, actor: Principal, username: str, *, reason: str | None = None
) -> ConsoleUser:
    """Lock an account until unlocked; its sessions and tokens stop working at once."""
    require(actor, "users.manage")
    user = _get_user(session, username)
    before = {"locked": user.locked}
    user.locked = True
    user.updated_at = utcnow()
    _revoke_sessions(session, user.id)
    _audit(session, actor, "user.lock", user, before=before, after={"locked": True}, reason=reason)
    return user


def unlock_user(
    session: Session, actor: Principal, username: str, *, reason: str | None = None
) -> ConsoleUser:
    """Clear an administrator lock and any automatic lockout."""
    require(actor, "users.manage")
    user = _get_user(session, username)
    before = {
        "locked": user.locked,
        "failed_logins": user.failed_logins,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
    }
    user.locked = False
    user.failed_logins = 0
    user.locked_until = None
    user.updated_at = utcnow()
    _audit(
        session, actor, "user.unlock", user, before=before, after={"locked": False}, reason=reason
    )
    return user


def reset_password(
    session: Session, actor: Principal, username: str, *, reason: str | None = None
) -> str:
    """Give a user a new one-time password (returned once); their sessions end."""
    require(actor, "users.manage")
    user = _get_user(session, username)
    otp = one_time_password()
    user.password_hash = hash_password(otp)
    user.password_must_change = True
    user.updated_at = utcnow()
    _revoke_sessions(session, user.id)
    _audit(session, actor, "user.reset_password", user, reason=reason)
    return otp


def change_password(
    session: Session, user_id: str, *, current: str, new: str, keep_session: str | None = None
) -> ConsoleUser:
    """The user changes their own password; other sessions of theirs are ended."""
    user = session.get(ConsoleUser, user_id)
    if user is None:
        raise NotFound("no such user")
    if not _verify(user.password_hash, current):
        raise InvalidCredentials("current password is wrong")
    _check_password_policy(new, user.username)
    if _verify(user.password_hash, new):
        raise WeakPassword("the new password must differ from the current one")
    now = utcnow()
    user.password_hash = hash_password(new)
    user.password_must_change = False
    user.password_changed_at = now
    user.updated_at = now
    _revoke_sessions(session, user.id, keep=keep_session)
    _audit(session, f"user:{user.username}", "user.change_password", user)
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- sign-in ---------------------------------------------------------------------------------


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
        _verify(_dummy(), password)
        # Typed usernames may be mistyped passwords: the audit log does not keep them.
        _audit(session, "anonymous", "user.login_failed", None, after={"why": "unknown user"})
        return refused
    password_ok = _verify(user.password_hash, password)
    if user.locked:
        _audit(session, f"user:{username}", "user.login_failed", user, after={"why": "locked"})
        return refused
    if user.locked_until is not None and user.locked_until > now:
        # Attempts during a lockout neither count nor extend it, and even the right
        # password is refused (saying "locked" here would confirm the guess).
        _audit(session, f"user:{username}", "user.login_failed", user, after={"why": "lockout"})
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
        _audit(session, f"user:{username}", "user.login_failed", user, after=after)
        return refused
    if _hasher.check_needs_rehash(user.password_hash):
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
            _audit(session, f"user:{result.username}", "user.login", result)
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
            _audit(session, f"user:{user.username}", "user.logout", user)


def _revoke_sessions(session: Session, user_id: str, keep: str | None = None) -> None:
    stmt = (
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if keep:
        stmt = stmt.where(ConsoleSession.id != keep)
    session.execute(stmt, execution_options={"synchronize_session": False})


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


# -- personal API tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    id: str
    username: str
    plaintext: str  # shown once


def issue_token(
    session: Session,
    actor: Principal,
    username: str,
    *,
    name: str = "",
    days: float | None = 90,
    reason: str | None = None,
) -> IssuedToken:
    """A personal bearer token for the staff API (``cpu_<id>_<secret>``), acting as the user."""
    require(actor, "users.manage")
    user = _get_user(session, username)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    token_id = "".join(secrets.choice(alphabet) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserToken(
            id=token_id,
            user_id=user.id,
            name=name,
            secret_sha256=sha256_hex(secret.encode()),
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
    )
    _audit(session, actor, "user.token_issue", user, after={"token_id": token_id}, reason=reason)
    return IssuedToken(token_id, user.username, f"cpu_{token_id}_{secret}")


def revoke_token(
    session: Session, actor: Principal, token_id: str, *, reason: str | None = None
) -> None:
    require(actor, "users.manage")
    tok = session.get(UserToken, token_id)
    if tok is None:
        raise NotFound("no such token")
    tok.revoked_at = utcnow()
    user = session.get(ConsoleUser, tok.user_id)
    _audit(session, actor, "user.token_revoke", user, after={"token_id": token_id}, reason=reason)


def looks_like_user_token(value: str) -> bool:
    return value.startswith("cpu_")


_NO_TOKEN_DIGEST = "0" * 64  # compared against when the token id is unknown (same work)


def verify_token(session: Session, plaintext: str) -> Principal:
    """The user behind a personal token, or ``AuthenticationRequired`` (one message for all).

    An unknown token id, a wrong secret, a revoked or expired token and a locked
    user cost the same: one query (token joined to its user) and one comparison.
    """
    m = _TOKEN_RE.match(plaintext.strip())
    bad = AuthenticationRequired("invalid or expired personal token")
    if not m:
        raise bad
    row = session.execute(
        select(UserToken, ConsoleUser)
        .join(ConsoleUser, ConsoleUser.id == UserToken.user_id)
        .where(UserToken.id == m.group(1))
    ).first()
    stored = row[0].secret_sha256 if row is not None else _NO_TOKEN_DIGEST
    secret_ok = constant_time_equal(sha256_hex(m.group(2).encode()), stored)
    if row is None or not secret_ok:
        raise bad
    tok, user = row
    now = utcnow()
    if tok.revoked_at is not None or (tok.expires_at is not None and tok.expires_at <= now):
        raise bad
    if user.locked:
        raise bad
    if user.password_must_change:
        raise PasswordChangeRequired("change the one-time password in the console first")
    return principal_for(user)


def session_id_of(secret: str) -> str:
    """The stored id of a session secret (for callers that keep the current session)."""
    return hashlib.sha256(secret.encode()).hexdigest()


__all__ = [
    "MAX_FAILED_LOGINS",
    "STAFF_ROLES",
    "AccountLocked",
    "ActiveSession",
    "CreatedUser",
    "CsrfFailed",
    "InvalidCredentials",
    "IssuedToken",
    "NewSession",
    "PasswordChangeRequired",
    "WeakPassword",
    "change_password",
    "check_csrf",
    "create_user",
    "end_session",
    "ensure_admin",
    "issue_token",
    "list_users",
    "lock_user",
    "login",
    "principal_for",
    "resolve_session",
    "revoke_token",
    "start_session",
    "unlock_user",
    "verify_token",
]
