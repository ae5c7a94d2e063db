"""Which features the drift checks compare, how each is read from a served job, and the
statistics that compare two windows of them (pure: no database; the check that reads the
windows and stores what it finds is :mod:`carepipe.mlops.drift`).

Every job served by a deployed version leaves one ``ml_serving_observations`` row (written
by the worker) whose ``features`` JSON holds PHI-free figures of the input and the output:

- input: ``audio_seconds``, ``snr_db``, ``speech_ratio``, ``dialect``, ``transcript_words``
  and ``vocabulary`` (counts per lexicon category or word-length bucket: codes, never words);
- output: the row's ``confidence`` column and ``entity_counts`` (``{kind: n}``).

Rows from older workers, other engine kinds or failed jobs miss some keys: a missing or
malformed value is skipped (never guessed), so a feature simply has fewer samples, and
below the minimum sample size its check says "insufficient data".

A numeric feature yields one number per job. A categorical feature yields, per job,
counts per category: ``dialect`` one count of its label, ``vocabulary`` and
``entity_counts`` their dicts; the check compares the pooled counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import Field
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from carepipe.mlops.models import MlServingObservation
from carepipe.mlops.views import View

FeatureType = Literal["numeric", "categorical"]
FeatureKind = Literal["input", "output"]
#: Categories past this many (by baseline count) are pooled as "other": labels stay bounded.
MAX_CATEGORIES = 30
OTHER = "other"
#: Most rows read per window (the newest of a current window, the oldest of a baseline).
MAX_ROWS = 5000
Status = Literal["ok", "marginal", "severe", "insufficient"]


@dataclass(frozen=True)
class Feature:
    """One drift feature: its name, input or output, numeric or categorical, its reader."""

    name: str
    kind: FeatureKind
    type: FeatureType
    read: Callable[[MlServingObservation], Any]
    description: str


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, NaN, booleans)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _counts(value: Any) -> dict[str, float] | None:
    """A ``{category: count}`` dict with finite non-negative counts, or None."""
    if not isinstance(value, dict):
        return None
    out = {}
    for key, raw in value.items():
        n = _number(raw)
        if n is not None and n >= 0 and isinstance(key, str) and key:
            out[key[:64]] = n
    return out


def _label(value: Any) -> dict[str, float] | None:
    """One category label as a count of one (dialects are short codes such as ``en-IN``)."""
    if isinstance(value, str) and value.strip():
        return {value.strip()[:64]: 1.0}
    return None


def _feature(name: str) -> Callable[[MlServingObservation], Any]:
    return lambda obs: (obs.features or {}).get(name)


FEATURES: tuple[Feature, ...] = (
    Feature("audio_seconds", "input", "numeric", _feature("audio_seconds"), "Audio duration (s)"),
    Feature("snr_db", "input", "numeric", _feature("snr_db"), "Audio SNR estimate (dB)"),
    Feature("speech_ratio", "input", "numeric", _feature("speech_ratio"), "Share of speech"),
    Feature("dialect", "input", "categorical", _feature("dialect"), "Dialect mix"),
    Feature(
        "transcript_words", "input", "numeric", _feature("transcript_words"), "Transcript words"
    ),
    Feature("vocabulary", "input", "categorical", _feature("vocabulary"), "Vocabulary by category"),
    Feature("confidence", "output", "numeric", lambda o: o.confidence, "Mean word confidence"),
    Feature(
        "entity_counts", "output", "categorical", _feature("entity_counts"), "Entities by kind"
    ),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)


def numeric_values(feature: Feature, rows: Iterable[MlServingObservation]) -> list[float]:
    """The feature's numbers over ``rows`` (rows without a usable value skipped)."""
    out = []
    for row in rows:
        n = _number(feature.read(row))
        if n is not None:
            out.append(n)
    return out


def category_counts(
    feature: Feature, rows: Iterable[MlServingObservation]
) -> tuple[dict[str, float], int]:
    """Pooled counts per category over ``rows``, and how many rows contributed."""
    pooled: dict[str, float] = {}
    jobs = 0
    for row in rows:
        raw = feature.read(row)
        counts = _label(raw) if feature.name == "dialect" else _counts(raw)
        if not counts:
            continue
        jobs += 1
        for key, n in counts.items():
            pooled[key] = pooled.get(key, 0.0) + n
    return pooled, jobs


def aligned(
    baseline: dict[str, float], current: dict[str, float]
) -> tuple[list[str], list[float], list[float]]:
    """Both count tables over one category list: the baseline's :data:`MAX_CATEGORIES`
    commonest, then :data:`OTHER` for the rest of either (new categories land there)."""
    keep = sorted(baseline, key=lambda k: (-baseline[k], k))[:MAX_CATEGORIES]
    if not keep:
        keep = sorted(current, key=lambda k: (-current[k], k))[:MAX_CATEGORIES]
    kept = set(keep)
    b = [baseline.get(k, 0.0) for k in keep]
    c = [current.get(k, 0.0) for k in keep]
    b_other = sum(v for k, v in baseline.items() if k not in kept)
    c_other = sum(v for k, v in current.items() if k not in kept)
    if b_other or c_other:
        keep, b, c = [*keep, OTHER], [*b, b_other], [*c, c_other]
    return keep, b, c


def by_name(name: str) -> Feature:
    """The feature called ``name`` (KeyError for an unknown one)."""
    for f in FEATURES:
        if f.name == name:
            return f
    raise KeyError(name)


# ---------------------------------------------------------------- statistics (pure)


class DriftPolicy(View):
    """Thresholds and windows of the drift checks (defaults documented in docs/model-drift.md)."""

    alpha: float = Field(0.01, gt=0, lt=1, description="Family-wise error rate per check.")
    numeric_marginal: float = Field(0.25, gt=0, description="Wasserstein / baseline std.")
    numeric_severe: float = Field(0.5, gt=0)
    categorical_marginal: float = Field(0.15, gt=0, le=1, description="Jensen-Shannon distance.")
    categorical_severe: float = Field(0.3, gt=0, le=1)
    min_samples: int = Field(50, ge=5, description="Jobs with the feature, in each window.")
    baseline_jobs: int = Field(200, ge=5, le=MAX_ROWS)
    current_jobs: int = Field(500, ge=5, le=MAX_ROWS)
    current_hours: float = Field(24.0, gt=0)
    interval_hours: float = Field(6.0, gt=0)
    marginal_interval_factor: float = Field(0.25, gt=0, le=1)


class FeatureScore(View):
    """One feature's comparison: the effect size against its thresholds, the test's p-value."""

    feature: str
    kind: Literal["input", "output"]
    type: Literal["numeric", "categorical"]
    statistic: Literal["wasserstein", "js"]
    value: float | None
    test: Literal["ks", "chi2"]
    test_statistic: float | None
    p_value: float | None
    marginal_at: float
    severe_at: float
    status: Status
    n_baseline: int
    n_current: int
    baseline: dict[str, Any]
    current: dict[str, Any]


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def _spread(values: np.ndarray) -> float:
    """The baseline's standard deviation; for a constant baseline its magnitude (or 1)."""
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if sd > 0:
        return sd
    return abs(float(np.mean(values))) or 1.0


def _grade(value: float, p: float, marginal: float, severe: float, alpha_each: float) -> Status:
    if p >= alpha_each:
        return "ok"
    if value >= severe:
        return "severe"
    return "marginal" if value >= marginal else "ok"


def _numeric_summary(values: np.ndarray) -> dict[str, Any]:
    if not len(values):
        return {"n": 0}
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {
        "n": len(values),
        "mean": _r(np.mean(values)),
        "p5": _r(p5),
        "p50": _r(p50),
        "p95": _r(p95),
    }


def score_numeric(
    feature: Feature,
    baseline: list[float],
    current: list[float],
    policy: DriftPolicy,
    alpha_each: float,
) -> FeatureScore:
    """KS p-value and normalised Wasserstein distance of one numeric feature."""
    b, c = np.asarray(baseline, dtype=float), np.asarray(current, dtype=float)
    value = stat = p = None
    status: Status = "insufficient"
    if len(b) >= policy.min_samples and len(c) >= policy.min_samples:
        ks = ks_2samp(b, c)
        stat, p = float(ks.statistic), float(ks.pvalue)
        value = float(wasserstein_distance(b, c)) / _spread(b)
        status = _grade(value, p, policy.numeric_marginal, policy.numeric_severe, alpha_each)
    return FeatureScore(
        feature=feature.name,
        kind=feature.kind,
        type="numeric",
        statistic="wasserstein",
        value=_r(value),
        test="ks",
        test_statistic=_r(stat),
        p_value=None if p is None else float(f"{p:.4g}"),
        marginal_at=policy.numeric_marginal,
        severe_at=policy.numeric_severe,
        status=status,
        n_baseline=len(b),
        n_current=len(c),
        baseline=_numeric_summary(b),
        current=_numeric_summary(c),
    )


def _shares(categories: list[str], counts: list[float]) -> dict[str, Any]:
    total = sum(counts)
    return (
        {k: round(n / total, 4) for k, n in zip(categories, counts, strict=True)} if total else {}
    )


def score_categorical(
    feature: Feature,
    baseline: tuple[dict[str, float], int],
    current: tuple[dict[str, float], int],
    policy: DriftPolicy,
    alpha_each: float,
) -> FeatureScore:
    """Chi-squared p-value and Jensen-Shannon distance of one categorical feature."""
    (b_counts, b_jobs), (c_counts, c_jobs) = baseline, current
    cats, b, c = aligned(b_counts, c_counts)
    keep = [i for i in range(len(cats)) if b[i] + c[i] > 0]
    cats, b, c = [cats[i] for i in keep], [b[i] for i in keep], [c[i] for i in keep]
    value = stat = p = None
    status: Status = "insufficient"
    enough = b_jobs >= policy.min_samples and c_jobs >= policy.min_samples
    if enough and sum(b) > 0 and sum(c) > 0:
        if len(cats) < 2:  # one category in both windows: nothing can have moved
            value, stat, p = 0.0, 0.0, 1.0
        else:
            chi = chi2_contingency(np.array([b, c]))
            stat, p = float(chi.statistic), float(chi.pvalue)
            value = float(jensenshannon(b, c, base=2))
        status = _grade(
            value, p, policy.categorical_marginal, policy.categorical_severe, alpha_each
        )
    return FeatureScore(
        feature=feature.name,
        kind=feature.kind,
        type="categorical",
        statistic="js",
        value=_r(value),
        test="chi2",
        test_statistic=_r(stat, 2),
        p_value=None if p is None else float(f"{p:.4g}"),
        marginal_at=policy.categorical_marginal,
        severe_at=policy.categorical_severe,
        status=status,
        n_baseline=b_jobs,
        n_current=c_jobs,
        baseline={"n": b_jobs, "shares": _shares(cats, b)},
        current={"n": c_jobs, "shares": _shares(cats, c)},
    )


def compare(
    baseline: Iterable[MlServingObservation],
    current: Iterable[MlServingObservation],
    policy: DriftPolicy | None = None,
) -> tuple[list[FeatureScore], float | None]:
    """Every feature of ``current`` against ``baseline``; and the per-feature alpha used
    (``alpha`` / features with enough data in both windows: Bonferroni)."""
    policy = policy or DriftPolicy()
    b_rows, c_rows = list(baseline), list(current)
    data: list[tuple[Feature, Any, Any, bool]] = []
    for f in FEATURES:
        if f.type == "numeric":
            bv, cv = numeric_values(f, b_rows), numeric_values(f, c_rows)
            enough = min(len(bv), len(cv)) >= policy.min_samples
        else:
            bv, cv = category_counts(f, b_rows), category_counts(f, c_rows)
            enough = min(bv[1], cv[1]) >= policy.min_samples
        data.append((f, bv, cv, enough))
    m = sum(1 for *_, enough in data if enough)
    alpha_each = policy.alpha / m if m else None
    scores = [
        (score_numeric if f.type == "numeric" else score_categorical)(
            f, bv, cv, policy, alpha_each or 0.0
        )
        for f, bv, cv, _ in data
    ]
    return scores, alpha_each
