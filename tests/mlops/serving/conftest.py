"""Serving through the front doors: the API with staff personal tokens, scribe jobs posted
to ``/v1/jobs`` with a partner key and run by a real in-process worker (Whisper tiny.en on
short clips), the CLI, the console.

People: ``mia`` (ml_engineer: deploys, canaries, rolls back), ``otto`` (ops: reads only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore, blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.mlops import serving
from carepipe.ops import users
from carepipe.ops.api_keys import create_key
from tests.pipelines.conftest import run_jobs  # noqa: F401  (a fixture, used by the tests)
from tests.support.console import FAST_HASHER

DATA = Path(__file__).resolve().parents[2] / "data" / "scribe"
TENANT = "clinic-s"


@pytest.fixture(autouse=True)
def _fast_passwords() -> Iterator[None]:
    previous = users.use_password_hasher(FAST_HASHER)
    yield
    users.use_password_hasher(previous)


@pytest.fixture(autouse=True)
def _fresh_serving_cache() -> Iterator[None]:
    # The cache is per process: a deployment of one test must not serve the next one.
    serving.clear_cache()
    yield
    serving.clear_cache()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Greedy, one thread, no second pass (tiny.en: a few seconds a clip); a short refresh so
    # a running worker sees a change quickly.
    return settings.model_copy(
        update={
            "asr_model": "tiny.en",
            "asr_cpu_threads": 1,
            "asr_beam_size": 1,
            "asr_contextual_pass": False,
            "max_payload_bytes": 4 * 1024 * 1024,
            "model_serving_refresh_seconds": 0.5,
        }
    )


@pytest.fixture
def blobs(settings: Settings) -> BlobStore:
    return blob_store_from_settings(settings)


@pytest.fixture
def client(settings, db, blobs) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


@dataclass
class People:
    mia: dict[str, str]
    otto: dict[str, str]
    partner: dict[str, str]


@pytest.fixture
def people(db) -> People:
    tokens = {}
    with db.transaction() as s:
        for name, role in (("mia", "ml_engineer"), ("otto", "ops")):
            users.create_user(
                s, SYSTEM, username=name, roles=[role], password="a long test password 1"
            )
            tokens[name] = {
                "Authorization": f"Bearer {users.issue_token(s, SYSTEM, name).plaintext}"
            }
        key = create_key(s, SYSTEM, tenant=TENANT, name="emr", env="dev").plaintext
    return People(**tokens, partner={"Authorization": f"Bearer {key}"})
