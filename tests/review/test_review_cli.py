"""``carepipe reviews list|show|approve|return|export`` against a real held scribe job, and the
correction record's WER for a known edit (SQLite: the services run on both databases in
``test_review_api.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carepipe.engines.asr.wer import normalise
from tests.review.conftest import DATA
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


def test_cli_lists_refuses_then_approves_and_exports_the_correction(
    cli, client, people, held, run_jobs, settings, tmp_path: Path
):
    job_id, rid = held("c01.wav")
    out = cli("reviews", "list", "--json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["items"]
    assert [r["id"] for r in rows] == [rid] and rows[0]["job_id"] == job_id

    # Flagged items are open: the CLI refuses like the API (exit 2, the error on stderr).
    out = cli("reviews", "approve", rid)
    assert out.exit_code == 2
    assert json.loads(out.stderr)["error"]["code"] == "review_flagged"

    shown = json.loads(cli("reviews", "show", rid, "--json").stdout)
    assert shown["status"] == "waiting" and shown["version"] == 1
    # One word of the transcript corrected, every flagged item accepted.
    draft = shown["draft_transcript"]
    first = draft.split()[0]
    approved_text = draft.replace(first, "Whom", 1)
    r = client.put(
        f"/v1/reviews/{rid}",
        headers=people.cara,
        json={"base_version": 1, "transcript": approved_text},
    )
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    for item in r.json()["items"]:
        if item["flagged"]:
            r = client.post(
                f"/v1/reviews/{rid}/items/{item['id']}",
                headers=people.cara,
                json={"decision": "accept", "base_version": version},
            )
            version = r.json()["version"]

    out = cli("reviews", "approve", rid, "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["status"] == "approved"
    (job,) = run_jobs([job_id], timeout=120, settings_override=settings)
    assert job.status == "succeeded", job.error_message

    out = cli("reviews", "export", "--out", str(tmp_path / "ds"), "--json")
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["records"] == 1
    root = Path(summary["out_dir"])
    meta = json.loads((root / "dataset.json").read_text())
    assert meta["schema_version"] == 1 and meta["records"] == 1
    (line,) = (root / "manifest.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert (root / record["audio"]).read_bytes() == (DATA / "c01.wav").read_bytes()
    assert (root / record["approved_transcript"]).read_text() == approved_text
    assert (root / record["draft_transcript"]).read_text() == draft
    # One substituted word over the approved transcript's words (after normalisation).
    n = len(normalise(approved_text).split())
    assert record["substitutions"] == 1 and record["insertions"] == record["deletions"] == 0
    assert record["reference_words"] == n
    assert record["wer"] == pytest.approx(1 / n, abs=1e-4)
    assert record["dialect"] == "en-IN" and record["model_versions"]["note"]
    assert record["audio_features"]["duration_seconds"] > 5
    # A room microphone, not a telephone line (c01.wav reads about 5.3 kHz).
    assert 4000 < record["audio_features"]["bandwidth_hz"] <= 8000


def test_cli_return_keeps_the_job_waiting(cli, held, db):
    from carepipe.core.models import Job

    job_id, rid = held("c01.wav")
    out = cli("reviews", "return", rid, "--reason", "wrong patient on the recording", "--json")
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    assert body["status"] == "returned" and body["returned_reason"].startswith("wrong patient")
    with db.session() as s:
        assert s.get(Job, job_id).status == "waiting_review"
