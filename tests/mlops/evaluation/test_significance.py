"""The paired tests and the verdict rule on cases worked out by hand."""

from __future__ import annotations

import math

import pytest

from carepipe.mlops import significance as sig
from carepipe.mlops.comparison import compare_items

# Six clips: B makes fewer errors on five, the same on one.
A = [3, 5, 2, 6, 4, 7]
B = [1, 2, 2, 3, 1, 4]
WORDS = [50] * 6


def test_mapsswe_matches_the_hand_computed_z_and_p():
    # d = B - A = [-2, -3, 0, -3, -3, -3]; mean -7/3; sample variance 7.3333 / 5 = 1.46667;
    # Z = (-7/3) / sqrt(1.46667 / 6) = -4.7194; p = 2 * Phi(-4.7194) = 2.365e-6.
    t = sig.mapsswe(A, B)
    assert t.statistic == pytest.approx(-4.7194, abs=1e-4)
    assert t.p_value == pytest.approx(2.365e-6, rel=1e-3)
    assert t.n == 6


def test_sign_test_is_the_exact_binomial_on_untied_clips():
    # 5 clips better for B, 0 for A, 1 tie dropped: p = 2 * 0.5**5 = 0.0625.
    t = sig.sign_test(A, B)
    assert (t.b_better, t.a_better) == (5, 0)
    assert t.p_value == pytest.approx(0.0625)
    # Ten clips all worse for B: p = 2 * 0.5**10.
    t = sig.sign_test([1] * 10, [2] * 10)
    assert (t.b_better, t.a_better) == (0, 10) and t.p_value == pytest.approx(2 / 1024)


def test_mcnemar_exact_uses_only_discordant_pairs():
    # 30 facts: 20 right for both, 9 right only for A, 1 right only for B.
    a = [True] * 20 + [True] * 9 + [False] * 1
    b = [True] * 20 + [False] * 9 + [True] * 1
    t = sig.mcnemar_exact(a, b)
    assert (t.b_better, t.a_better) == (1, 9)
    # Two-sided exact binomial, k=1 of 10: 2 * (C(10,0) + C(10,1)) / 2**10 = 22/1024.
    assert t.p_value == pytest.approx(22 / 1024)
    assert sig.mcnemar_exact(a, a).p_value == 1.0


def test_bootstrap_interval_is_reproducible_and_brackets_the_difference():
    boot = sig.paired_bootstrap(A, B, WORDS)
    assert boot.delta == pytest.approx((sum(B) - sum(A)) / 300)
    assert boot.ci_low <= boot.delta <= boot.ci_high < 0
    assert (boot.resamples, boot.seed) == (sig.RESAMPLES, sig.SEED)
    assert sig.paired_bootstrap(A, B, WORDS) == boot


def _asr(errors, words=50):
    return [
        {"id": f"c{i:02d}", "errors": e, "ref_words": words, "slices": {"noise": "clean"}}
        for i, e in enumerate(errors)
    ]


def test_identical_versions_show_no_difference():
    r = compare_items("asr", _asr(A), _asr(A))
    assert r.verdict == sig.SAME and r.difference == 0 and r.p_value == 1.0
    assert (r.ci_low, r.ci_high) == (0.0, 0.0)


def test_a_clearly_worse_candidate_is_worse_with_p_below_005():
    r = compare_items("asr", _asr(B), _asr(A))  # B's errors as the baseline: A is worse
    assert r.verdict == sig.WORSE and r.p_value < 0.05 and r.difference > 0
    assert r.ci_low > 0
    r = compare_items("asr", _asr(A), _asr(B))
    assert r.verdict == sig.BETTER and r.difference < 0 and r.ci_high < 0
    slice_row = r.slices[0]
    assert (slice_row.dimension, slice_row.value, slice_row.items) == ("noise", "clean", 6)
    assert slice_row.baseline == pytest.approx(sum(A) / 300, abs=1e-4)


def test_two_items_are_insufficient_data_however_different():
    r = compare_items("asr", _asr([10, 12]), _asr([0, 1]))
    assert r.n_pairs == 2 and r.verdict == sig.INSUFFICIENT


def test_a_significant_p_with_a_ci_crossing_zero_is_no_difference():
    assert sig.verdict(10, -0.01, 0.01, ci=(-0.02, 0.001)) == sig.SAME
    assert sig.verdict(10, -0.01, 0.2, ci=(-0.02, -0.001)) == sig.SAME
    assert sig.verdict(10, 0.02, 0.01, ci=(0.01, 0.03), lower_is_better=False) == sig.BETTER


def test_note_recall_comparison_uses_mcnemar():
    def items(correct):
        facts = [
            {"type": "vitals", "key": ["x", str(i)], "correct": c} for i, c in enumerate(correct)
        ]
        tp = sum(correct)
        return [
            {
                "id": "c01",
                "facts": facts,
                "tp": tp,
                "fn": len(correct) - tp,
                "recall": tp / len(correct),
                "slices": {"voice": "en-us"},
            }
        ]

    a = [True] * 29 + [False]
    b = [True] * 19 + [False] * 11
    r = compare_items("note", items(a), items(b))
    assert r.metric == "recall" and r.tests[0].name == "mcnemar"
    assert r.difference == pytest.approx(-10 / 30, abs=1e-4)
    # One clip: the bootstrap over clips has no spread, the CI is the point.
    assert math.isclose(r.ci_low, r.ci_high)
    assert r.verdict == sig.WORSE and r.p_value < 0.05
