"""Synthetic served-job observations for the drift tests: PHI-free figures with the shape
the worker writes (``ml_serving_observations.features``), drawn from fixed-seed numpy
generators so every run sees the same samples.

The population: consultations of log-normal length around 4 minutes, SNR about 22 dB,
speech ratio about 0.67, a dialect mix, words proportional to duration, vocabulary counts
per lexicon category and entity counts per kind that vary from job to job (over-dispersed,
as real consultations are), and word confidence about 0.86.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from carepipe.mlops.models import MlServingObservation

DIALECTS = ("en-IN", "en-US", "en-GB")
VOCABULARY = ("medication", "condition", "symptom", "procedure", "anatomy", "other")
ENTITIES = ("medication", "diagnosis", "vital", "lab", "allergy")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(slots=True)
class Light:
    """The columns of ``MlServingObservation``, as a plain object."""

    deployment_id: str
    version_id: str
    arm: str
    job_id: str
    tenant: str
    at: datetime
    ok: bool
    error_code: str | None
    latency_ms: float
    rtf: float | None
    confidence: float | None
    features: dict[str, object]


@dataclass
class Population:
    """Parameters of one population; a shift changes one of them."""

    duration_median: float = 240.0
    snr_mean: float = 22.0
    speech_alpha: float = 6.0
    dialect_p: tuple[float, ...] = (0.6, 0.3, 0.1)
    vocab_p: tuple[float, ...] = (0.12, 0.1, 0.1, 0.05, 0.08, 0.55)
    entity_rate: tuple[float, ...] = field(default=(2.0, 1.0, 1.5, 0.8, 0.3))
    confidence_a: float = 18.0


def observations(
    rng: np.random.Generator,
    n: int,
    pop: Population | None = None,
    *,
    version_id: str = "v" * 32,
    start: datetime = T0,
    step: timedelta = timedelta(minutes=5),
    failed_every: int = 0,
    row: type = MlServingObservation,
) -> list[MlServingObservation]:
    """``n`` observations of ``pop`` (every ``failed_every``-th one a failure). ``row``:
    the class built (:class:`Light` where only the drift statistics read them: a mapped
    class costs more to build than the statistics cost to run)."""
    pop = pop or Population()
    # Drawn as arrays (one call per figure), then cut into rows: the false-positive test
    # draws 1000 windows.
    seconds = rng.lognormal(np.log(pop.duration_median), 0.5, n)
    words = rng.poisson(seconds * 2.2)
    shares = rng.dirichlet(np.array(pop.vocab_p) * 40, n)
    vocab = [rng.multinomial(max(1, int(w) // 4), p) for w, p in zip(words, shares, strict=True)]
    entity = rng.poisson(np.array(pop.entity_rate) * rng.gamma(4.0, 0.25, (n, 1)))
    snr = rng.normal(pop.snr_mean, 6.0, n)
    speech = rng.beta(pop.speech_alpha, 3.0, n)
    dialect = rng.choice(DIALECTS, p=pop.dialect_p, size=n)
    latency, rtf = rng.gamma(4.0, 500.0, n), rng.gamma(8.0, 0.02, n)
    confidence = rng.beta(pop.confidence_a, 3.0, n)
    out = []
    for i in range(n):
        ok = not (failed_every and i % failed_every == failed_every - 1)
        out.append(
            row(
                deployment_id="d" * 32,
                version_id=version_id,
                arm="stable",
                job_id=f"{i:032x}",
                tenant="clinic-a",
                at=start + i * step,
                ok=ok,
                error_code=None if ok else "asr_timeout",
                latency_ms=float(latency[i]),
                rtf=float(rtf[i]),
                confidence=float(confidence[i]),
                features={
                    "audio_seconds": round(float(seconds[i]), 2),
                    "snr_db": round(float(snr[i]), 2),
                    "speech_ratio": round(float(speech[i]), 3),
                    "dialect": str(dialect[i]),
                    "transcript_words": int(words[i]),
                    "vocabulary": dict(zip(VOCABULARY, map(int, vocab[i]), strict=True)),
                    "entity_counts": dict(zip(ENTITIES, map(int, entity[i]), strict=True)),
                },
            )
        )
    return out
