"""The health check of a version about to serve: can this process load its engine and
does the engine answer a smoke input within the time limit?

ASR: load the engine with the version's settings and transcribe the packaged smoke clip
(``mlops/data/smoke.flac``: the first 4 s of a committed consultation recording); the
transcript must have words. Note: generate a note from a fixed sentence. The check runs
in a helper thread so a model that hangs while loading cannot hang the deploy.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from carepipe.core.blobs import BlobStore
from carepipe.mlops.artifacts import Runnable, settings_update

SMOKE_CLIP = Path(__file__).resolve().parent / "data" / "smoke.flac"
SMOKE_SENTENCE = "Blood pressure 128 over 82. Start amlodipine 5 mg once daily."
DEFAULT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class HealthResult:
    """The outcome of one health check: which check, whether it passed, why not, how long."""

    ok: bool
    check: str  # "load" | "smoke" | "timeout"
    reason: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "check": self.check, "reason": self.reason, "seconds": self.seconds}


def _asr(settings: Any) -> str:
    from carepipe.engines.asr import load_asr_engine

    try:
        engine = load_asr_engine(settings)
    except Exception as exc:
        raise _Failed("load", f"{type(exc).__name__}: {exc}") from exc
    t = engine.transcribe(SMOKE_CLIP.read_bytes(), filename=SMOKE_CLIP.name)
    if not t.text.split():
        raise _Failed("smoke", "the smoke clip transcribed to no words")
    return f"{len(t.text.split())} words in {t.processing_seconds:.2f} s"


def _note(settings: Any) -> str:
    from carepipe.engines.notes import load_note_engine

    try:
        engine = load_note_engine(settings)
    except Exception as exc:
        raise _Failed("load", f"{type(exc).__name__}: {exc}") from exc
    note = engine.generate(SMOKE_SENTENCE)
    if not (note.vitals or note.medications):
        raise _Failed("smoke", "the smoke sentence gave a note without vitals or medications")
    return f"{len(note.vitals)} vitals, {len(note.medications)} medications"


class _Failed(Exception):
    def __init__(self, check: str, reason: str) -> None:
        super().__init__(reason)
        self.check, self.reason = check, reason


def check_version(
    settings: Any,
    kind: str,
    version: Runnable,
    *,
    blobs: BlobStore | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> HealthResult:
    """Load the engine of ``kind`` as ``version`` runs it (an uploaded model unpacked from
    ``blobs``) and run the smoke input; never raises (a failure is a result with its check
    and reason)."""
    run = _asr if kind == "asr" else _note if kind == "note" else None
    if run is None:
        return HealthResult(False, "load", f"no health check for engine kind {kind!r}", 0.0)
    started = time.perf_counter()
    try:
        configured = settings.model_copy(update=settings_update(settings, blobs, version))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:500]
        return HealthResult(False, "load", reason, round(time.perf_counter() - started, 3))
    pool = ThreadPoolExecutor(1, thread_name_prefix="model-health")
    future = pool.submit(run, configured)
    try:
        detail = future.result(timeout=timeout_seconds)
        ok, check, reason = True, "smoke", detail
    except FutureTimeout:
        ok, check = False, "timeout"
        reason = f"no answer to the smoke input within {timeout_seconds:g} s"
    except _Failed as exc:
        ok, check, reason = False, exc.check, exc.reason
    except Exception as exc:
        ok, check, reason = False, "smoke", f"{type(exc).__name__}: {exc}"
    finally:
        # Do not wait for a hung load: the thread ends with the process at the latest.
        pool.shutdown(wait=False, cancel_futures=True)
    return HealthResult(ok, check, reason[:500], round(time.perf_counter() - started, 3))
