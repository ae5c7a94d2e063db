"""Personal API tokens of console users (``cpu_<id>_<secret>``), for the staff API.

Only a hash is stored; verifying does the same work whether or not the id exists.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.crypto import constant_time_equal, sha256_hex
from carepipe.core.errors import (
    AuthenticationRequired,
    NotFound,
    PasswordChangeRequired,
)
from carepipe.ops.user_models import ConsoleUser, UserToken
from carepipe.ops.users.accounts import (
    get_user,
    principal_for,
    record_user_event,
)
from carepipe.ops.views import View

_TOKEN_RE = re.compile(r"^cpu_([a-z0-9]{12})_([A-Za-z0-9_\-]{32,128})$")


class IssuedToken(View):
    id: str
    username: str
    plaintext: str = Field(description="The token (cpu_<id>_<secret>), shown once.", repr=False)
    expires_at: datetime | None


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
    user = get_user(session, username)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    token_id = "".join(secrets.choice(alphabet) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    expires = now + timedelta(days=days) if days else None
    session.add(
        UserToken(
            id=token_id,
            user_id=user.id,
            name=name,
            secret_sha256=sha256_hex(secret.encode()),
            created_at=now,
            expires_at=expires,
        )
    )
    record_user_event(
        session, actor, "user.token_issue", user, after={"token_id": token_id}, reason=reason
    )
    return IssuedToken(
        id=token_id,
        username=user.username,
        plaintext=f"cpu_{token_id}_{secret}",
        expires_at=expires,
    )


def revoke_token(
    session: Session, actor: Principal, token_id: str, *, reason: str | None = None
) -> None:
    require(actor, "users.manage")
    tok = session.get(UserToken, token_id)
    if tok is None:
        raise NotFound("no such token")
    tok.revoked_at = utcnow()
    user = session.get(ConsoleUser, tok.user_id)
    record_user_event(
        session, actor, "user.token_revoke", user, after={"token_id": token_id}, reason=reason
    )


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
