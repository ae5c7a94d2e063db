"""Model quality monitoring (UC-OPS-302): ASR and note quality per model version x dialect.

Two sources feed the same Prometheus registry as :mod:`carepipe.observability.metrics`:

- every scribe ``asr`` stage (:func:`observe_asr`): real-time factor, confidence, SNR,
  speech ratio, suspected hallucinations and low-SNR audio;
- every clinician approval (:func:`record_correction`, called by the review service): the
  WER of the draft transcript against the approved one, and how many note items of each
  type the clinician changed.

Labels stay bounded whatever the input: ``dialect`` is mapped onto :data:`DIALECTS` (else
``other``; missing is ``unknown``), item types onto :data:`ITEM_TYPES` (else ``other``), and
at most :data:`MAX_MODEL_VERSIONS` distinct model versions are labelled per process (the
rest count as ``other``) so a misconfigured engine cannot explode the series count.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram

from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import REGISTRY

#: Dialects (BCP 47 language-region) that get their own series; anything else is ``other``.
DIALECTS: tuple[str, ...] = (
    "en-IN",
    "en-US",
    "en-GB",
    "en-AU",
    "en-CA",
    "en-IE",
    "en-NZ",
    "en-ZA",
    "en-NG",
    "en-KE",
    "en-SG",
    "en-PH",
    "en-PK",
    "en",
    "hi-IN",
)
OTHER = "other"
UNKNOWN = "unknown"
#: Note item types (the note engines' item kinds) that get their own edit series.
ITEM_TYPES: tuple[str, ...] = (
    "sentence",
    "section",
    "vital",
    "lab",
    "medication",
    "diagnosis",
    "allergy",
    "follow_up",
    "procedure",
    "symptom",
    "finding",
    "transcript",
)
#: Expected WER when CAREPIPE_ASR_WER_BASELINE names none for a model version.
DEFAULT_WER_BASELINE = 0.15
#: Distinct ``model_version`` label values per process before the rest become ``other``.
MAX_MODEL_VERSIONS = 32

_WER_BUCKETS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0)
_CONFIDENCE_BUCKETS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0)
_SNR_BUCKETS = (0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0)
_RATIO_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5)

REVIEW_WER = Histogram(
    "carepipe_review_wer",
    "Word error rate of the draft transcript against the clinician-approved one, per approval.",
    ["model_version", "dialect"],
    buckets=_WER_BUCKETS,
    registry=REGISTRY,
)
REVIEW_CORRECTIONS = Counter(
    "carepipe_review_corrections",
    "Approved notes whose corrections were recorded (the denominator of the edit rate).",
    ["model_version", "dialect"],
    registry=REGISTRY,
)
NOTE_EDITS = Counter(
    "carepipe_note_edits",
    "Note items the clinician added, removed or changed before approving, by item type.",
    ["model_version", "dialect", "item_type"],
    registry=REGISTRY,
)
ASR_WER_BASELINE = Gauge(
    "carepipe_asr_wer_baseline",
    "Expected WER of a model version (CAREPIPE_ASR_WER_BASELINE); the WER drift alert's base.",
    ["model_version"],
    registry=REGISTRY,
)
ASR_JOBS = Counter(
    "carepipe_asr_jobs",
    "Recordings transcribed, per model version and dialect.",
    ["model_version", "dialect"],
    registry=REGISTRY,
)
ASR_RTF_DIALECT = Histogram(
    "carepipe_asr_rtf_by_dialect",
    "ASR real-time factor per model version and dialect (carepipe_asr_rtf has no dialect).",
    ["model_version", "dialect"],
    buckets=_RTF_BUCKETS,
    registry=REGISTRY,
)
ASR_CONFIDENCE = Histogram(
    "carepipe_asr_confidence",
    "Mean ASR word confidence of a recording.",
    ["model_version", "dialect"],
    buckets=_CONFIDENCE_BUCKETS,
    registry=REGISTRY,
)
ASR_SNR = Histogram(
    "carepipe_asr_snr_db",
    "Estimated signal-to-noise ratio of a recording, in dB.",
    ["model_version", "dialect"],
    buckets=_SNR_BUCKETS,
    registry=REGISTRY,
)
ASR_SPEECH_RATIO = Histogram(
    "carepipe_asr_speech_ratio",
    "Share of a recording the VAD found to be speech.",
    ["model_version", "dialect"],
    buckets=_RATIO_BUCKETS,
    registry=REGISTRY,
)
ASR_LOW_SNR = Counter(
    "carepipe_asr_low_snr",
    "Recordings whose SNR estimate was under the low-SNR threshold.",
    ["model_version", "dialect"],
    registry=REGISTRY,
)
ASR_PROCESSING = Histogram(
    "carepipe_asr_processing_seconds",
    "ASR stage latency: seconds spent transcribing one recording.",
    ["model_version", "dialect"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
ASR_FAILURES = Counter(
    "carepipe_asr_failures",
    "ASR stage attempts that failed, by reason (timeout, or the error code).",
    ["model_version", "dialect", "reason"],
    registry=REGISTRY,
)
ASR_HALLUCINATION = Counter(
    "carepipe_asr_hallucination_suspected",
    "Recordings with a suspected hallucination (repetition loop or text over silence).",
    ["model_version", "dialect"],
    registry=REGISTRY,
)

#: Failure reasons that get their own series (error codes of ASR failures); else ``other``.
FAILURE_REASONS: tuple[str, ...] = (
    "timeout",
    "engine_unavailable",
    "asr_model_not_found",
    "asr_request_rejected",
    "engine_output_invalid",
    "audio_unreadable",
    "lease_expired",
)

_log = get_logger("carepipe.model_quality")
_versions_lock = threading.Lock()
_versions_seen: set[str] = set()
_baseline_spec = "0.15"


@lru_cache(maxsize=512)
def dialect_label(dialect: str | None) -> str:
    """``dialect`` as a bounded label: a :data:`DIALECTS` entry, ``other`` or ``unknown``.

    Case and separators are forgiven (``en_in`` and ``EN-in`` are ``en-IN``).
    """
    if not dialect or not str(dialect).strip():
        return UNKNOWN
    parts = str(dialect).strip().replace("_", "-").split("-")
    norm = parts[0].lower() + ("-" + parts[1].upper() if len(parts) > 1 and parts[1] else "")
    return norm if norm in DIALECTS else OTHER


def item_type_label(item_type: str | None) -> str:
    """``item_type`` as a bounded label: an :data:`ITEM_TYPES` entry or ``other``."""
    norm = str(item_type or "").strip().lower().replace("-", "_").replace(" ", "_")
    if norm.endswith("s") and norm[:-1] in ITEM_TYPES:
        norm = norm[:-1]
    if norm == "followup":
        norm = "follow_up"
    return norm if norm in ITEM_TYPES else OTHER


def model_version_label(model_version: str | None) -> str:
    """``model_version`` as a label: itself until :data:`MAX_MODEL_VERSIONS` are in use."""
    value = str(model_version or "").strip()[:120]
    if not value:
        return UNKNOWN
    with _versions_lock:
        if value in _versions_seen:
            return value
        if len(_versions_seen) >= MAX_MODEL_VERSIONS:
            return OTHER
        _versions_seen.add(value)
        return value


def configure(*, wer_baseline: str) -> None:
    """Set the WER baseline spec (``CAREPIPE_ASR_WER_BASELINE``) this process exports.

    Called by the scribe ``asr`` stage and the console with the settings (observability
    imports nothing of CarePipe, so it cannot read them itself).
    """
    global _baseline_spec
    _baseline_spec = wer_baseline


def wer_baseline(model_version: str) -> float:
    """The expected WER of ``model_version`` under the configured spec."""
    return baseline_for(_baseline_spec, model_version)


def baseline_for(spec: str, model_version: str) -> float:
    """Parse ``CAREPIPE_ASR_WER_BASELINE``: ``0.12`` or ``prefix=0.1,other-prefix=0.2,0.15``.

    The longest prefix of ``model_version`` wins; a bare number is the default.
    """
    default, best, best_len = DEFAULT_WER_BASELINE, None, -1
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        prefix, sep, value = part.rpartition("=")
        try:
            number = float(value)
        except ValueError:
            continue
        if not sep:
            default = number
        elif model_version.startswith(prefix.strip()) and len(prefix) > best_len:
            best, best_len = number, len(prefix)
    return best if best is not None else default


def record_correction(
    *, model_version: str, dialect: str, wer: float, item_edits: dict[str, int]
) -> None:
    """Observe one approval's corrections: its WER and its note edits by item type.

    ``model_version`` is the ASR model version of the draft transcript (the WER series and
    the drift alert are per ASR model); ``dialect`` the job's dialect (``en-IN``...);
    ``wer`` the word error rate of the draft against the approved transcript (0 when the
    clinician changed no word); ``item_edits`` maps a note item type (``medication``,
    ``vital``...) to how many items of that type were added, removed or changed.
    Never raises on odd input: a NaN or negative WER is not observed, bad counts are skipped.
    """
    mv = model_version_label(model_version)
    dl = dialect_label(dialect)
    REVIEW_CORRECTIONS.labels(mv, dl).inc()
    try:
        value = float(wer)
    except (TypeError, ValueError):
        value = math.nan
    if math.isfinite(value) and value >= 0:
        REVIEW_WER.labels(mv, dl).observe(value)
    ASR_WER_BASELINE.labels(mv).set(wer_baseline(model_version))
    for item_type, count in (item_edits or {}).items():
        try:
            n = int(count)
        except (TypeError, ValueError):
            continue
        if n > 0:
            NOTE_EDITS.labels(mv, dl, item_type_label(item_type)).inc(n)


def observe_asr(
    *,
    model_version: str,
    dialect: str | None,
    rtf: float,
    processing_seconds: float,
    confidence: float,
    snr_db: float | None,
    speech_ratio: float | None,
    low_snr: bool,
    hallucination: bool,
) -> None:
    """Observe one transcribed recording (the scribe ``asr`` stage calls it once per job).

    ``snr_db`` and ``speech_ratio`` are None when the engine did not measure the audio.
    """
    mv, dl = model_version_label(model_version), dialect_label(dialect)
    ASR_JOBS.labels(mv, dl).inc()
    ASR_RTF_DIALECT.labels(mv, dl).observe(max(0.0, float(rtf)))
    ASR_PROCESSING.labels(mv, dl).observe(max(0.0, float(processing_seconds)))
    ASR_CONFIDENCE.labels(mv, dl).observe(min(1.0, max(0.0, float(confidence))))
    if snr_db is not None and math.isfinite(snr_db):
        ASR_SNR.labels(mv, dl).observe(float(snr_db))
    if speech_ratio is not None and math.isfinite(speech_ratio):
        ASR_SPEECH_RATIO.labels(mv, dl).observe(float(speech_ratio))
    # Touch the counters so every labelled pair has a 0 series: ratios and the low-SNR
    # share alert need the denominator's partner from the first recording on.
    ASR_LOW_SNR.labels(mv, dl).inc(1 if low_snr else 0)
    ASR_HALLUCINATION.labels(mv, dl).inc(1 if hallucination else 0)
    ASR_FAILURES.labels(mv, dl, "timeout").inc(0)
    ASR_WER_BASELINE.labels(mv).set(wer_baseline(model_version))
    if low_snr or hallucination:
        # UC-OPS-302 "log audio quality issues": figures and labels only (the job id comes
        # from the logging context), never transcript words.
        _log.warning(
            "asr.quality_issue",
            model_version=mv,
            dialect=dl,
            snr_db=snr_db,
            low_snr=low_snr,
            hallucination_suspected=hallucination,
        )


def observe_asr_failure(*, model_version: str, dialect: str | None, reason: str) -> None:
    """Count a failed ASR attempt: ``reason`` is ``timeout`` or the error's code."""
    label = reason if reason in FAILURE_REASONS else OTHER
    ASR_FAILURES.labels(model_version_label(model_version), dialect_label(dialect), label).inc()
