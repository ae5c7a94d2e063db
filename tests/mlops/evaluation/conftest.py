"""Evaluation through the front doors: the API with staff personal tokens, the real ASR
(Whisper tiny.en, greedy, one thread: a few seconds a clip) and the rules note engine.

People: ``dana`` (data_scientist: evaluates, compares, reports), ``otto`` (ops: reads
only), ``cara`` (clinician: no model permissions).
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
from carepipe.ops import users
from tests.support.console import FAST_HASHER

DATA = Path(__file__).resolve().parents[2] / "data" / "scribe"
TINY = {"asr_model": "tiny.en"}


@pytest.fixture(autouse=True)
def _fast_passwords() -> Iterator[None]:
    previous = users.use_password_hasher(FAST_HASHER)
    yield
    users.use_password_hasher(previous)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Greedy, one thread, no second drug-biased pass: tiny.en takes a few seconds a clip.
    return settings.model_copy(
        update={"asr_cpu_threads": 1, "asr_beam_size": 1, "asr_contextual_pass": False}
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
    dana: dict[str, str]
    otto: dict[str, str]
    cara: dict[str, str]


@pytest.fixture
def people(db) -> People:
    tokens = {}
    with db.transaction() as s:
        for name, role in (("dana", "data_scientist"), ("otto", "ops"), ("cara", "clinician")):
            users.create_user(
                s, SYSTEM, username=name, roles=[role], password="a long test password 1"
            )
            tokens[name] = {
                "Authorization": f"Bearer {users.issue_token(s, SYSTEM, name).plaintext}"
            }
    return People(**tokens)
