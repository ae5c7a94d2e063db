"""Issue 10 F6: an administrator with the database but not the key cannot quietly rewrite
the audit log. Every attack is raw SQL against a real database (SQLite and PostgreSQL);
detection is read from ``carepipe audit verify --json`` (the CLI, in process) and from
``GET /v1/audit/verify``."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from carepipe.core import audit
from carepipe.core.audit.checkpoints import FILE_NAME
from carepipe.core.audit.keys import new_key
from carepipe.core.config import get_settings
from carepipe.core.models import AuditEvent
from tests.support.cli import cli_environment


@pytest.fixture
def cli(settings, monkeypatch):
    """The CLI and the services of this test share one data directory (keys, checkpoints)."""
    from carepipe.cli import app

    for var in ("CAREPIPE_AUDIT_HMAC_KEY", "CAREPIPE_AUDIT_HMAC_OLD_KEYS"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    with cli_environment(settings, monkeypatch):
        yield lambda *args: runner.invoke(app, list(args))


def _seed(db, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with db.transaction() as s:
            audit.record(
                s,
                actor="user:olga",
                actor_role="ops",
                action="dlq.replay",
                target_type="task",
                target_id=str(1000 + i),
                after={"status": "ready"},
                reason=f"INC-{i}",
            )


def _json(stdout: str) -> dict:
    """The command's JSON document (structured log lines may precede it in tests)."""
    lines = stdout.splitlines()
    return json.loads("\n".join(lines[lines.index("{") :]))


def _verify(cli) -> tuple[int, dict]:
    r = cli("audit", "verify", "--json")
    return r.exit_code, _json(r.stdout)


def _kinds(report: dict) -> list[str]:
    return [p["kind"] for p in report["problems"]]


def _problem(report: dict, kind: str) -> dict:
    found = [p for p in report["problems"] if p["kind"] == kind]
    assert found, f"no {kind!r} problem in {report['problems']}"
    return found[0]


def _checkpoint(cli) -> dict:
    r = cli("audit", "checkpoint", "--json")
    assert r.exit_code == 0, r.output
    return _json(r.stdout)["checkpoint"]


def _ids(db) -> list[int]:
    with db.session() as s:
        return list(s.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars())


def _rewrite_from(db, first_id: int, hasher) -> None:
    """What an attacker without the key can do: recompute every hash from ``first_id``."""
    with db.transaction() as s:
        rows = list(
            s.execute(
                select(AuditEvent).where(AuditEvent.id >= first_id).order_by(AuditEvent.id)
            ).scalars()
        )
        prev = s.execute(
            select(AuditEvent.hash)
            .where(AuditEvent.id < first_id)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()
        for ev in rows:
            ev.prev_hash = prev
            ev.hash = hasher(ev)
            s.flush()
            prev = ev.hash


def test_intact_log_verifies_and_is_checkpointed(cli, db):
    _seed(db, 6)
    cp = _checkpoint(cli)
    assert (cp["seq"], cp["count"], cp["last_id"]) == (1, 6, _ids(db)[-1])
    code, report = _verify(cli)
    assert code == 0 and report["ok"] and report["problems"] == []
    assert report["checked"] == 6 and report["checkpoints"]["applicable"] == 1
    assert list(report["keys_used"].values()) == [6]  # every row under the one current key
    r = cli("audit", "verify")
    assert r.exit_code == 0 and "audit log intact: 6 events" in r.output


def test_deleting_the_newest_rows_is_detected(cli, db):
    _seed(db, 10)
    cp = _checkpoint(cli)
    ids = _ids(db)
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE id > :k"), {"k": ids[6]})
    code, report = _verify(cli)
    assert code == 1 and not report["ok"]
    p = _problem(report, "truncated")
    assert p["row_id"] == cp["last_id"] and p["checkpoint_seq"] == 1
    assert f"rows after id {ids[6]} are missing" in p["message"]
    assert "recorded 10 rows" in p["message"] and "3 rows deleted" in p["message"]
    r = cli("audit", "verify")
    assert r.exit_code == 1 and "TAMPERED" in r.output and "[truncated]" in r.output


def test_emptying_the_log_is_detected(cli, db):
    _seed(db, 4)
    _checkpoint(cli)
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events"))
    code, report = _verify(cli)
    assert code == 1 and "the log now is empty" in _problem(report, "truncated")["message"]


@pytest.mark.parametrize("attacker", ["sha256", "guessed-key"])
def test_editing_a_row_and_recomputing_the_chain_is_detected(cli, db, attacker):
    _seed(db, 8)
    cp = _checkpoint(cli)
    ids = _ids(db)
    with db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.id == ids[3]).values(actor="user:mallory"))
    other = new_key()
    hasher = (
        audit.legacy_hash if attacker == "sha256" else (lambda ev: audit.compute_hash(ev, other))
    )
    _rewrite_from(db, ids[3], hasher)
    code, report = _verify(cli)
    assert code == 1 and report["first_bad_id"] == ids[3]
    kind = "unkeyed" if attacker == "sha256" else "altered"
    run = _problem(report, kind)  # one problem naming the whole rewritten range
    assert (run["row_id"], run["last_row_id"]) == (ids[3], ids[-1])
    assert f"rows {ids[3]}-{ids[-1]} (5 rows)" in run["message"]
    # ... and the checkpoint, signed before the edit, no longer matches the head
    mismatch = _problem(report, "checkpoint_mismatch")
    assert mismatch["row_id"] == cp["last_id"] and mismatch["checkpoint_seq"] == 1
    assert not any(k in ("link_broken", "truncated") for k in _kinds(report))
    assert report["problems_total"] == len(report["problems"]) == 2


def test_editing_one_row_names_exactly_that_row(cli, db):
    _seed(db, 5)
    ids = _ids(db)
    with db.transaction() as s:
        s.execute(
            text("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :i"), {"i": ids[2]}
        )
    code, report = _verify(cli)
    assert code == 1 and _kinds(report) == ["altered"]
    assert (report["problems"][0]["row_id"], report["problems"][0]["last_row_id"]) == (ids[2],) * 2
    assert "edited" in report["problem"]


def test_deleting_a_middle_row_is_detected(cli, db):
    _seed(db, 7)
    _checkpoint(cli)
    ids = _ids(db)
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE id = :i"), {"i": ids[3]})
    code, report = _verify(cli)
    assert code == 1
    link = _problem(report, "link_broken")
    assert link["row_id"] == ids[4] and f"does not follow row {ids[2]}" in link["message"]
    assert "1 deleted" in _problem(report, "count_mismatch")["message"]


def test_deleting_the_oldest_rows_is_detected(cli, db):
    _seed(db, 5)
    ids = _ids(db)
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE id <= :i"), {"i": ids[1]})
    code, report = _verify(cli)
    assert code == 1 and _problem(report, "start_missing")["row_id"] == ids[2]


def _store_lines(settings) -> list[str]:
    return (settings.data_dir / "audit-checkpoints" / FILE_NAME).read_text().splitlines()


def _write_lines(settings, lines: list[str]) -> None:
    (settings.data_dir / "audit-checkpoints" / FILE_NAME).write_text("\n".join(lines) + "\n")


def test_forged_or_removed_checkpoints_are_detected(cli, db, settings):
    _seed(db, 3)
    _checkpoint(cli)
    _seed(db, 3, start=3)
    _checkpoint(cli)
    _seed(db, 3, start=6)
    _checkpoint(cli)
    lines = _store_lines(settings)
    # A forged checkpoint claiming the log ended earlier (to cover a truncation): the
    # attacker can write the file but cannot compute the HMAC.
    forged = json.loads(lines[-1])
    forged.update(count=6, last_id=_ids(db)[5], seq=4, prev=forged["mac"], mac="0" * 64)
    _write_lines(settings, [*lines, json.dumps(forged)])
    code, report = _verify(cli)
    assert code == 1
    p = _problem(report, "checkpoint_forged")
    assert p["checkpoint_seq"] == 4 and "invalid signature" in p["message"]
    # Removing a checkpoint from the middle of the store shows as a gap.
    _write_lines(settings, [lines[0], lines[2]])
    code, report = _verify(cli)
    assert code == 1 and _kinds(report) == ["checkpoint_gap"]
    assert "checkpoint #2 was removed" in report["problems"][0]["message"]


def test_rows_after_the_last_checkpoint_are_the_documented_window(cli, db):
    """What it does not protect: rows never covered by a checkpoint can be deleted from
    the end unnoticed. verify says how many rows are in that window."""
    _seed(db, 4)
    _checkpoint(cli)
    _seed(db, 2, start=4)
    code, report = _verify(cli)
    assert code == 0 and report["uncovered"] == 2
    assert any("2 row(s) after id" in n for n in report["notes"])
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE id > :k"), {"k": _ids(db)[3]})
    code, report = _verify(cli)
    assert code == 0 and report["uncovered"] == 0


def test_scheduled_checkpoint_writes_then_skips_then_refuses_after_tampering(cli, db, blobs):
    from carepipe.ops.audit_checkpoints import write_checkpoint
    from carepipe.ops.scheduler import default_jobs

    job = next(j for j in default_jobs(db, blobs) if j.name == "audit.checkpoint")
    assert job.every_seconds == 60.0
    _seed(db, 3)
    job.run()
    assert write_checkpoint(db).status == "unchanged"  # same head, recent checkpoint
    _seed(db, 2, start=3)
    ids = _ids(db)
    with db.transaction() as s:
        s.execute(text("UPDATE audit_events SET actor = 'user:x' WHERE id = :i"), {"i": ids[4]})
    job.run()  # refused and logged, not raised: the scheduler keeps going
    r = cli("audit", "checkpoint")
    assert r.exit_code == 1 and "audit_checkpoint_refused" in r.output
    assert len(_store_lines(get_settings())) == 1  # nothing was signed over the edit


def test_key_rotation_keeps_old_rows_verifiable(cli, db, settings):
    _seed(db, 3)
    r = cli("audit", "rotate-key", "--reason", "CHG-7")
    assert r.exit_code == 0, r.output
    old_id, new_id = (
        r.output.split("audit key ")[1].split()[0],
        r.output.split("new key ")[1].split()[0],
    )
    _seed(db, 2, start=3)
    code, report = _verify(cli)
    assert code == 0, report["problems"]
    assert report["keys_used"] == {old_id: 3, new_id: 3}  # + the audit.key_rotate row
    lines = [json.loads(x) for x in _store_lines(settings)]
    assert [c["key_id"] for c in lines] == [old_id, new_id]
    secrets_dir = settings.data_dir / "secrets"
    assert oct(os.stat(secrets_dir / "audit-old.keys").st_mode & 0o777) == "0o600"
    # Without the retired key the old rows and the old checkpoint cannot be vouched for.
    (secrets_dir / "audit-old.keys").unlink()
    code, report = _verify(cli)
    assert code == 1 and "checkpoint_unknown_key" in _kinds(report)
    assert _problem(report, "altered")["last_row_id"] == _ids(db)[2]


def test_key_from_environment_is_rotated_there(cli, db, monkeypatch):
    import base64

    monkeypatch.setenv("CAREPIPE_AUDIT_HMAC_KEY", base64.b64encode(b"k" * 32).decode())
    get_settings.cache_clear()
    r = cli("audit", "rotate-key")
    assert r.exit_code == 2 and "audit_key_from_environment" in r.output


def test_verify_over_the_api_reports_truncation(cli, db, settings, blobs):
    from fastapi.testclient import TestClient

    from carepipe.app import create_app
    from carepipe.core.auth import Principal
    from carepipe.ops import users

    admin = Principal(kind="system", id="test", roles=("admin",))
    with db.transaction() as s:
        users.create_user(s, admin, username="cora", roles=["compliance"], password="x" * 14)
    with db.transaction() as s:
        token = users.issue_token(s, admin, "cora").plaintext
    _seed(db, 4)
    _checkpoint(cli)
    client = TestClient(create_app(settings, db=db, blobs=blobs))
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/audit/verify", headers=auth).json()["ok"] is True
    with db.transaction() as s:
        s.execute(text("DELETE FROM audit_events WHERE id = (SELECT MAX(id) FROM audit_events)"))
    body = client.get("/v1/audit/verify", headers=auth).json()
    assert body["ok"] is False and "rows after id" in body["problem"]


# -- rows written before the chain was keyed (migration 0008) --------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def legacy_url(request, tmp_path, cli, monkeypatch):
    """A database migrated to 0007 (before keying): the CLI of this test points at it."""
    import uuid

    from sqlalchemy import create_engine

    from carepipe.core.migrate import upgrade
    from tests.conftest import PG_URL

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'legacy.db'}"
        drop = None
    else:
        schema = f"cp_legacy_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
        drop = (admin, schema)
    upgrade(url, "0007")
    monkeypatch.setenv("CAREPIPE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    if drop is not None:
        admin, schema = drop
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _insert_legacy(url: str, n: int) -> None:
    """Rows as the pre-0008 code wrote them: plain SHA-256 chain."""
    from datetime import UTC, datetime, timedelta

    from carepipe.core.db import Database

    database = Database(url)
    prev = audit.GENESIS
    with database.transaction() as s:
        for i in range(n):
            row = {
                "at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
                "actor": "user:olga",
                "actor_role": "ops",
                "tenant": None,
                "action": "dlq.replay",
                "target_type": "task",
                "target_id": str(i),
                "before": None,
                "after": {"status": "ready"},
                "reason": f"INC-{i}",
                "request_id": None,
                "prev_hash": prev,
            }
            prev = audit.legacy_hash(row)
            s.add(AuditEvent(**row, hash=prev))
            s.flush()
    database.dispose()


def test_unkeyed_rows_from_before_the_upgrade_still_verify(cli, legacy_url):
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade

    _insert_legacy(legacy_url, 5)
    upgrade(legacy_url)  # 0008 appends the signed marker of where unkeyed rows end
    database = Database(legacy_url)
    try:
        with database.session() as s:
            marker = s.execute(
                select(AuditEvent).where(AuditEvent.action == audit.KEYED_ACTION)
            ).scalar_one()
            assert marker.after["legacy_count"] == 5
            assert marker.after["legacy_through_id"] == marker.id - 1
        _seed(database, 2)
        _checkpoint(cli)
        code, report = _verify(cli)
        assert code == 0, report["problems"]
        assert report["keys_used"]["legacy-sha256"] == 5 and report["checked"] == 8
        # An unkeyed rewrite of a row after the marker is not accepted as "legacy".
        last = _ids(database)[-1]
        with database.transaction() as s:
            s.execute(update(AuditEvent).where(AuditEvent.id == last).values(reason="edited"))
        _rewrite_from(database, last, audit.legacy_hash)
        code, report = _verify(cli)
        assert code == 1 and _problem(report, "unkeyed")["row_id"] == last
    finally:
        database.dispose()


def test_moving_or_removing_the_keying_marker_is_detected(cli, legacy_url):
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade

    _insert_legacy(legacy_url, 3)
    upgrade(legacy_url)
    database = Database(legacy_url)
    try:
        _seed(database, 2)
        ids = _ids(database)
        marker_id = ids[3]
        # Claim every row is "legacy": edit the marker, then rewrite all later rows unkeyed.
        with database.transaction() as s:
            ev = s.get(AuditEvent, marker_id)
            ev.after = {**ev.after, "legacy_through_id": ids[-1], "legacy_count": len(ids)}
        _rewrite_from(database, marker_id, audit.legacy_hash)
        code, report = _verify(cli)
        assert code == 1
        run = _problem(report, "unkeyed")  # no valid marker: no unkeyed row is accepted
        assert (run["row_id"], run["last_row_id"]) == (ids[0], ids[-1])
    finally:
        database.dispose()


def test_rewriting_unkeyed_rows_is_caught_by_the_keying_marker(cli, legacy_url):
    """Rows from before the upgrade have only plain SHA-256 hashes, which anyone can
    recompute; the signed marker recorded their head and count."""
    from carepipe.core.db import Database
    from carepipe.core.migrate import upgrade

    _insert_legacy(legacy_url, 4)
    upgrade(legacy_url)
    database = Database(legacy_url)
    try:
        ids = _ids(database)
        with database.transaction() as s:
            s.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(reason="edited"))
        with database.transaction() as s:  # recompute the unkeyed rows after it
            prev = s.get(AuditEvent, ids[0]).hash
            for i in ids[1:4]:
                ev = s.get(AuditEvent, i)
                ev.prev_hash = prev
                ev.hash = prev = audit.legacy_hash(ev)
                s.flush()
        code, report = _verify(cli)
        assert code == 1
        mismatch = _problem(report, "checkpoint_mismatch")
        assert mismatch["row_id"] == ids[3] and "keying record" in mismatch["message"]
        assert _problem(report, "link_broken")["row_id"] == ids[4]  # the marker itself
    finally:
        database.dispose()


def test_an_old_latest_checkpoint_is_pointed_out(cli, db, clock):
    """Removing the newest checkpoint lines together with the rows they covered looks like
    the window seen from an older checkpoint; the checkpoint's age gives it away."""
    _seed(db, 3)
    _checkpoint(cli)
    clock.advance(seconds=2 * 3600)
    code, report = _verify(cli)
    assert code == 0 and any("h old" in n for n in report["notes"]), report["notes"]
    _checkpoint(cli)
    code, report = _verify(cli)
    assert not any("h old" in n for n in report["notes"])
