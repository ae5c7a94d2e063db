"""Shared fixtures: the committed scribe clips and the real default engine (loaded once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carepipe.core.config import Settings
from carepipe.engines.asr import load_asr_engine
from carepipe.engines.asr.faster_whisper_engine import FasterWhisperEngine

DATA = Path(__file__).resolve().parents[2] / "data" / "scribe"


def manifest() -> list[dict]:
    return json.loads((DATA / "manifest.json").read_text())


def clip(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    # Belt and braces: resolution already passes local_files_only, but no test may reach
    # the Hugging Face Hub even if that ever regressed.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def whisper() -> FasterWhisperEngine:
    engine = load_asr_engine(Settings(asr_engine="faster-whisper", asr_model=""))
    assert isinstance(engine, FasterWhisperEngine)
    return engine
