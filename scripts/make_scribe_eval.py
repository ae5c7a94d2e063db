"""Synthesise the scribe evaluation set from its committed scripts (no audio is committed).

``tests/data/scribe/eval/dev.json`` and ``test.json`` hold 48 consultations (primary and
emergency care): who says what (doctor, patient or a relative), each speaker's espeak-ng
voice and speed, and the facts a clinician would expect in the note (medications with dose
and frequency, vitals, labs, allergies, negated findings, diagnoses). This script speaks
every turn with ``espeak-ng`` in its speaker's voice, joins the turns with short pauses and
writes each consultation in three conditions:

- ``clean``: 16 kHz mono 16-bit PCM;
- ``noisy``: pink (odd-numbered consultations) or brown (even) noise mixed at 15 dB SNR
  against the active speech level (noise from a seeded generator: the same file every run);
- ``telephone``: band-limited to 300-3400 Hz, resampled to 8 kHz, G.711 mu-law.

Files go to ``var/scribe_eval/<condition>/<id>-<digest>.wav`` (``var/`` is not committed);
the digest covers the consultation's script, the condition and this generator's version, so
an edited script regenerates and an unchanged one is reused.

    python scripts/make_scribe_eval.py [--split dev|test|all] [--conditions clean,noisy]
        [--only e01,e02] [--out var/scribe_eval]

The benchmark (``benchmarks/bench_scribe_accuracy.py``) and the smoke tests import
:func:`synthesise` and :func:`load_consultations` from here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT / "tests" / "data" / "scribe" / "eval"
DEFAULT_OUT = ROOT / "var" / "scribe_eval"
SAMPLE_RATE = 16000
CONDITIONS = ("clean", "noisy", "telephone")
SNR_DB = 15.0
# Bumped whenever the synthesis changes, so cached files are regenerated.
GENERATOR_VERSION = "1"
# Pause between turns (s): short, like a brisk consultation.
TURN_GAP = 0.35


def load_consultations(split: str = "all") -> list[dict[str, Any]]:
    """The consultations of ``split`` ("dev", "test" or "all"), in file order."""
    splits = ("dev", "test") if split == "all" else (split,)
    out: list[dict[str, Any]] = []
    for name in splits:
        out.extend(json.loads((EVAL_DIR / f"{name}.json").read_text()))
    return out


def reference_text(consultation: dict[str, Any]) -> str:
    """What is said, as one transcript (turns joined by spaces; no speaker labels)."""
    return " ".join(t["text"] for t in consultation["turns"])


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found: apt-get install espeak-ng sox libsox-fmt-all")


def _read(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float64) / 32768.0


def _write(path: Path, samples: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    pcm = (np.clip(samples, -1.0, 1.0 - 1 / 32768) * 32768.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def _speak(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    raw = tmp / "raw.wav"
    out = tmp / "turn.wav"
    _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text])
    # 16 kHz mono; espeak's long clause pauses shortened to 0.3 s.
    _run(
        [
            "sox", "-R", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(out),
            "silence", "-l", "1", "0.05", "0.5%", "-1", "0.3", "0.5%",
        ]
    )  # fmt: skip
    return _read(out)


def speech_level(samples: np.ndarray) -> float:
    """Active speech RMS: the RMS over 20 ms frames within 40 dB of the loudest frame."""
    frame = SAMPLE_RATE // 50
    n = len(samples) // frame
    if n == 0:
        return float(np.sqrt(np.mean(samples**2)) or 1e-9)
    frames = samples[: n * frame].reshape(n, frame)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    active = rms[rms > rms.max() * 10 ** (-40 / 20)]
    return float(np.sqrt(np.mean(active**2)))


def coloured_noise(n: int, colour: str, seed: int) -> np.ndarray:
    """Unit-RMS pink (1/f) or brown (1/f^2) noise of ``n`` samples from a seeded generator."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, d=1 / SAMPLE_RATE)
    freqs[0] = freqs[1]
    power = 1.0 if colour == "pink" else 2.0
    noise = np.fft.irfft(spectrum / freqs ** (power / 2), n)
    noise -= noise.mean()
    return noise / (np.sqrt(np.mean(noise**2)) or 1.0)


def noise_colour(consultation_id: str) -> str:
    """Pink for odd-numbered consultations, brown for even ones."""
    digits = "".join(ch for ch in consultation_id if ch.isdigit()) or "0"
    return "pink" if int(digits) % 2 else "brown"


def digest(consultation: dict[str, Any], condition: str) -> str:
    """Cache key of one rendered file: script, voices, condition and generator version."""
    body = json.dumps(
        {
            "turns": consultation["turns"],
            "voices": consultation["voices"],
            "speed": consultation["speed"],
            "condition": condition,
            "version": GENERATOR_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:10]


def render_clean(consultation: dict[str, Any]) -> np.ndarray:
    """The consultation spoken turn by turn, normalised to -3 dBFS peak, with lead-in/out."""
    gap = np.zeros(int(TURN_GAP * SAMPLE_RATE))
    pieces = [np.zeros(int(0.25 * SAMPLE_RATE))]
    with tempfile.TemporaryDirectory() as tmp:
        for turn in consultation["turns"]:
            who = turn["speaker"]
            pieces.append(
                _speak(
                    turn["text"],
                    consultation["voices"][who],
                    int(consultation["speed"][who]),
                    Path(tmp),
                )
            )
            pieces.append(gap)
    pieces.append(np.zeros(int(0.25 * SAMPLE_RATE)))
    audio = np.concatenate(pieces)
    peak = float(np.max(np.abs(audio))) or 1.0
    return audio * (10 ** (-3 / 20) / peak)


def add_noise(clean: np.ndarray, colour: str, seed: int, snr_db: float = SNR_DB) -> np.ndarray:
    """``clean`` with ``colour`` noise at ``snr_db`` below the active speech level."""
    level = speech_level(clean)
    noise = coloured_noise(len(clean), colour, seed) * level * 10 ** (-snr_db / 20)
    mixed = clean + noise
    peak = float(np.max(np.abs(mixed)))
    return mixed * (0.95 / peak) if peak > 0.95 else mixed


def telephone(clean_path: Path, out: Path) -> None:
    """300-3400 Hz band, 8 kHz, G.711 mu-law (what a phone line delivers)."""
    _run(
        [
            "sox", "-R", "-D", str(clean_path), "-r", "8000", "-e", "u-law", "-b", "8",
            str(out), "sinc", "300-3400",
        ]
    )  # fmt: skip


def synthesise(consultation: dict[str, Any], condition: str, out_dir: Path = DEFAULT_OUT) -> Path:
    """The audio file of ``consultation`` in ``condition``, rendered once and then reused."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}")
    target = out_dir / condition / f"{consultation['id']}-{digest(consultation, condition)}.wav"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part.wav")
    if condition == "clean":
        _write(partial, render_clean(consultation))
    else:
        clean = synthesise(consultation, "clean", out_dir)
        if condition == "noisy":
            seed = int(hashlib.sha256(consultation["id"].encode()).hexdigest()[:8], 16)
            _write(partial, add_noise(_read(clean), noise_colour(consultation["id"]), seed))
        else:
            telephone(clean, partial)
    partial.replace(target)
    return target


def audio_seconds(path: Path) -> float:
    """Duration of any audio file sox reads (the telephone files are mu-law)."""
    out = subprocess.run(["sox", "--i", "-D", str(path)], check=True, capture_output=True)
    return float(out.stdout.decode().strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", default="all", choices=("dev", "test", "all"))
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--only", default="", help="comma-separated consultation ids")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    _require("espeak-ng")
    _require("sox")
    only = {x for x in args.only.split(",") if x}
    conditions = [c for c in args.conditions.split(",") if c]
    total = 0.0
    for c in load_consultations(args.split):
        if only and c["id"] not in only:
            continue
        for cond in conditions:
            path = synthesise(c, cond, args.out)
            seconds = audio_seconds(path)
            total += seconds
            print(f"{c['id']} {cond:9s} {seconds:5.1f} s  {path.name}")
    print(f"total audio: {total / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
