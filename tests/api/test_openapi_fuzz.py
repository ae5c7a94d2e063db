"""Schemathesis against a live server: every check, every phase, stateful included.

Each run generates a bounded number of requests from ``/openapi.json`` (examples,
coverage, fuzzing and stateful sequences through the OpenAPI links) and checks
every response: no 5xx, only documented status codes, content types and bodies
that match the document, schema-violating input refused, schema-valid input
accepted (except where ``schemathesis.toml`` names a rule OpenAPI cannot state),
authentication honoured. Partner routes run with an API key, staff routes with a
person's token, on SQLite and PostgreSQL.

``CAREPIPE_FUZZ_EXAMPLES`` raises the number of examples per operation for a
longer run (the default keeps ``make test`` short); ``CAREPIPE_FUZZ_SEED`` varies it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops import users
from carepipe.ops.api_keys import create_key
from tests.support.console import FAST_HASHER, make_dead, make_user
from tests.support.live_server import live_server

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
EXAMPLES = os.environ.get("CAREPIPE_FUZZ_EXAMPLES", "8")
SEED = os.environ.get("CAREPIPE_FUZZ_SEED", "20261127")
PARTNER_PATHS = r"^/(v1/(jobs|hl7|patients)|api/keys|ofrep/v1|healthz|readyz)"
STAFF_PATHS = (
    r"^/v1/(dlq|audit|backfills|archive|tenants|queues|reviews|models|deployments|drift"
    r"|evaluations|comparisons|model-reports|model-report-schedules|secrets|flags"
    r"|flag-segments|dr)"
)


def _schemathesis(base: str, auth: str, paths: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    return subprocess.run(
        [
            str(exe),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/openapi.json",
            "--checks",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--workers",
            "1",
            "--include-path-regex",
            paths,
            "-H",
            f"Authorization: Bearer {auth}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
    )


@pytest.fixture
def server(settings, db, blobs):
    big = settings.model_copy(update={"max_payload_bytes": 1024 * 1024})
    app = create_app(big, db=db, blobs=blobs)
    with TestClient(app):  # runs the app's start-up once
        pass
    with live_server(app) as base:
        yield base


def _seed(db, blobs) -> tuple[str, str]:
    """A partner key, an admin's personal token, and a few dead letters to look at."""
    previous = users.use_password_hasher(FAST_HASHER)
    try:
        make_user(db, "ada", "admin")
    finally:
        users.use_password_hasher(previous)
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant="acme", name="fuzz", env="dev").plaintext
        token = users.issue_token(s, SYSTEM, "ada").plaintext
    for _ in range(3):
        make_dead(db, blobs)
    return key, token


def test_partner_api_conforms_to_its_openapi_document(server, db, blobs):
    key, _ = _seed(db, blobs)
    run = _schemathesis(server, key, PARTNER_PATHS)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]


def test_staff_api_conforms_to_its_openapi_document(server, db, blobs):
    _, token = _seed(db, blobs)
    run = _schemathesis(server, token, STAFF_PATHS)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
