"""Console user accounts: create, list, lock, unlock, passwords (argon2), and the policy.

Sign-in and sessions are in ``sessions``, personal tokens in ``tokens``.

Every state change writes an audit event in the same transaction. Time comes
from the injectable clock, so lockout windows and session expiry are testable
without sleeping.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import ROLES, Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.errors import (
    Conflict,
    InvalidCredentials,
    InvalidRequest,
    NotFound,
    WeakPassword,
)
from carepipe.ops.user_models import ConsoleSession, ConsoleUser
from carepipe.ops.views import View

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

_hasher = PasswordHasher()  # argon2id, RFC 9106 "low memory" profile
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the argon2 parameters (tests use cheap ones); returns the previous hasher."""
    global _hasher, _dummy_hash
    previous, _hasher, _dummy_hash = _hasher, hasher, None
    return previous


def dummy_hash() -> str:
    """A hash to verify against when the username is unknown (timing reveals no names)."""
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


def check_password_policy(password: str, username: str) -> None:
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


def get_user(session: Session, username: str) -> ConsoleUser:
    user = session.execute(
        select(ConsoleUser).where(ConsoleUser.username == username.lower())
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("no such user")
    return user


def record_user_event(
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


class UserView(View):
    """A console user as administrators see it (never a password hash)."""

    id: str
    username: str
    display_name: str
    roles: list[str]
    locked: bool = Field(description="Locked by an administrator until unlocked.")
    locked_until: datetime | None = Field(description="End of an automatic lockout.")
    password_must_change: bool
    last_login_at: datetime | None
    created_at: datetime


def user_view(user: ConsoleUser) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        locked=user.locked,
        locked_until=user.locked_until,
        password_must_change=user.password_must_change,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


class CreatedUser(View):
    id: str
    username: str
    roles: tuple[str, ...]
    one_time_password: str | None = Field(
        description="Shown once, when no password was given; changed at first sign-in.",
        repr=False,
    )


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
        check_password_policy(password, username)
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
    record_user_event(session, actor, "user.create", user, after={"roles": checked}, reason=reason)
    return CreatedUser(id=user.id, username=username, roles=tuple(checked), one_time_password=otp)


def ensure_admin(session: Session) -> str | None:
    """Bootstrap: when no user exists, create ``admin`` and return its one-time password."""
    if session.execute(select(func.count()).select_from(ConsoleUser)).scalar_one():
        return None
    from carepipe.core.auth import SYSTEM

    created = create_user(
        session, SYSTEM, username="admin", roles=["admin"], reason="bootstrap (make up)"
    )
    return created.one_time_password


def list_users(session: Session, actor: Principal) -> list[UserView]:
    """Every console user, by name."""
    require(actor, "users.manage")
    rows = session.execute(select(ConsoleUser).order_by(ConsoleUser.username)).scalars()
    return [user_view(u) for u in rows]


def lock_user(
    session: Session, actor: Principal, username: str, *, reason: str | None = None
) -> UserView:
    """Lock an account until unlocked; its sessions and tokens stop working at once."""
    require(actor, "users.manage")
    user = get_user(session, username)
    before = {"locked": user.locked}
    user.locked = True
    user.updated_at = utcnow()
    revoke_sessions(session, user.id)
    record_user_event(
        session, actor, "user.lock", user, before=before, after={"locked": True}, reason=reason
    )
    return user_view(user)


def unlock_user(
    session: Session, actor: Principal, username: str, *, reason: str | None = None
) -> UserView:
    """Clear an administrator lock and any automatic lockout."""
    require(actor, "users.manage")
    user = get_user(session, username)
    before = {
        "locked": user.locked,
        "failed_logins": user.failed_logins,
        "locked_until": user.locked_until.isoformat() if user.locked_until else None,
    }
    user.locked = False
    user.failed_logins = 0
    user.locked_until = None
    user.updated_at = utcnow()
    record_user_event(
        session, actor, "user.unlock", user, before=before, after={"locked": False}, reason=reason
    )
    return user_view(user)


class PasswordReset(View):
    username: str
    one_time_password: str = Field(
        description="Shown once; changed at the next sign-in.", repr=False
    )


def reset_password(
    session: Session, actor: Principal, username: str, *, reason: str | None = None
) -> PasswordReset:
    """Give a user a new one-time password (returned once); their sessions end."""
    require(actor, "users.manage")
    user = get_user(session, username)
    otp = one_time_password()
    user.password_hash = hash_password(otp)
    user.password_must_change = True
    user.updated_at = utcnow()
    revoke_sessions(session, user.id)
    record_user_event(session, actor, "user.reset_password", user, reason=reason)
    return PasswordReset(username=user.username, one_time_password=otp)


def change_password(
    session: Session, user_id: str, *, current: str, new: str, keep_session: str | None = None
) -> ConsoleUser:
    """The user changes their own password; other sessions of theirs are ended."""
    user = session.get(ConsoleUser, user_id)
    if user is None:
        raise NotFound("no such user")
    if not verify_password(user.password_hash, current):
        raise InvalidCredentials("current password is wrong")
    check_password_policy(new, user.username)
    if verify_password(user.password_hash, new):
        raise WeakPassword("the new password must differ from the current one")
    now = utcnow()
    user.password_hash = hash_password(new)
    user.password_must_change = False
    user.password_changed_at = now
    user.updated_at = now
    revoke_sessions(session, user.id, keep=keep_session)
    record_user_event(session, f"user:{user.username}", "user.change_password", user)
    return user


def needs_rehash(hashed: str) -> bool:
    """Whether a stored hash was made with other argon2 parameters than today's."""
    return _hasher.check_needs_rehash(hashed)


def verify_password(hashed: str, password: str) -> bool:
    """Whether ``password`` matches ``hashed`` (false for any malformed hash)."""
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- sign-in ---------------------------------------------------------------------------------


def revoke_sessions(session: Session, user_id: str, keep: str | None = None) -> None:
    stmt = (
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if keep:
        stmt = stmt.where(ConsoleSession.id != keep)
    session.execute(stmt, execution_options={"synchronize_session": False})


# -- personal API tokens ---------------------------------------------------------------------
