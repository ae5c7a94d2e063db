"""ASR benchmark: the default engine beside PocketSphinx on the committed scribe clips.

Same clips, same run, same decoded 16 kHz PCM for both. Figures per engine:

- WER: corpus word error rate (total edits / total reference words) after the shared
  number normalisation in ``carepipe.engines.asr.wer`` (spoken "one forty over ninety"
  and written "140/90" score alike);
- RTF: total processing seconds / total audio seconds (lower is faster; 0.1 = 10x
  faster than real time), excluding model loading, which is reported separately;
- seconds: total processing time over all clips.

The default engine is whatever ``load_asr_engine(Settings())`` returns (faster-whisper
with the bundled Whisper tiny.en, int8, beam 2, VAD unless ``CAREPIPE_ASR_*`` says
otherwise). The peer is PocketSphinx 5 (``pocketsphinx`` on PyPI) with the en-us
acoustic/language model it ships, decoding each clip as one utterance. ``--variants``
adds faster-whisper rows at beam 1, beam 5, and beam 2 with the opt-in clinical
vocabulary prompt (``asr_prompt="clinical"``; the clips' drugs are on its list, so read
that row as an upper bound).

    .venv/bin/python benchmarks/bench_asr.py [--variants]

Writes benchmarks/results/asr.json. Targets: WER <= 0.30, RTF <= 0.5 on 2 cores,
WER better than PocketSphinx.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from carepipe.core.config import Settings
from carepipe.engines.asr import decode_audio, load_asr_engine, word_error_rate

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "scribe"
OUT = ROOT / "benchmarks" / "results" / "asr.json"
TARGET_WER = 0.30
TARGET_RTF = 0.5


@dataclass
class Clip:
    id: str
    voice: str
    speed: int
    noise: bool
    reference: str
    audio: bytes
    samples: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.samples) / 16000


@dataclass
class Run:
    engine: str
    model_version: str
    load_seconds: float
    hypotheses: list[str] = field(default_factory=list)
    processing: list[float] = field(default_factory=list)


def load_clips() -> list[Clip]:
    clips = []
    for entry in json.loads((DATA / "manifest.json").read_text()):
        audio = (DATA / entry["file"]).read_bytes()
        clips.append(
            Clip(
                id=entry["id"],
                voice=entry["voice"],
                speed=int(entry["speed"]),
                noise=bool(entry["noise"]),
                reference=entry["transcript"],
                audio=audio,
                samples=decode_audio(audio),
            )
        )
    return clips


def run_carepipe(settings: Any, label: str, clips: list[Clip]) -> Run:
    started = time.perf_counter()
    engine = load_asr_engine(settings)
    run = Run(label, engine.model_version, time.perf_counter() - started)
    engine.transcribe(clips[0].audio)  # warm-up: first call allocates buffers
    for clip in clips:
        # Timed like the stage sees it: encoded bytes in (decoding included), text out.
        t0 = time.perf_counter()
        transcript = engine.transcribe(clip.audio)
        run.processing.append(time.perf_counter() - t0)
        run.hypotheses.append(transcript.text)
    return run


def run_pocketsphinx(clips: list[Clip]) -> Run:
    import pocketsphinx
    from pocketsphinx import Decoder

    started = time.perf_counter()
    decoder = Decoder(samprate=16000, loglevel="FATAL")
    version = getattr(pocketsphinx, "__version__", "") or _dist_version("pocketsphinx")
    run = Run("pocketsphinx", f"pocketsphinx/{version}/en-us", time.perf_counter() - started)
    for clip in clips:
        # Same decoded samples as Whisper gets, as 16-bit PCM (what PocketSphinx reads);
        # the int16 conversion is outside the timing, decoding from bytes for Whisper is in.
        pcm = (np.clip(clip.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        t0 = time.perf_counter()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        run.processing.append(time.perf_counter() - t0)
        run.hypotheses.append(hyp.hypstr if hyp is not None else "")
    return run


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def summarise(run: Run, clips: list[Clip], pick: Callable[[Clip], bool] = lambda c: True) -> dict:
    idx = [i for i, c in enumerate(clips) if pick(c)]
    audio = sum(clips[i].seconds for i in idx)
    seconds = sum(run.processing[i] for i in idx)
    return {
        "wer": round(
            word_error_rate([clips[i].reference for i in idx], [run.hypotheses[i] for i in idx]), 4
        ),
        "rtf": round(seconds / audio, 4),
        "seconds": round(seconds, 3),
        "audio_seconds": round(audio, 2),
        "clips": len(idx),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="ASR benchmark")
    parser.add_argument(
        "--variants", action="store_true", help="also beam 1, beam 5 and the clinical prompt"
    )
    args = parser.parse_args()

    clips = load_clips()
    runs = [run_carepipe(Settings(), "carepipe default", clips)]
    if args.variants and runs[0].model_version.startswith("faster-whisper/"):
        base = Settings()
        for label, beam, prompt in (
            ("faster-whisper beam 1", 1, ""),
            ("faster-whisper beam 5", 5, ""),
            ("faster-whisper clinical prompt", 2, "clinical"),
        ):
            settings = SimpleNamespace(
                asr_engine="faster-whisper",
                asr_model=base.asr_model,
                asr_beam_size=beam,
                asr_prompt=prompt,
            )
            runs.append(run_carepipe(settings, label, clips))
    runs.append(run_pocketsphinx(clips))

    rows = []
    for run in runs:
        overall = summarise(run, clips)
        rows.append(
            {
                "engine": run.engine,
                "model_version": run.model_version,
                **overall,
                "wer_clean": summarise(run, clips, lambda c: not c.noise)["wer"],
                "wer_noisy": summarise(run, clips, lambda c: c.noise)["wer"],
                "load_seconds": round(run.load_seconds, 3),
                "per_clip": [
                    {
                        "id": c.id,
                        "voice": c.voice,
                        "speed": c.speed,
                        "noise": c.noise,
                        "wer": round(word_error_rate(c.reference, h), 4),
                        "rtf": round(p / c.seconds, 4),
                    }
                    for c, h, p in zip(clips, run.hypotheses, run.processing, strict=True)
                ],
            }
        )

    ours, peer = rows[0], rows[-1]
    checks = {
        "wer_target": ours["wer"] <= TARGET_WER,
        "rtf_target": ours["rtf"] <= TARGET_RTF,
        "better_wer_than_pocketsphinx": ours["wer"] < peer["wer"],
    }
    cols = ["engine", "WER", "WER clean", "WER noisy", "RTF", "seconds", "load s", "model"]
    table_rows = [
        [
            r["engine"],
            f"{r['wer']:.3f}",
            f"{r['wer_clean']:.3f}",
            f"{r['wer_noisy']:.3f}",
            f"{r['rtf']:.3f}",
            f"{r['seconds']:.1f}",
            f"{r['load_seconds']:.1f}",
            r["model_version"],
        ]
        for r in rows
    ]
    widths = [
        max(len(str(x)) for x in [c, *[row[i] for row in table_rows]]) for i, c in enumerate(cols)
    ]
    print(
        f"{len(clips)} clips, {sum(c.seconds for c in clips):.0f} s of audio, {os.cpu_count()} cores"
    )
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for row in table_rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)))
    print(
        f"targets: WER <= {TARGET_WER} {'ok' if checks['wer_target'] else 'MISSED'}; "
        f"RTF <= {TARGET_RTF} {'ok' if checks['rtf_target'] else 'MISSED'}; "
        f"better WER than pocketsphinx {'ok' if checks['better_wer_than_pocketsphinx'] else 'MISSED'}"
    )

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "asr",
                "title": "ASR: default engine vs PocketSphinx (scribe clips, numbers normalised)",
                "table": {"columns": cols, "rows": table_rows},
                "targets": {"wer": TARGET_WER, "rtf": TARGET_RTF},
                "checks": checks,
                "results": rows,
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "clips": len(clips),
                "audio_seconds": round(sum(c.seconds for c in clips), 2),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
