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

from carepipe.core.auth import SYSTEM
from carepipe.core.config import Settings
from carepipe.mlops import serving
from carepipe.ops.api_keys import create_key
from tests.mlops.conftest import staff_tokens
from tests.pipelines.conftest import run_jobs  # noqa: F401  (a fixture, used by the tests)

DATA = Path(__file__).resolve().parents[2] / "data" / "scribe"
TENANT = "clinic-s"


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


@dataclass
class People:
    mia: dict[str, str]
    otto: dict[str, str]
    partner: dict[str, str]


@pytest.fixture
def people(db) -> People:
    tokens = staff_tokens(db, {"mia": "ml_engineer", "otto": "ops"})
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant=TENANT, name="emr", env="dev").plaintext
    return People(**tokens, partner={"Authorization": f"Bearer {key}"})
