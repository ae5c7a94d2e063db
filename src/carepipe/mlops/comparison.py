"""Compare two model versions on the same evaluation set version (``models.read``).

The versions' newest finished evaluations on one set version are paired item by item
(clip ids; for notes, each reference fact). A is the baseline, B the candidate:

- ASR: corpus WER of each, ``difference`` = WER_B - WER_A (negative: B better), the paired
  bootstrap 95 % CI of that difference, MAPSSWE (the p-value the verdict uses) and the sign
  test beside it; per-slice WER of both.
- Notes: fact recall of each, ``difference`` = recall_B - recall_A (positive: B better),
  exact McNemar on the facts (the verdict's p-value) and a bootstrap CI over clips.

The verdict rule is :func:`carepipe.mlops.significance.verdict`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.mlops import significance as sig
from carepipe.mlops.models import MlDeployment, MlEvaluation, MlModel, MlModelVersion
from carepipe.mlops.refs import label, resolve_version


class TestResult(BaseModel):
    """One paired test as shown in a comparison."""

    name: str
    statistic: float | None
    p_value: float
    n: int
    b_better: int = 0
    a_better: int = 0


class SliceRow(BaseModel):
    """One slice (``voice = en-gb``): items and the metric for both versions."""

    dimension: str
    value: str
    items: int
    baseline: float | None
    candidate: float | None
    difference: float | None


class ItemRow(BaseModel):
    """One paired item: the metric (clip WER, or fact recall of a clip) for both."""

    id: str
    baseline: float | None
    candidate: float | None
    slices: dict[str, str]


class ComparisonResult(BaseModel):
    """The statistics of one comparison (no database identities)."""

    kind: str
    metric: str  # "wer" | "recall"
    lower_is_better: bool
    n_pairs: int
    baseline_value: float | None
    candidate_value: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    resamples: int
    seed: int
    p_value: float
    tests: list[TestResult]
    verdict: str
    rule: str
    slices: list[SliceRow]
    items: list[ItemRow]

    def gate_summary(self) -> dict[str, Any]:
        """What the promotion gate reads (``comparison_vs_production``)."""
        return {
            "verdict": self.verdict,
            "wer_delta": self.difference if self.metric == "wer" else None,
            "recall_delta": self.difference if self.metric == "recall" else None,
            "p_value": self.p_value,
            "ci": [self.ci_low, self.ci_high],
            "n": self.n_pairs,
        }


class ComparisonView(ComparisonResult):
    """A comparison with the versions and evaluations it was made from."""

    baseline: str
    candidate: str
    baseline_version_id: str
    candidate_version_id: str
    baseline_evaluation_id: str
    candidate_evaluation_id: str
    eval_set: str


RULE = (
    f"insufficient data below {sig.MIN_PAIRS} paired items; better/worse when p < {sig.ALPHA} "
    "and the 95% bootstrap CI excludes 0; otherwise no significant difference"
)


def _test(t: sig.PairedTest) -> TestResult:
    stat = t.statistic if abs(t.statistic) != float("inf") else None
    return TestResult(
        name=t.name,
        statistic=stat,
        p_value=t.p_value,
        n=t.n,
        b_better=t.b_better,
        a_better=t.a_better,
    )


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def compare_items(
    kind: str, items_a: Sequence[dict[str, Any]], items_b: Sequence[dict[str, Any]]
) -> ComparisonResult:
    """Pair the items of two evaluations of the same set by id and compute the statistics."""
    by_b = {i["id"]: i for i in items_b}
    pairs = [(a, by_b[a["id"]]) for a in items_a if a["id"] in by_b]
    if kind == "asr":
        err_a = [a["errors"] for a, _ in pairs]
        err_b = [b["errors"] for _, b in pairs]
        words = [a["ref_words"] for a, _ in pairs]
        tests = [sig.mapsswe(err_a, err_b), sig.sign_test(err_a, err_b)]
        boot = sig.paired_bootstrap(err_a, err_b, words) if sum(words) else None
        value_a, value_b = _ratio(sum(err_a), sum(words)), _ratio(sum(err_b), sum(words))
        diff = boot.delta if boot else None
        ci = (boot.ci_low, boot.ci_high) if boot else None
        metric, lower, n = "wer", True, len(pairs)
        per_item = [
            (a, b, _ratio(a["errors"], a["ref_words"]), _ratio(b["errors"], b["ref_words"]))
            for a, b in pairs
        ]

        def slice_value(rows: list[dict[str, Any]]) -> float | None:
            return _ratio(sum(r["errors"] for r in rows), sum(r["ref_words"] for r in rows))
    else:
        facts_a = [f["correct"] for a, _ in pairs for f in a["facts"]]
        facts_b = [f["correct"] for _, b in pairs for f in b["facts"]]
        if len(facts_a) != len(facts_b):
            raise InvalidRequest("the two evaluations scored different reference facts")
        tests = [sig.mcnemar_exact(facts_a, facts_b)]
        miss_a = [a["fn"] for a, _ in pairs]
        miss_b = [b["fn"] for _, b in pairs]
        total = [len(a["facts"]) for a, _ in pairs]
        boot = sig.paired_bootstrap(miss_a, miss_b, total) if sum(total) else None
        value_a = _ratio(sum(facts_a), len(facts_a))
        value_b = _ratio(sum(facts_b), len(facts_b))
        # Recall difference = -(miss-rate difference); the CI flips with it.
        diff = -boot.delta if boot else None
        ci = (-boot.ci_high, -boot.ci_low) if boot else None
        metric, lower, n = "recall", False, len(facts_a)
        per_item = [(a, b, a["recall"], b["recall"]) for a, b in pairs]

        def slice_value(rows: list[dict[str, Any]]) -> float | None:
            return _ratio(sum(r["tp"] for r in rows), sum(len(r["facts"]) for r in rows))

    p_value = tests[0].p_value
    verdict = sig.verdict(n, diff or 0.0, p_value, ci=ci, lower_is_better=lower)
    groups: dict[tuple[str, str], list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for a, b in pairs:
        for dim, value in a["slices"].items():
            groups.setdefault((dim, value), []).append((a, b))
    slices = []
    for (dim, value), rows in sorted(groups.items()):
        sa = slice_value([a for a, _ in rows])
        sb = slice_value([b for _, b in rows])
        delta = round(sb - sa, 4) if sa is not None and sb is not None else None
        slices.append(
            SliceRow(
                dimension=dim,
                value=value,
                items=len(rows),
                baseline=sa,
                candidate=sb,
                difference=delta,
            )
        )
    return ComparisonResult(
        kind=kind,
        metric=metric,
        lower_is_better=lower,
        n_pairs=n,
        baseline_value=value_a,
        candidate_value=value_b,
        difference=round(diff, 4) if diff is not None else None,
        ci_low=round(ci[0], 4) if ci else None,
        ci_high=round(ci[1], 4) if ci else None,
        resamples=boot.resamples if boot else 0,
        seed=boot.seed if boot else sig.SEED,
        p_value=p_value,
        tests=[_test(t) for t in tests],
        verdict=verdict,
        rule=RULE,
        slices=slices,
        items=[
            ItemRow(id=a["id"], baseline=va, candidate=vb, slices=a["slices"])
            for a, b, va, vb in per_item
        ],
    )


def load_items(blobs: BlobStore, ev: MlEvaluation) -> list[dict[str, Any]]:
    """The per-item results of a finished evaluation."""
    if not ev.items_blob_key:
        raise InvalidRequest(f"evaluation {ev.id} has no item results (status {ev.status})")
    return list(json.loads(blobs.get(ev.items_blob_key))["items"])


def latest_done(session: Session, version_id: str, eval_set: str) -> MlEvaluation | None:
    """The newest finished evaluation of a version on a set version (``name@hash``)."""
    return session.execute(
        select(MlEvaluation)
        .where(
            MlEvaluation.version_id == version_id,
            MlEvaluation.eval_set == eval_set,
            MlEvaluation.status == "done",
        )
        .order_by(MlEvaluation.created_at.desc(), MlEvaluation.id)
        .limit(1)
    ).scalar_one_or_none()


def production_version(session: Session, kind: str) -> MlModelVersion | None:
    """What serves ``kind`` in production for every tenant (the deployment's stable
    version), else the newest version of that kind in stage ``production``."""
    dep = session.execute(
        select(MlDeployment).where(
            MlDeployment.engine_kind == kind,
            MlDeployment.environment == "production",
            MlDeployment.tenant == "*",
        )
    ).scalar_one_or_none()
    if dep is not None:
        return session.get(MlModelVersion, dep.stable_version_id)
    return session.execute(
        select(MlModelVersion)
        .join(MlModel, MlModel.id == MlModelVersion.model_id)
        .where(MlModel.kind == kind, MlModelVersion.stage == "production")
        .order_by(MlModelVersion.stage_changed_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _shared_set(session: Session, a: MlModelVersion, b: MlModelVersion, wanted: str | None) -> str:
    rows = session.execute(
        select(MlEvaluation.version_id, MlEvaluation.eval_set, MlEvaluation.created_at)
        .where(MlEvaluation.version_id.in_([a.id, b.id]), MlEvaluation.status == "done")
        .order_by(MlEvaluation.created_at.desc())
    ).all()
    sets_a = [s for v, s, _ in rows if v == a.id]
    sets_b = {s for v, s, _ in rows if v == b.id}
    shared = [s for s in sets_a if s in sets_b]
    if wanted:
        shared = [s for s in shared if s == wanted or s.split("@", 1)[0] == wanted]
    if not shared:
        raise NotFound(
            "the two versions have no finished evaluations on the same set version"
            + (f" ({wanted})" if wanted else ""),
            details={"baseline_sets": sorted(set(sets_a)), "candidate_sets": sorted(sets_b)},
        )
    return shared[0]


def compare(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    baseline_ref: str,
    candidate_ref: str,
    *,
    eval_set: str | None = None,
) -> ComparisonView:
    """Compare ``candidate`` against ``baseline`` on their newest shared set version."""
    require(principal, "models.read")
    a = resolve_version(session, baseline_ref)
    b = resolve_version(session, candidate_ref)
    if a.id == b.id:
        raise InvalidRequest("compare two different versions")
    model_a, model_b = session.get(MlModel, a.model_id), session.get(MlModel, b.model_id)
    assert model_a is not None and model_b is not None
    if model_a.kind != model_b.kind:
        raise InvalidRequest(f"cannot compare a {model_a.kind} model with a {model_b.kind} model")
    set_label = _shared_set(session, a, b, eval_set)
    ev_a, ev_b = latest_done(session, a.id, set_label), latest_done(session, b.id, set_label)
    assert ev_a is not None and ev_b is not None
    result = compare_items(model_a.kind, load_items(blobs, ev_a), load_items(blobs, ev_b))
    return ComparisonView(
        **result.model_dump(),
        baseline=label(session, a),
        candidate=label(session, b),
        baseline_version_id=a.id,
        candidate_version_id=b.id,
        baseline_evaluation_id=ev_a.id,
        candidate_evaluation_id=ev_b.id,
        eval_set=set_label,
    )


def evaluated_choices(session: Session, principal: Principal) -> tuple[list[str], list[str]]:
    """The versions (``name@n``) with a finished evaluation, and the set versions used."""
    require(principal, "models.read")
    rows = session.execute(
        select(MlEvaluation.version_id, MlEvaluation.eval_set)
        .where(MlEvaluation.status == "done")
        .distinct()
    ).all()
    labels = {
        v.id: label(session, v)
        for v in session.execute(
            select(MlModelVersion).where(MlModelVersion.id.in_({r[0] for r in rows}))
        ).scalars()
    }
    return sorted(set(labels.values())), sorted({r[1] for r in rows})
