"""``carepipe models evaluate|compare|report|report-schedule`` (SQLite; the services run on
both databases in the API tests): real note evaluations inline, a comparison saved as a
report whose PDF, HTML and JSON land in ``--out``, and errors as JSON on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2
import pytest
from typer.testing import CliRunner

from tests.mlops.factories import make_version
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


def test_cli_evaluates_compares_and_saves_a_report(cli, db, tmp_path: Path):
    with db.transaction() as s:
        for _ in range(2):
            make_version(s, "note-rules", "note", {"note_engine": "rules"})
        make_version(s, "whisper-base", "asr", {}, stage="production")

    out = cli("models", "evaluate", "note-rules@1", "--clip", "c01", "--clip", "c02", "--json")
    assert out.exit_code == 0, out.output
    ev = json.loads(out.stdout)
    assert ev["status"] == "done" and ev["metrics"]["items"] == 2 and ev["kind"] == "note"
    out = cli("models", "evaluate", "note-rules@2", "--clip", "c01", "--clip", "c02")
    assert out.exit_code == 0, out.output
    assert "note-rules@2 on scribe-clips@" in out.stdout and "fact recall" in out.stdout
    assert "voice=en-gb" in out.stdout

    reports = tmp_path / "reports"
    out = cli(
        "models",
        "compare",
        "note-rules@1",
        "note-rules@2",
        "--report",
        "--out",
        str(reports),
        "--json",
    )
    assert out.exit_code == 0, out.output
    c = json.loads(out.stdout)
    assert c["verdict"] == "no significant difference" and c["eval_set"] == ev["eval_set"]
    files = sorted(Path(f).suffix for f in c["report"]["files"])
    assert files == [".html", ".json", ".pdf"]
    pdf = next(Path(f) for f in c["report"]["files"] if f.endswith(".pdf"))
    assert len(pypdfium2.PdfDocument(pdf)) >= 1

    out = cli("models", "report", "whisper-base@1", "--hours", "24", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["summary"]["Jobs served"] == "0"
    out = cli("models", "report-schedule", "asr", "--every-hours", "24", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["every_hours"] == 24

    # A version with no evaluation cannot be compared: exit 2, the error on stderr.
    out = cli("models", "compare", "note-rules@1", "whisper-base@1")
    assert out.exit_code == 2
    assert json.loads(out.stderr)["error"]["code"] == "invalid_request"
    out = cli("models", "evaluate", "nosuch@1")
    assert out.exit_code == 2 and json.loads(out.stderr)["error"]["code"] == "not_found"
