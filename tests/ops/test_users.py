"""Console users: creation, sign-in, lockout (injectable clock), sessions, tokens; SQLite + PG."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from carepipe.core.audit import verify_chain
from carepipe.core.auth import SYSTEM, Principal
from carepipe.core.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
)
from carepipe.core.models import AuditEvent
from carepipe.ops import users
from carepipe.ops.user_models import ConsoleUser
from tests.support.console import PASSWORD, make_user


def _actions(db) -> list[str]:
    with db.session() as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def test_ensure_admin_once_with_one_time_password(db):
    with db.transaction() as s:
        otp = users.ensure_admin(s)
    assert otp and len(otp) >= 16
    with db.transaction() as s:
        assert users.ensure_admin(s) is None
    new = users.login(db, username="admin", password=otp, client="t")
    assert new.password_must_change is True
    with db.transaction() as s:
        users.change_password(s, new.user_id, current=otp, new="a-much-better-pass-1")
    again = users.login(db, username="admin", password="a-much-better-pass-1", client="t")
    assert again.password_must_change is False
    assert "user.create" in _actions(db) and "user.change_password" in _actions(db)


def test_create_user_validation_and_permission(db):
    with db.transaction() as s:
        created = users.create_user(s, SYSTEM, username="Alice", roles=["ops", "compliance"])
    assert created.username == "alice" and created.one_time_password
    with db.transaction() as s:
        stored = s.execute(select(ConsoleUser).where(ConsoleUser.username == "alice")).scalar_one()
        assert stored.password_hash.startswith("$argon2id$")
        assert created.one_time_password not in stored.password_hash
    with pytest.raises(Conflict), db.transaction() as s:
        users.create_user(s, SYSTEM, username="alice", roles=["ops"])
    with pytest.raises(InvalidRequest), db.transaction() as s:
        users.create_user(s, SYSTEM, username="bob", roles=["partner"])
    with pytest.raises(InvalidRequest), db.transaction() as s:
        users.create_user(s, SYSTEM, username="bob", roles=["ops"], password="short")
    ops = Principal(kind="user", id="o", roles=("ops",))
    with pytest.raises(PermissionDenied), db.transaction() as s:
        users.create_user(s, ops, username="carol", roles=["admin"])


def test_lockout_after_repeated_failures_then_expiry(db, clock):
    make_user(db, "dana", "ops")
    for i in range(users.MAX_FAILED_LOGINS):
        with pytest.raises(users.InvalidCredentials):
            users.login(db, username="dana", password=f"wrong-{i}", client="10.0.0.1")
    # Locked now: even the right password is refused, without being checked.
    with pytest.raises(users.AccountLocked):
        users.login(db, username="dana", password=PASSWORD, client="10.0.0.1")
    clock.advance(seconds=users.LOCKOUT.total_seconds() - 1)
    with pytest.raises(users.AccountLocked):
        users.login(db, username="dana", password=PASSWORD, client="10.0.0.1")
    clock.advance(seconds=2)
    assert users.login(db, username="dana", password=PASSWORD, client="10.0.0.1").username == "dana"
    acts = _actions(db)
    assert acts.count("user.login_failed") == users.MAX_FAILED_LOGINS + 2
    with db.session() as s:
        assert verify_chain(s).ok


def test_failures_below_threshold_reset_on_success(db, clock):
    make_user(db, "erin", "ops")
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        with pytest.raises(users.InvalidCredentials):
            users.login(db, username="erin", password="nope-nope", client="c")
    users.login(db, username="erin", password=PASSWORD, client="c")
    for _ in range(users.MAX_FAILED_LOGINS - 1):
        with pytest.raises(users.InvalidCredentials):
            users.login(db, username="erin", password="nope-nope", client="c")
    assert users.login(db, username="erin", password=PASSWORD, client="c")


def test_client_rate_limit_across_usernames(db, clock):
    make_user(db, "fay", "ops")
    for i in range(users.CLIENT_MAX_FAILURES):
        with pytest.raises(users.InvalidCredentials):
            users.login(db, username=f"ghost{i}", password="x" * 12, client="203.0.113.9")
    with pytest.raises(RateLimited):
        users.login(db, username="fay", password=PASSWORD, client="203.0.113.9")
    # Another address is not affected; the window slides with the clock.
    assert users.login(db, username="fay", password=PASSWORD, client="198.51.100.1")
    clock.advance(seconds=users.CLIENT_WINDOW.total_seconds() + 1)
    assert users.login(db, username="fay", password=PASSWORD, client="203.0.113.9")


def test_sessions_expire_idle_and_on_logout_and_lock(db, clock):
    make_user(db, "gus", "ops")
    new = users.login(db, username="gus", password=PASSWORD, client="c")
    with db.session() as s:
        active = users.resolve_session(s, new.secret)
    assert active and active.principal.can("dlq.replay") and active.csrf_token == new.csrf_token
    clock.advance(seconds=users.SESSION_IDLE.total_seconds() + 1)
    with db.session() as s:
        assert users.resolve_session(s, new.secret) is None
    second = users.login(db, username="gus", password=PASSWORD, client="c", previous=new.secret)
    assert second.secret != new.secret and second.csrf_token != new.csrf_token
    with db.transaction() as s:
        users.lock_user(s, SYSTEM, "gus", reason="left the team")
    with db.session() as s:
        assert users.resolve_session(s, second.secret) is None
    with pytest.raises(users.AccountLocked):
        users.login(db, username="gus", password=PASSWORD, client="c")
    with db.transaction() as s:
        users.unlock_user(s, SYSTEM, "gus")
    third = users.login(db, username="gus", password=PASSWORD, client="c")
    with db.transaction() as s:
        users.end_session(s, third.secret)
    with db.session() as s:
        assert users.resolve_session(s, third.secret) is None
    assert {"user.lock", "user.unlock", "user.logout", "user.login"} <= set(_actions(db))


def test_personal_tokens(db, clock):
    make_user(db, "hal", "compliance")
    with db.transaction() as s:
        tok = users.issue_token(s, SYSTEM, "hal", name="laptop", days=1)
    assert tok.plaintext.startswith("cpu_")
    with db.session() as s:
        p = users.verify_token(s, tok.plaintext)
    assert p.actor == "user:hal" and p.can("audit.read") and not p.can("dlq.replay")
    with pytest.raises(AuthenticationRequired), db.session() as s:
        users.verify_token(s, tok.plaintext[:-2] + "xx")
    clock.advance(days=2)
    with pytest.raises(AuthenticationRequired), db.session() as s:
        users.verify_token(s, tok.plaintext)


def test_weak_or_reused_password_refused(db):
    make_user(db, "ivy", "ops")
    new = users.login(db, username="ivy", password=PASSWORD, client="c")
    with pytest.raises(users.InvalidCredentials), db.transaction() as s:
        users.change_password(s, new.user_id, current="wrong-password-1", new="x" * 20)
    with pytest.raises(users.WeakPassword), db.transaction() as s:
        users.change_password(s, new.user_id, current=PASSWORD, new="short")
    with pytest.raises(users.WeakPassword), db.transaction() as s:
        users.change_password(s, new.user_id, current=PASSWORD, new=PASSWORD)
    _ = timedelta
