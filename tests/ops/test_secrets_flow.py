"""A secret set through the store never appears in any log line of a full flow, and the
consumers really use it (issue 16, docs/secrets.md).

Secrets are set with the CLI and the API; scribe jobs go in over HTTP and run on a real
worker whose remote ASR and LLM (one test double on 127.0.0.1) and EMR (the FHIR test
server, its own process) get their credentials as ``secret://`` references. Error paths
run too: an EMR 503 (retried), a remote that refuses the key and quotes it back, a
missing secret, a rewrap after which only the new KEK opens the store. Logging is at
DEBUG; every structlog line, every stdlib record (httpx, httpcore, uvicorn ...), every
byte written to file descriptors 1 and 2 (the FHIR server's too) and every CLI and HTTP
output is searched for the three secrets.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from carepipe.app import create_app
from carepipe.cli import app as cli
from carepipe.core.auth import SYSTEM
from carepipe.core.models import Job
from carepipe.ops import users
from carepipe.ops.api_keys import create_key
from carepipe.pipelines.worker import Worker
from tests.support.cli import cli_environment
from tests.support.debug_logging import debug_logging
from tests.support.fhir_test_server import running_fhir_test_server
from tests.support.openai_sandbox import OpenAISandbox, running_openai_sandbox
from tests.support.waiting import wait_until

AUDIO = Path(__file__).resolve().parents[1] / "data" / "scribe" / "c02.wav"
EMR_TOKEN = "emr-bearer-7f3a9c1e5b2d4f60"
ASR_KEY = "sk-asr-91b2c3d4e5f60718"
LLM_KEY = "sk-llm-0a1b2c3d4e5f6789"
SECRETS = (EMR_TOKEN, ASR_KEY, LLM_KEY)


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    # The subject is logging and the consumers; the store runs on both databases in
    # tests/core/secrets and tests/ops/test_secrets_api.py.
    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def remote() -> Iterator[OpenAISandbox]:
    with running_openai_sandbox() as server:
        yield server


def test_stored_secrets_reach_the_consumers_and_no_log_line(
    settings, db, blobs, remote, monkeypatch, capfd, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    with debug_logging():
        _flow(settings, db, blobs, remote, monkeypatch, capfd, caplog, tmp_path)


def _flow(settings, db, blobs, remote, monkeypatch, capfd, caplog, tmp_path) -> None:
    outputs: list[str] = []
    runner = CliRunner()

    def carepipe(*args: str, value: str | None = None) -> str:
        with cli_environment(settings, monkeypatch):
            r = runner.invoke(cli, list(args), input=value)
        outputs.append(r.output)
        assert r.exit_code == 0, r.output
        return r.output

    # Two secrets set with the CLI (value on stdin), one through the API.
    assert "emr.token v1 stored (••••4f60" in carepipe(
        "secrets", "put", "emr.token", value=EMR_TOKEN
    )
    carepipe("secrets", "put", "asr.key", "--reason", "T-9", value=ASR_KEY)
    with db.transaction() as s:
        users.create_user(s, SYSTEM, username="ada", roles=["admin"], password="a long pw 12345")
        admin = {"Authorization": f"Bearer {users.issue_token(s, SYSTEM, 'ada').plaintext}"}
        partner = create_key(s, SYSTEM, tenant="clinic", name="t", env="dev").plaintext
    # Consultation audio is larger than the suite's default 64 KiB request limit.
    big = settings.model_copy(update={"max_payload_bytes": 4 * 1024 * 1024})
    client = TestClient(create_app(big, db=db, blobs=blobs))
    r = client.put("/v1/secrets/llm.key", headers=admin, json={"value": LLM_KEY})
    outputs.append(r.text)
    assert r.status_code == 200, r.text

    def submit() -> str:
        r = client.post(
            "/v1/jobs",
            headers={"Authorization": f"Bearer {partner}"},
            data={"pipeline": "scribe", "context": json.dumps({"patient_id": "p-123"})},
            files={"file": ("visit.wav", AUDIO.read_bytes(), "audio/wav")},
        )
        outputs.append(r.text)
        assert r.status_code == 202, r.text
        return r.json()["id"]

    def run(job_id: str, **changes: Any) -> Job:
        w = Worker(db, blobs, worker_settings.model_copy(update=changes), concurrency=2)
        w.start_background()
        try:

            def settled() -> Job | None:
                with db.session() as s:
                    job = s.get(Job, job_id)
                return job if job.status in ("succeeded", "dead") else None

            return wait_until(settled, timeout=60, interval=0.05, what=f"job {job_id}")
        finally:
            w.stop()
            w.stopped.wait(30)

    with running_fhir_test_server() as emr:
        put = httpx.put(f"{emr.base_url}/Patient/p-123", json={"resourceType": "Patient"})
        assert put.status_code in (200, 201)
        worker_settings = big.model_copy(
            update={
                "retry_base_seconds": 0.05,
                "retry_max_seconds": 0.1,
                "secrets_cache_seconds": 0,
                "asr_engine": "openai",
                "asr_url": remote.url,
                "asr_api_key": "secret://asr.key",
                "note_engine": "openai",
                "llm_url": remote.url,
                "llm_api_key": "secret://llm.key",
                "emr_fhir_url": emr.base_url,
                "emr_auth_token": "secret://emr.token",
                "log_level": "DEBUG",
            }
        )
        emr.fail(503, count=1)  # error path: the first push is retried (and logged)
        job = run(submit())
        assert job.status == "succeeded", (job.error_code, job.error_message)
        assert job.result["emr"]["status"] == "pushed"
        pushes = [q for q in emr.requests() if q["method"] == "POST"]
        assert len(pushes) == 2
        assert all(_header(q, "authorization") == f"Bearer {EMR_TOKEN}" for q in pushes)
        assert (
            sorted(set(remote.auth)) == [
                ("/v1/audio/transcriptions", f"Bearer {ASR_KEY}"),
                ("/v1/chat/completions", f"Bearer {LLM_KEY}"),
            ]
        )  # fmt: skip

        # What a careless library or handler would print: the credentials it sent.
        sent = dict([*remote.auth, ("emr", _header(pushes[0], "authorization"))])
        logging.getLogger("thirdparty.http").debug("sent %s", sent)
        structlog.get_logger("carepipe.test").error("push.failed", detail=str(sent))

        # Error path: the remote refuses the key and quotes it back in its error.
        remote.mode = "reject"
        job = run(submit())
        assert job.status == "dead" and job.error_code == "asr_request_rejected"
        remote.mode = "ok"
        # Error path: a reference to a secret that is not stored.
        job = run(submit(), llm_api_key="secret://llm.missing")
        assert job.status == "dead" and job.error_code == "secret_not_found"

        # KEK rotation: rewrap, then only the new KEK opens the store.
        new_kek = tmp_path / "kek-2.key"
        carepipe("secrets", "new-kek", str(new_kek))
        assert "rewrapped 3 version(s)" in carepipe(
            "secrets", "rewrap", "--new-kek-file", str(new_kek)
        )
        job = run(submit(), secrets_kek_file=new_kek)
        assert job.status == "succeeded", (job.error_code, job.error_message)
        assert _header(emr.requests()[-1], "authorization") == f"Bearer {EMR_TOKEN}"
        job = run(submit())  # still configured with the old KEK (data_dir/secrets/kek.key)
        assert job.status == "dead" and job.error_code == "secret_kek_mismatch"
        listed = carepipe("secrets", "list")
        assert listed.count("••••") == 3

    captured = capfd.readouterr()
    records = [r.getMessage() + (r.exc_text or "") for r in caplog.records]
    logged = "\n".join([captured.out, captured.err, *records, *outputs])
    # The capture saw the flow (it can fail): failures, retries, HTTP client DEBUG lines.
    assert '"event": "task.failed"' in captured.err
    assert any("secret_not_found" in line for line in captured.err.splitlines())
    assert any(r.name.startswith("httpx") or r.name.startswith("httpcore") for r in caplog.records)
    assert "sent {'/v1/audio/transcriptions': 'Bearer [redacted]'" in "\n".join(records)
    assert '"event": "push.failed"' in captured.err
    for secret in SECRETS:
        assert secret not in logged, f"a secret reached the logs: {secret[:6]}..."


def _header(request: dict[str, Any], name: str) -> str | None:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return headers.get(name)
