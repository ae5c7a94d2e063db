"""SQLite backups end to end: a real Litestream replicating a real CarePipe database.

Jobs are submitted and the backup is driven through the ``carepipe`` CLI (Typer app);
Litestream is the pip-installed binary, run as ``carepipe up`` runs it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepipe.core.config import get_settings
from carepipe.ops.backup.litestream import Replicator
from tests.support.cli import sqlite_database_url

run = CliRunner().invoke


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


def _submit(tmp_path: Path, n: int, tag: str) -> None:
    from carepipe.cli import app

    for i in range(n):
        doc = tmp_path / f"{tag}{i}.txt"
        doc.write_text(f"note {tag} {i}")
        r = run(app, ["submit", str(doc), "--pipeline", "two_step"])
        assert r.exit_code == 0, r.output


def _jobs(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM jobs").fetchone()[0]


def _cli_json(args: list[str]) -> dict:
    from carepipe.cli import app

    r = run(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _audit_actions() -> list[str]:
    from carepipe.cli import app

    r = run(app, ["audit", "export", "--format", "json", "--action", "backup."])
    assert r.exit_code == 0, r.output
    return [e["action"] for e in json.loads(r.stdout)["events"]]


def _wait_restorable(jobs: int, probe: Path, timeout: float = 15.0) -> float:
    """Seconds until a restore of the latest backup holds ``jobs`` jobs."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        from carepipe.cli import app

        # Until Litestream's first sync there is nothing to restore (backup_failed).
        r = run(app, ["restore", "--target", str(probe), "--force"])
        if r.exit_code == 0 and _jobs(probe) == jobs:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{jobs} jobs not restorable after {timeout}s")


def test_continuous_replication_restore_latest_and_point_in_time(cli_env, tmp_path, monkeypatch):
    from carepipe.cli import app

    probe = tmp_path / "restored" / "probe.db"
    replicator = Replicator(get_settings()).start()
    try:
        _submit(tmp_path, 3, "before")
        lag = _wait_restorable(3, probe)
        print(f"replication lag (commit -> restorable): {lag:.2f}s")
        # Litestream dying (OOM, crash) is restarted by the supervisor: the writes
        # after T are replicated by its successor.
        replicator._process.kill()
        # LTX files carry their commit time; step clearly past the last one before T.
        time.sleep(1.2)
        t = datetime.now(UTC)
        time.sleep(1.2)
        _submit(tmp_path, 2, "after")
        _wait_restorable(5, probe)
    finally:
        replicator.stop()
    assert replicator.restarts == 1

    latest = tmp_path / "restored" / "latest.db"
    result = _cli_json(["restore", "--target", str(latest)])
    assert result["tables"]["jobs"] == 5 and _jobs(latest) == 5

    past = tmp_path / "restored" / "past.db"
    _cli_json(["restore", "--target", str(past), "--at", t.isoformat()])
    assert _jobs(past) == 3

    # Never over an existing database without --force; with it, the file is replaced.
    r = run(app, ["restore", "--target", str(past)])
    assert r.exit_code == 2
    assert json.loads(r.stderr)["error"]["code"] == "restore_target_exists"
    assert _jobs(past) == 3
    _cli_json(["restore", "--target", str(past), "--force"])
    assert _jobs(past) == 5

    # The restored copy is a working CarePipe database: its audit chain verifies and
    # it records the restore itself.
    monkeypatch.setenv("CAREPIPE_DATABASE_URL", f"sqlite:///{latest}")
    get_settings.cache_clear()
    assert run(app, ["audit", "verify"]).exit_code == 0
    assert _audit_actions() == ["backup.restore"]


def test_backup_now_verify_and_corruption(cli_env, tmp_path):
    from carepipe.cli import app

    _submit(tmp_path, 2, "doc")
    done = _cli_json(["backup", "now"])
    assert done["position"] and done["details"]["blobs_copied"] >= 2
    assert _cli_json(["backup", "list"])

    report = _cli_json(["backup", "verify"])
    assert report["ok"] and report["tables"]["jobs"] == 2
    status = _cli_json(["backup", "status"])
    assert status["last_verify"]["ok"] and status["details"]["blob_manifest_size"] >= 2

    # A backed-up blob altered: its hash no longer matches the manifest.
    blob = next(
        p
        for p in (tmp_path / "backup" / "blobs").rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    original = blob.read_bytes()
    blob.write_bytes(b"x" + original[1:])
    r = run(app, ["backup", "verify"])
    assert r.exit_code == 2
    error = json.loads(r.stderr)["error"]
    assert error["code"] == "backup_corrupt"
    assert "blob missing or altered" in error["message"]
    blob.write_bytes(original)

    # A damaged replica file: the backup no longer restores.
    ltx = next((tmp_path / "backup" / "db").rglob("*.ltx"))
    data = bytearray(ltx.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xff" * 64
    ltx.write_bytes(bytes(data))
    r = run(app, ["backup", "verify"])
    assert r.exit_code == 2
    error = json.loads(r.stderr)["error"]
    assert error["code"] == "backup_corrupt", r.stderr
    assert error["message"].startswith("backup is corrupt: backup does not restore"), error
    assert not _cli_json(["backup", "status"])["last_verify"]["ok"]

    assert _audit_actions() == [
        "backup.now",
        "backup.verify",
        "backup.verify",
        "backup.verify",
    ]


def test_backup_services_are_admin_only(cli_env, tmp_path):
    # The CLI always acts as an admin operator; the services refuse anyone else.
    from carepipe.core.auth import Principal
    from carepipe.core.errors import PermissionDenied
    from carepipe.ops.backup import service

    ops = Principal(kind="user", id="o", roles=("ops",))
    s = get_settings()
    for call in (
        lambda: service.backup_status(s, ops),
        lambda: service.backup_now(s, ops),
        lambda: service.verify_backup(s, ops),
        lambda: service.restore(s, ops, tmp_path / "x.db", None, force=False),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert not (tmp_path / "backup").exists()
