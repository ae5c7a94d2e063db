"""Console users: creation, sign-in, lockout (injectable clock), sessions, tokens; SQLite + PG."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
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
    # Locked now: even the right password is refused, with the answer a wrong password
    # gets (F9: "locked" would tell that the account exists and the guess was right).
    with pytest.raises(users.InvalidCredentials, match="wrong username or password"):
        users.login(db, username="dana", password=PASSWORD, client="10.0.0.1")
    clock.advance(seconds=users.LOCKOUT.total_seconds() - 1)
    with pytest.raises(users.InvalidCredentials, match="wrong username or password"):
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
    with pytest.raises(users.InvalidCredentials):  # locked: the same answer as a wrong password
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


# -- F9: sign-in does not reveal whether an account exists or is locked ------------------------


class _CountingHasher(PasswordHasher):
    calls = 0

    def verify(self, hash, password):
        type(self).calls += 1
        return super().verify(hash, password)


def _locked_pair(db, clock) -> None:
    """``lena`` locked by an administrator, ``lou`` locked out by failed sign-ins."""
    make_user(db, "lena", "ops")
    make_user(db, "lou", "ops")
    make_user(db, "wes", "ops")
    with db.transaction() as s:
        users.lock_user(s, SYSTEM, "lena", reason="left")
    for i in range(users.MAX_FAILED_LOGINS):
        with pytest.raises(users.InvalidCredentials):
            users.login(db, username="lou", password=f"wrong-{i}", client=f"10.1.0.{i}")


def test_unknown_locked_and_wrong_password_do_the_same_work(db, clock):
    _locked_pair(db, clock)
    hasher = _CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    previous = users.use_password_hasher(hasher)
    try:
        users.dummy_hash()  # made once per process, before any timing matters
        for name, password in (
            ("nobody", "x" * 14),
            ("lena", PASSWORD),  # locked by an administrator, right password
            ("lou", PASSWORD),  # locked out, right password
            ("wes", "wrong-wrong-wrong"),
        ):
            before = _CountingHasher.calls
            with pytest.raises(users.InvalidCredentials) as exc:
                users.login(db, username=name, password=password, client="10.9.9.9")
            assert exc.value.to_dict() == {
                "code": "invalid_credentials",
                "message": "wrong username or password",
            }
            assert _CountingHasher.calls == before + 1, name  # one argon2 verification each
    finally:
        users.use_password_hasher(previous)


def test_sign_in_timing_does_not_tell_locked_from_unknown(db, clock):
    """With an argon2 cost that dominates the request (as in production, where it is ~50x
    the database work), the three refusals take comparable time."""
    import statistics
    import time

    previous = users.use_password_hasher(
        PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1)
    )
    try:
        _locked_pair(db, clock)  # hashes made with the same parameters as the dummy
        users.dummy_hash()
        times: dict[str, list[float]] = {"nobody": [], "lena": [], "wes": []}
        for r in range(7):
            for name in times:
                t0 = time.perf_counter()
                with pytest.raises(users.InvalidCredentials):
                    users.login(
                        db, username=name, password="wrong-wrong-wrong", client=f"10.8.{r}.1"
                    )
                times[name].append(time.perf_counter() - t0)
            with db.transaction() as s:  # keep "wes" below the lockout threshold
                users.unlock_user(s, SYSTEM, "wes")
    finally:
        users.use_password_hasher(previous)
    med = {k: statistics.median(v) for k, v in times.items()}
    # Before the fix a locked account answered without hashing at all.
    assert 0.5 < med["lena"] / med["wes"] < 2.0, med
    assert 0.5 < med["nobody"] / med["wes"] < 2.0, med


def test_console_and_api_answer_unknown_and_locked_alike(db, settings, blobs, clock):
    import re

    from fastapi.testclient import TestClient

    from carepipe.app import create_app
    from tests.support.console_http import csrf_of

    _locked_pair(db, clock)
    with db.transaction() as s:
        lena_token = users.issue_token(s, SYSTEM, "lena").plaintext
        wes_token = users.issue_token(s, SYSTEM, "wes").plaintext
    client = TestClient(
        create_app(settings, db=db, blobs=blobs), base_url="http://testserver.local"
    )

    def console(username: str, password: str) -> tuple[int, str]:
        token = csrf_of(client.get("/console/login").text)
        r = client.post(
            "/console/login",
            data={"username": username, "password": password, "csrf_token": token},
            follow_redirects=False,
        )
        m = re.search(r'data-testid="login-error">([^<]*)<code>([^<]*)</code>', r.text)
        assert m, r.text[:300]
        return r.status_code, f"{m.group(1).strip()} {m.group(2)}"

    answers = {
        "unknown": console("nobody", PASSWORD),
        "locked": console("lena", PASSWORD),
        "locked out": console("lou", PASSWORD),
        "wrong password": console("wes", "wrong-wrong-wrong"),
    }
    assert set(answers.values()) == {(401, "wrong username or password invalid_credentials")}

    def api(token: str) -> tuple[int, dict]:
        r = client.get("/v1/audit", headers={"Authorization": f"Bearer {token}"})
        return r.status_code, r.json()

    unknown_id = "cpu_" + "z" * 12 + wes_token[16:]
    wrong_secret = wes_token[:-4] + ("aaaa" if not wes_token.endswith("aaaa") else "bbbb")
    assert api(lena_token) == api(unknown_id) == api(wrong_secret)
    assert api(lena_token)[0] == 401
