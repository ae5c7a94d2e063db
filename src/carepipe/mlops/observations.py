"""One ``ml_serving_observations`` row per job served by a deployed version.

A successful stage adds its row as a handoff effect (same transaction as the job's
progress: no row without the result, no result without the row); a failed stage writes its
row in a short transaction of its own, so a failed job counts against its arm. The canary
analysis, per-version monitoring and the drift checks (``features``) read these rows.
Everything here is PHI-free: figures, labels and counts, never words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.errors import error_code
from carepipe.mlops.models import MlServingObservation
from carepipe.mlops.serving import Served
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.mlops.observations")


def _row(
    served: Served,
    *,
    job_id: str,
    tenant: str,
    ok: bool,
    latency_ms: float,
    error_code: str | None = None,
    rtf: float | None = None,
    confidence: float | None = None,
    features: dict[str, Any] | None = None,
) -> MlServingObservation:
    return MlServingObservation(
        deployment_id=served.deployment_id,
        version_id=served.version_id,
        arm=served.arm,
        job_id=job_id,
        tenant=tenant,
        at=utcnow(),
        ok=ok,
        error_code=error_code,
        latency_ms=round(latency_ms, 3),
        rtf=rtf,
        confidence=confidence,
        features=features or {},
    )


def success_effect(
    served: Served,
    *,
    job_id: str,
    tenant: str,
    latency_ms: float,
    rtf: float | None = None,
    confidence: float | None = None,
    features: dict[str, Any] | None = None,
) -> Callable[[Session], None]:
    """The handoff effect that records a served job that succeeded."""
    row = _row(
        served,
        job_id=job_id,
        tenant=tenant,
        ok=True,
        latency_ms=latency_ms,
        rtf=rtf,
        confidence=confidence,
        features=features,
    )

    def effect(session: Session) -> None:
        session.add(row)

    return effect


def record_failure(
    db: Database,
    served: Served,
    *,
    job_id: str,
    tenant: str,
    latency_ms: float,
    error_code: str,
) -> None:
    """Record a served job that failed, in its own transaction; never raises (the stage's
    own error is what the job must report)."""
    try:
        with db.transaction() as s:
            s.add(
                _row(
                    served,
                    job_id=job_id,
                    tenant=tenant,
                    ok=False,
                    latency_ms=latency_ms,
                    error_code=error_code,
                )
            )
    except Exception as exc:
        log.warning("serving_observation.failed", error=type(exc).__name__)


def vocabulary_sketch(text: str) -> dict[str, int]:
    """Counts of words per length bucket: a shape of the vocabulary, never the words."""
    counts = {"len_1_3": 0, "len_4_6": 0, "len_7_9": 0, "len_10_plus": 0}
    for word in text.split():
        n = len(word.strip(".,;:!?\"'()"))
        if n == 0:
            continue
        key = (
            "len_1_3" if n <= 3 else "len_4_6" if n <= 6 else "len_7_9" if n <= 9 else "len_10_plus"
        )
        counts[key] += 1
    return counts


def failed(
    db: Database, served: Served | None, job_id: str, tenant: str, started: float, exc: Exception
) -> None:
    """A stage's failure path: count the job against the arm that served it (if any)."""
    if served is not None:
        latency_ms = (time.perf_counter() - started) * 1000
        record_failure(
            db,
            served,
            job_id=job_id,
            tenant=tenant,
            latency_ms=latency_ms,
            error_code=error_code(exc),
        )


def asr_served(
    served: Served | None,
    job_id: str,
    tenant: str,
    started: float,
    transcript: Any,
    summary: dict[str, Any],
    confidence: float,
) -> list[Callable[[Session], None]]:
    """The ASR stage's success effects: one observation with the drift features (none when
    no deployed version served)."""
    if served is None:
        return []
    features = {
        "audio_seconds": summary.get("audio_seconds"),
        "snr_db": summary.get("snr_db"),
        "speech_ratio": summary.get("speech_ratio"),
        "dialect": summary.get("dialect"),
        "transcript_words": len(transcript.text.split()),
        "vocabulary": vocabulary_sketch(transcript.text),
    }
    latency_ms = (time.perf_counter() - started) * 1000
    return [
        success_effect(
            served,
            job_id=job_id,
            tenant=tenant,
            latency_ms=latency_ms,
            rtf=transcript.rtf,
            confidence=confidence,
            features=features,
        )
    ]


def note_served(
    served: Served | None,
    job_id: str,
    tenant: str,
    started: float,
    counts: dict[str, int],
    confidence: float | None,
    transcript_words: int,
) -> list[Callable[[Session], None]]:
    """The note stage's success effects: one observation with the entity counts."""
    if served is None:
        return []
    latency_ms = (time.perf_counter() - started) * 1000
    features = {"entity_counts": counts, "transcript_words": transcript_words}
    return [
        success_effect(
            served,
            job_id=job_id,
            tenant=tenant,
            latency_ms=latency_ms,
            confidence=confidence,
            features=features,
        )
    ]
