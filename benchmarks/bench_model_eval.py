"""Model evaluation benchmark: evaluating Whisper tiny.en and base on the committed clips.

Both versions are evaluated through the product's own path
(:func:`carepipe.mlops.evaluation.evaluate`: the engine the version's ``engine_config``
selects over default settings, per-clip WER with the shared normalisation, results stored
in a temporary SQLite database and blob store), on all twelve clips of ``scribe-clips``;
then compared (:func:`carepipe.mlops.comparison.compare`: paired bootstrap CI of the WER
difference, 10,000 resamples, seed 15; MAPSSWE; sign test).

Figures:
- evaluation seconds per audio minute (wall time of the whole evaluation, model loading
  included, divided by the clips' total minutes) for each version;
- corpus WER of each; base - tiny.en difference with its CI, p-values and verdict.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_model_eval.py

Writes benchmarks/results/model_eval.json. Target: evaluating a version takes less than its
audio plays (< 60 s per audio minute) on 2 cores.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from carepipe.core.auth import Principal  # noqa: E402
from carepipe.core.blobs import LocalBlobStore  # noqa: E402
from carepipe.core.clock import utcnow  # noqa: E402
from carepipe.core.config import Settings  # noqa: E402
from carepipe.core.crypto import Cipher  # noqa: E402
from carepipe.core.db import Database  # noqa: E402
from carepipe.core.migrate import upgrade  # noqa: E402
from carepipe.mlops import comparison, evaluation  # noqa: E402
from carepipe.mlops.models import MlModel, MlModelVersion  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "model_eval.json"
TARGET_SECONDS_PER_AUDIO_MINUTE = 60.0
VERSIONS = (("whisper-tiny.en", {"asr_model": "tiny.en"}), ("whisper-base", {"asr_model": "base"}))


def notes(comparison: dict[str, Any]) -> list[str]:
    """The significance result in words, for docs/benchmarks.md."""
    low, high = comparison["ci95"]
    tests = ", ".join(f"{t['name']} p = {t['p_value']:.3f}" for t in comparison["tests"])
    return [
        f"WER difference (base - tiny.en) {comparison['wer_delta']:+.4f}, paired bootstrap "
        f"95% CI [{low:+.4f}, {high:+.4f}] ({comparison['resamples']} resamples, seed "
        f"{comparison['seed']}); {tests}; verdict: {comparison['verdict']}.",
        "Default decoding (beam 5, the drug-biased second pass) on 2 cores; wall time "
        "includes loading the model.",
    ]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-model-eval-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    blobs = LocalBlobStore(tmp / "blobs", Cipher(os.urandom(32)))
    settings = Settings(data_dir=ROOT / "var", database_url=url, _env_file=None)  # type: ignore[call-arg]
    who = Principal(kind="user", id="bench", roles=("data_scientist",))
    with db.transaction() as s:
        now = utcnow()
        for name, config in VERSIONS:
            model = MlModel(name=name, kind="asr", created_at=now, created_by="bench")
            s.add(model)
            s.flush()
            s.add(
                MlModelVersion(
                    model_id=model.id,
                    version=1,
                    format="packaged-whisper",
                    artifact_sha256="0" * 64,
                    engine_config=config,
                    created_at=now,
                    created_by="bench",
                    stage_changed_at=now,
                )
            )
    rows = []
    for name, _ in VERSIONS:
        t0 = time.perf_counter()
        ev = evaluation.evaluate(db, blobs, settings, who, f"{name}@1")
        wall = time.perf_counter() - t0
        assert ev.status == "done", ev.metrics
        minutes = ev.metrics["audio_seconds"] / 60
        rows.append(
            {
                "version": ev.version,
                "clips": ev.metrics["items"],
                "audio_minutes": round(minutes, 2),
                "wall_seconds": round(wall, 1),
                "seconds_per_audio_minute": round(wall / minutes, 1),
                "wer": ev.metrics["wer"],
                "rtf": ev.metrics["rtf"],
                "eval_set": ev.eval_set,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    with db.session() as s:
        c = comparison.compare(s, blobs, who, "whisper-tiny.en@1", "whisper-base@1")
    result = {
        "benchmark": "model_eval",
        "title": "Model evaluation: Whisper tiny.en vs base on the 12 committed clips",
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "asr_beam_size": settings.asr_beam_size,
            "asr_cpu_threads": settings.asr_cpu_threads,
        },
        "results": rows,
        "comparison": {
            "baseline": c.baseline,
            "candidate": c.candidate,
            "wer_baseline": c.baseline_value,
            "wer_candidate": c.candidate_value,
            "wer_delta": c.difference,
            "ci95": [c.ci_low, c.ci_high],
            "resamples": c.resamples,
            "seed": c.seed,
            "tests": [t.model_dump() for t in c.tests],
            "verdict": c.verdict,
            "slices": [s.model_dump() for s in c.slices],
        },
        "target_seconds_per_audio_minute": TARGET_SECONDS_PER_AUDIO_MINUTE,
        "meets_target": all(
            r["seconds_per_audio_minute"] < TARGET_SECONDS_PER_AUDIO_MINUTE for r in rows
        ),
        "table": {
            "columns": ["version", "WER", "s / audio min", "RTF", "verdict vs tiny.en"],
            "rows": [
                [
                    r["version"],
                    r["wer"],
                    r["seconds_per_audio_minute"],
                    r["rtf"],
                    c.verdict if r["version"] == c.candidate else "baseline",
                ]
                for r in rows
            ],
        },
    }
    result["notes"] = notes(result["comparison"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["comparison"], indent=2))


if __name__ == "__main__":
    main()
