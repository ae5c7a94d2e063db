"""Is model B better than model A on the same items? Paired tests with numpy and scipy.

ASR (per-clip word errors of both versions on the same clips, same reference words):

- :func:`paired_bootstrap` — the difference of corpus WER (B - A) and its 95 % percentile
  confidence interval from resampling clips with replacement (:data:`RESAMPLES` = 10,000
  resamples, generator seeded with :data:`SEED` = 15, so a report is reproducible);
- :func:`mapsswe` — NIST sclite's Matched-Pair Sentence-Segment Word Error test with one
  segment per clip: ``d_i = errors_B_i - errors_A_i``, ``Z = mean(d) / (sd(d) / sqrt(n))``
  (sd with n - 1), two-sided p from the standard normal;
- :func:`sign_test` — which version made fewer errors per clip, ties dropped, exact
  two-sided binomial test (``scipy.stats.binomtest``, p = 0.5).

Note items (each reference fact found or missed by both versions): :func:`mcnemar_exact`,
the exact McNemar test: a two-sided binomial test on the discordant pairs.

Verdict rule (:func:`verdict`): **insufficient data** when fewer than :data:`MIN_PAIRS`
paired items (clips, or reference facts) were scored — with 4 clips no test here can reach
p < 0.05 in a way worth acting on; otherwise **better** / **worse** when the p-value is
below :data:`ALPHA` (0.05) *and* the bootstrap interval (when there is one) excludes 0, in
the direction of the difference; else **no significant difference**.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05
RESAMPLES = 10_000
SEED = 15
MIN_PAIRS = 5

BETTER, WORSE, SAME, INSUFFICIENT = (
    "better",
    "worse",
    "no significant difference",
    "insufficient data",
)


@dataclass(frozen=True)
class Bootstrap:
    """Corpus WER difference (B - A) and its percentile confidence interval."""

    delta: float
    ci_low: float
    ci_high: float
    resamples: int
    seed: int
    level: float = 0.95


@dataclass(frozen=True)
class PairedTest:
    """A matched-pairs test: its name, statistic, two-sided p-value and sample sizes."""

    name: str
    statistic: float
    p_value: float
    n: int
    # Sign test / McNemar: items where B was better, where A was better (ties dropped).
    b_better: int = 0
    a_better: int = 0


def _arrays(errors_a: Sequence[float], errors_b: Sequence[float]) -> tuple[np.ndarray, ...]:
    a = np.asarray(errors_a, dtype=float)
    b = np.asarray(errors_b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("paired samples must be two lists of the same length")
    return a, b


def paired_bootstrap(
    errors_a: Sequence[float],
    errors_b: Sequence[float],
    words: Sequence[float],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    level: float = 0.95,
) -> Bootstrap:
    """Corpus WER of B minus corpus WER of A, with a percentile CI from resampling items."""
    a, b = _arrays(errors_a, errors_b)
    w = np.asarray(words, dtype=float)
    if w.shape != a.shape or w.sum() <= 0:
        raise ValueError("need reference word counts for every item, not all zero")
    delta = float((b.sum() - a.sum()) / w.sum())
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(a), size=(resamples, len(a)))
    ref = w[idx].sum(axis=1)
    # A resample drawing only zero-word items has no WER; it cannot happen with real clips.
    ref[ref == 0] = np.nan
    deltas = (b[idx].sum(axis=1) - a[idx].sum(axis=1)) / ref
    tail = (1 - level) / 2 * 100
    low, high = np.nanpercentile(deltas, [tail, 100 - tail])
    return Bootstrap(delta, float(low), float(high), resamples, seed, level)


def mapsswe(errors_a: Sequence[float], errors_b: Sequence[float]) -> PairedTest:
    """NIST MAPSSWE with one segment per item; identical errors everywhere give p = 1."""
    a, b = _arrays(errors_a, errors_b)
    d = b - a
    n = len(d)
    if n < 2:
        return PairedTest("mapsswe", 0.0, 1.0, n)
    sd = float(np.std(d, ddof=1))
    if sd == 0.0:
        # Every clip differs by the same amount: zero difference is no evidence; a constant
        # non-zero one is as strong as it gets (Z is unbounded).
        mean = float(d.mean())
        if mean == 0.0:
            return PairedTest("mapsswe", 0.0, 1.0, n)
        return PairedTest("mapsswe", math.copysign(math.inf, mean), 0.0, n)
    z = float(d.mean() / (sd / math.sqrt(n)))
    p = float(2 * stats.norm.sf(abs(z)))
    return PairedTest("mapsswe", z, p, n)


def sign_test(errors_a: Sequence[float], errors_b: Sequence[float]) -> PairedTest:
    """Exact two-sided sign test on which version made fewer errors per item (ties out)."""
    a, b = _arrays(errors_a, errors_b)
    b_better = int((b < a).sum())
    a_better = int((a < b).sum())
    k = b_better + a_better
    if k == 0:
        return PairedTest("sign", 0.0, 1.0, len(a), 0, 0)
    result = stats.binomtest(b_better, k, 0.5, alternative="two-sided")
    return PairedTest("sign", float(b_better), float(result.pvalue), len(a), b_better, a_better)


def mcnemar_exact(correct_a: Sequence[bool], correct_b: Sequence[bool]) -> PairedTest:
    """Exact McNemar test on paired right/wrong outcomes (binomial on discordant pairs)."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("paired outcomes must be two lists of the same length")
    b_better = int((b & ~a).sum())
    a_better = int((a & ~b).sum())
    k = b_better + a_better
    if k == 0:
        return PairedTest("mcnemar", 0.0, 1.0, len(a), 0, 0)
    result = stats.binomtest(b_better, k, 0.5, alternative="two-sided")
    return PairedTest("mcnemar", float(b_better), float(result.pvalue), len(a), b_better, a_better)


def verdict(
    n_pairs: int,
    difference: float,
    p_value: float,
    *,
    ci: tuple[float, float] | None = None,
    lower_is_better: bool = True,
) -> str:
    """The verdict for B against A (see the module docstring for the rule)."""
    if n_pairs < MIN_PAIRS:
        return INSUFFICIENT
    if p_value >= ALPHA or difference == 0:
        return SAME
    if ci is not None and ci[0] <= 0.0 <= ci[1]:
        return SAME
    improved = difference < 0 if lower_is_better else difference > 0
    return BETTER if improved else WORSE
