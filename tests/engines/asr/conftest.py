"""Shared fixtures: the committed scribe clips and the real default engine (loaded once)."""

from __future__ import annotations

import json
import shutil
import subprocess
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


#: For test modules that speak with :func:`say` (``pytestmark = needs_speech_tools``).
needs_speech_tools = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="needs espeak-ng and sox",
)


def say(tmp: Path, turns: list[tuple[str, int, str]]) -> bytes:
    """espeak-ng speaks each (voice, words per minute, text) turn; sox joins them into one
    16 kHz mono clip (-R -D: repeatable, no dither: the same clip on every run)."""
    parts = []
    for i, (voice, speed, text) in enumerate(turns):
        raw = tmp / f"{i}.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True
        )
        parts.append(str(raw))
    out = tmp / "clip.wav"
    subprocess.run(["sox", "-R", "-D", *parts, "-r", "16000", "-c", "1", str(out)], check=True)
    return out.read_bytes()


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
