"""Evaluation through the front doors: the API with staff personal tokens, the real ASR
(Whisper tiny.en, greedy, one thread: a few seconds a clip) and the rules note engine.

People: ``dana`` (data_scientist: evaluates, compares, reports), ``otto`` (ops: reads
only), ``cara`` (clinician: no model permissions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from carepipe.core.config import Settings
from tests.mlops.conftest import staff_tokens

DATA = Path(__file__).resolve().parents[2] / "data" / "scribe"
TINY = {"asr_model": "tiny.en"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Greedy, one thread, no second drug-biased pass: tiny.en takes a few seconds a clip.
    return settings.model_copy(
        update={"asr_cpu_threads": 1, "asr_beam_size": 1, "asr_contextual_pass": False}
    )


@dataclass
class People:
    dana: dict[str, str]
    otto: dict[str, str]
    cara: dict[str, str]


@pytest.fixture
def people(db) -> People:
    tokens = staff_tokens(db, {"dana": "data_scientist", "otto": "ops", "cara": "clinician"})
    return People(**tokens)
