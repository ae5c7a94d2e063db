"""Real clips doctored with sox: what a broken recorder or a stuck decoder hands us."""

from __future__ import annotations

import subprocess
from pathlib import Path

SCRIBE_DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"

# Ten copies (16 s) loop as surely as fifteen did, and Whisper's temperature fallback on
# looped audio costs several times real time: fifteen copies took 95 s to decode on one
# thread, ten take 24 s.
LOOP_COPIES = 10


def looped_clip(out: Path, *, source: str = "c01.wav") -> Path:
    """Write 1.6 s of ``source`` ("blood pressure is one forty over...") ``LOOP_COPIES``
    times over to ``out`` and return it."""
    trim = ["trim", "6.0", "1.6", "repeat", str(LOOP_COPIES - 1)]
    sox = ["sox", "-R", "-D", str(SCRIBE_DATA / source), str(out), *trim]
    subprocess.run(sox, check=True, capture_output=True)
    return out
