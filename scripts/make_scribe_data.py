"""Generate the scribe evaluation clips from ``tests/data/scribe/manifest.json``.

Each manifest entry is spoken with ``espeak-ng`` (its ``voice`` and ``speed``), converted
with ``sox`` to 16 kHz mono 16-bit PCM WAV, loudness-normalised and, where ``noise`` is
true, mixed with pink noise at a moderate level (about 20 dB below the speech peak).

Besides the WAV clips it writes:

- ``c01.flac``, ``c01.ogg`` and (if this sox has an MP3 encoder) ``c01.mp3``: the first
  10 seconds of c01 in compressed containers, for the decoder tests;
- ``corrupt.wav``: a RIFF/WAVE header cut short in its ``fmt`` chunk followed by
  garbage, which no decoder can read (tests expect ``AudioUnreadable``).

Usage (needs ``apt-get install espeak-ng sox libsox-fmt-all``)::

    python scripts/make_scribe_data.py [--only c01,c02] [--out tests/data/scribe]

The output is deterministic for a given espeak-ng/sox build: sox runs with ``-R``
(repeatable random numbers) and without dither.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "data" / "scribe"
SAMPLE_RATE = 16000
# Pink noise amplitude relative to full scale; speech is normalised to -3 dBFS peak,
# so this sits roughly 20 dB under the speech peaks: audible, still intelligible.
NOISE_AMPLITUDE = 0.07
# The compressed variants hold only the opening seconds of c01: enough to test decoding.
VARIANT_SECONDS = 10.0


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        sys.exit(f"{tool} not found: apt-get install espeak-ng sox libsox-fmt-all")


def _duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def speak(text: str, voice: str, speed: int, noise: bool, out: Path) -> float:
    """Speak ``text`` into ``out`` (16 kHz mono s16 WAV); returns its duration in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text])
        clean = Path(tmp) / "clean.wav"
        # Pauses longer than 0.25 s are shortened to 0.25 s (keeps the committed data small;
        # espeak's clause pauses are long), then a short lead-in/out like a real recording.
        _run(
            [
                "sox", "-R", "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                str(clean), "silence", "-l", "1", "0.05", "0.5%", "-1", "0.25", "0.5%",
                "norm", "-3", "pad", "0.25", "0.25",
            ]
        )  # fmt: skip
        if not noise:
            shutil.move(str(clean), out)
        else:
            seconds = _duration(clean)
            hiss = Path(tmp) / "noise.wav"
            _run(
                [
                    "sox", "-R", "-D", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                    str(hiss), "synth", f"{seconds:.3f}", "pinknoise",
                    "vol", str(NOISE_AMPLITUDE),
                ]
            )  # fmt: skip
            _run(["sox", "-R", "-D", "-m", str(clean), str(hiss), "-b", "16", str(out)])
    return _duration(out)


def write_variants(src: Path, out_dir: Path, seconds: float = VARIANT_SECONDS) -> list[Path]:
    """FLAC, OGG (and MP3 when sox can encode it) copies of the first ``seconds`` of ``src``."""
    written = []
    for ext in ("flac", "ogg", "mp3"):
        target = out_dir / f"{src.stem}.{ext}"
        try:
            _run(["sox", "-R", "-D", str(src), str(target), "trim", "0", f"{seconds}"])
        except subprocess.CalledProcessError:
            print(f"  sox cannot write .{ext}; skipped")
            continue
        written.append(target)
    return written


def write_corrupt(out: Path) -> None:
    """A WAV whose header stops inside the fmt chunk, then 4 KiB of seeded garbage."""
    header = b"RIFF" + (4096 + 28).to_bytes(4, "little") + b"WAVE" + b"fmt "
    header += (16).to_bytes(4, "little") + b"\xfe\xca"  # unknown format tag, cut short
    rnd = random.Random(20240917)
    out.write_bytes(header + bytes(rnd.getrandbits(8) for _ in range(4096)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", default="", help="comma-separated clip ids")
    args = parser.parse_args(argv)
    _require("espeak-ng")
    _require("sox")

    out_dir: Path = args.out
    manifest = json.loads((out_dir / "manifest.json").read_text())
    only = {x for x in args.only.split(",") if x}
    total = 0.0
    for entry in manifest:
        if only and entry["id"] not in only:
            continue
        target = out_dir / entry["file"]
        seconds = speak(
            entry["transcript"], entry["voice"], int(entry["speed"]), bool(entry["noise"]), target
        )
        total += seconds
        flags = " +noise" if entry["noise"] else ""
        print(f"{entry['id']}: {seconds:5.1f} s  {entry['voice']} @{entry['speed']}{flags}")
    if not only or "c01" in only:
        for path in write_variants(out_dir / "c01.wav", out_dir):
            print(f"variant: {path.name}")
    write_corrupt(out_dir / "corrupt.wav")
    size = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    print(f"speech: {total:.1f} s; folder size: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
