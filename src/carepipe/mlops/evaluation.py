"""Evaluate a model version on a versioned evaluation set (``models.evaluate``).

ASR versions: every clip is transcribed by the engine the version's ``engine_config``
selects (applied over the running settings); per clip the WER after
:func:`carepipe.engines.asr.wer.normalise`, substitutions/deletions/insertions, reference
words, processing seconds and real-time factor. Note versions: the note engine writes a
note from each clip's *reference* transcript (so ASR errors do not count against it) and
every reference fact (vital, medication, diagnosis; keys from
:mod:`carepipe.engines.notes.evaluation`) is scored found / missed, plus false positives.

Metrics overall and per slice go on the ``ml_evaluations`` row; per-item results are a JSON
blob (``items_blob_key``); the version's ``metrics["latest_evaluation"]`` is a summary.
When the evaluated version is not the production one and the production version has a
finished evaluation on the same set version, the comparison with it (verdict, WER or
recall delta, p-value) is written to ``metrics["comparison_vs_production"]`` of both the
evaluation and the version — the promotion gate reads it there.

Two steps so the API can answer at once: :func:`start_evaluation` validates, builds the
set and writes the row (``running``); :func:`run_evaluation` does the work in its own
transaction and leaves the row ``done`` (or ``failed`` with the error). The API runs the
second in a background thread; the CLI runs both inline.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import jiwer
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, InvalidRequest, NotFound
from carepipe.engines.asr.wer import normalise
from carepipe.mlops import eval_sets
from carepipe.mlops.artifacts import Runnable, runnable, settings_update
from carepipe.mlops.comparison import compare_items, latest_done, load_items, production_version
from carepipe.mlops.models import MlEvaluation, MlModel, MlModelVersion
from carepipe.mlops.refs import label, resolve_version
from carepipe.observability.logging import get_logger

log = get_logger("carepipe.mlops.evaluation")
SUPPORTED_KINDS = ("asr", "note")


class EvaluationView(BaseModel):
    """An evaluation as every door shows it."""

    id: str
    version_id: str
    version: str  # name@3
    kind: str
    eval_set: str
    status: str
    metrics: dict[str, Any]
    slices: dict[str, Any]
    seconds: float
    created_at: datetime
    created_by: str


def view(session: Session, ev: MlEvaluation) -> EvaluationView:
    """The view of an evaluation row."""
    version = session.get(MlModelVersion, ev.version_id)
    model = session.get(MlModel, version.model_id) if version else None
    return EvaluationView(
        id=ev.id,
        version_id=ev.version_id,
        version=label(session, version) if version else "?",
        kind=model.kind if model else "?",
        eval_set=ev.eval_set,
        status=ev.status,
        metrics=ev.metrics or {},
        slices=ev.slices or {},
        seconds=ev.seconds,
        created_at=ev.created_at,
        created_by=ev.created_by,
    )


def build_set(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    name: str,
    *,
    clips: Sequence[str] | None = None,
    directory: str | None = None,
    tenant: str | None = None,
) -> eval_sets.EvalSet:
    """The evaluation set ``name`` (``scribe-clips`` or ``corrections``)."""
    if name == eval_sets.SCRIBE_CLIPS:
        return eval_sets.scribe_clips(directory, clips)
    if name == eval_sets.CORRECTIONS:
        return eval_sets.corrections(session, blobs, principal, tenant=tenant)
    raise InvalidRequest(
        f"unknown evaluation set {name!r}", details={"supported": list(eval_sets.KINDS)}
    )


def start_evaluation(
    session: Session, principal: Principal, ref: str, eval_set: eval_sets.EvalSet
) -> EvaluationView:
    """Check the caller and the version, write the ``running`` evaluation row, audit it."""
    require(principal, "models.evaluate")
    version = resolve_version(session, ref)
    model = session.get(MlModel, version.model_id)
    assert model is not None
    if model.kind not in SUPPORTED_KINDS:
        raise InvalidRequest(
            f"evaluation of {model.kind} models is not supported",
            details={"supported": list(SUPPORTED_KINDS)},
        )
    if model.kind == "note" and any(item.facts is None for item in eval_set.items):
        raise InvalidRequest(f"{eval_set.name} has no reference facts to score notes against")
    ev = MlEvaluation(
        version_id=version.id,
        eval_set=eval_set.label,
        status="running",
        metrics={},
        slices={},
        created_at=utcnow(),
        created_by=principal.actor,
    )
    session.add(ev)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.evaluate",
        target_type="model_version",
        target_id=version.id,
        after={"evaluation": ev.id, "eval_set": eval_set.label, "items": len(eval_set.items)},
    )
    return view(session, ev)


def _run_settings(settings: Settings, blobs: BlobStore, run: Runnable) -> Settings:
    """The running settings with the version's engine settings (and its uploaded model,
    unpacked) applied over them."""
    return settings.model_copy(update=settings_update(settings, blobs, run))


def _asr_items(settings: Settings, eval_set: eval_sets.EvalSet) -> list[dict[str, Any]]:
    from carepipe.engines.asr import load_asr_engine

    engine = load_asr_engine(settings)
    out = []
    for item in eval_set.items:
        t0 = time.perf_counter()
        transcript = engine.transcribe(item.audio())
        seconds = time.perf_counter() - t0
        ref = normalise(item.reference)
        hyp = normalise(transcript.text) or "<empty>"
        counts = jiwer.process_words(ref, hyp)
        words = len(ref.split())
        errors = counts.substitutions + counts.deletions + counts.insertions
        audio_seconds = float(transcript.audio_seconds or item.audio_seconds or 0.0)
        row: dict[str, Any] = {
            "id": item.id,
            "slices": item.slices,
            "ref_words": words,
            "errors": errors,
            "substitutions": counts.substitutions,
            "deletions": counts.deletions,
            "insertions": counts.insertions,
            "wer": round(errors / words, 4) if words else None,
            "audio_seconds": round(audio_seconds, 3),
            "seconds": round(seconds, 3),
            "rtf": round(seconds / audio_seconds, 4) if audio_seconds else None,
            "model_version": transcript.model_version,
        }
        if item.shareable_text:
            row["hypothesis"] = transcript.text
        out.append(row)
    return out


def _note_items(settings: Settings, eval_set: eval_sets.EvalSet) -> list[dict[str, Any]]:
    from carepipe.engines.notes import load_note_engine
    from carepipe.engines.notes.evaluation import FACT_TYPES, note_keys, reference_keys

    engine = load_note_engine(settings)
    out = []
    for item in eval_set.items:
        t0 = time.perf_counter()
        note = engine.generate(item.reference)
        seconds = time.perf_counter() - t0
        predicted, expected = note_keys(note), reference_keys(item.facts or {})
        facts, fp = [], 0
        for fact_type in FACT_TYPES:
            pred, exp = Counter(predicted[fact_type]), Counter(expected[fact_type])
            matched = pred & exp
            fp += sum((pred - matched).values())
            for key, n in exp.items():
                found = matched.get(key, 0)
                for k in range(n):
                    facts.append({"type": fact_type, "key": list(key), "correct": k < found})
        tp = sum(f["correct"] for f in facts)
        out.append(
            {
                "id": item.id,
                "slices": item.slices,
                "facts": facts,
                "tp": tp,
                "fn": len(facts) - tp,
                "fp": fp,
                "recall": round(tp / len(facts), 4) if facts else None,
                "seconds": round(seconds, 4),
            }
        )
    return out


def aggregate(kind: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Overall figures of ``items`` (corpus WER for ASR; recall, precision, F1 for notes)."""
    if kind == "asr":
        words = sum(i["ref_words"] for i in items)
        errors = sum(i["errors"] for i in items)
        audio = sum(i["audio_seconds"] for i in items)
        secs = sum(i["seconds"] for i in items)
        return {
            "items": len(items),
            "wer": round(errors / words, 4) if words else None,
            "errors": errors,
            "ref_words": words,
            "audio_seconds": round(audio, 2),
            "processing_seconds": round(secs, 2),
            "rtf": round(secs / audio, 4) if audio else None,
        }
    tp = sum(i["tp"] for i in items)
    fn = sum(i["fn"] for i in items)
    fp = sum(i["fp"] for i in items)
    recall = tp / (tp + fn) if tp + fn else 1.0
    precision = tp / (tp + fp) if tp + fp else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "items": len(items),
        "facts": tp + fn,
        "recall": round(recall, 4),
        "precision": round(precision, 4),
        "f1": round(f1, 4),
    }


def slice_metrics(kind: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{dimension: {value: figures}}`` for every slice dimension of the items."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for item in items:
        for dim, value in item["slices"].items():
            groups.setdefault(dim, {}).setdefault(value, []).append(item)
    return {
        dim: {value: aggregate(kind, rows) for value, rows in sorted(values.items())}
        for dim, values in sorted(groups.items())
    }


def run_evaluation(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    evaluation_id: str,
    eval_set: eval_sets.EvalSet,
) -> None:
    """Run the evaluation ``evaluation_id`` (written by :func:`start_evaluation`) to the end.

    Never raises for an engine failure: the row ends ``failed`` with the error's code.
    """
    with db.session() as s:
        ev = s.get(MlEvaluation, evaluation_id)
        if ev is None:
            raise NotFound(f"no evaluation {evaluation_id}")
        version = s.get(MlModelVersion, ev.version_id)
        assert version is not None
        model = s.get(MlModel, version.model_id)
        assert model is not None
        kind = model.kind
        run = runnable(version)
    started = time.perf_counter()
    try:
        run_settings = _run_settings(settings, blobs, run)
        items = (_asr_items if kind == "asr" else _note_items)(run_settings, eval_set)
    except Exception as exc:  # an engine failure is the evaluation's result, not a crash
        code = exc.code if isinstance(exc, CarePipeError) else type(exc).__name__
        log.warning("model_evaluation.failed", evaluation=evaluation_id, error=code)
        with db.transaction() as s:
            ev = s.get(MlEvaluation, evaluation_id)
            assert ev is not None
            ev.status = "failed"
            ev.metrics = {"error": code, "message": str(exc)[:500]}
            ev.seconds = round(time.perf_counter() - started, 3)
        return
    elapsed = time.perf_counter() - started
    key = blobs.put(json.dumps({"kind": kind, "items": items}, sort_keys=True).encode())
    with db.transaction() as s:
        ev = s.get(MlEvaluation, evaluation_id)
        version = s.get(MlModelVersion, ev.version_id) if ev else None
        assert ev is not None and version is not None
        ev.status = "done"
        ev.items_blob_key = key
        ev.seconds = round(elapsed, 3)
        ev.metrics = aggregate(kind, items)
        ev.slices = slice_metrics(kind, items)
        _record_vs_production(s, blobs, ev, version, kind, items)
        summary = {"evaluation_id": ev.id, "eval_set": ev.eval_set, "at": utcnow().isoformat()}
        summary.update(ev.metrics)
        version.metrics = {**(version.metrics or {}), "latest_evaluation": summary}
        if "comparison_vs_production" in ev.metrics:
            version.metrics["comparison_vs_production"] = ev.metrics["comparison_vs_production"]


def _record_vs_production(
    session: Session,
    blobs: BlobStore,
    ev: MlEvaluation,
    version: MlModelVersion,
    kind: str,
    items: list[dict[str, Any]],
) -> None:
    """Write ``comparison_vs_production`` on ``ev`` when there is a production baseline."""
    prod = production_version(session, kind)
    if prod is None or prod.id == version.id:
        return
    baseline = latest_done(session, prod.id, ev.eval_set)
    entry: dict[str, Any] = {"production_version": label(session, prod)}
    if baseline is None:
        entry.update(
            verdict="insufficient data",
            reason=f"production has no finished evaluation on {ev.eval_set}",
            wer_delta=None,
            p_value=None,
        )
    else:
        result = compare_items(kind, load_items(blobs, baseline), items)
        entry.update(result.gate_summary())
        entry["baseline_evaluation_id"] = baseline.id
    ev.metrics = {**ev.metrics, "comparison_vs_production": entry}


def evaluate(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    principal: Principal,
    ref: str,
    set_name: str = eval_sets.SCRIBE_CLIPS,
    *,
    clips: Sequence[str] | None = None,
    directory: str | None = None,
    tenant: str | None = None,
) -> EvaluationView:
    """Start and run an evaluation inline (the CLI, the benchmark); returns the final view."""
    with db.transaction() as s:
        require(principal, "models.evaluate")
        eval_set = build_set(
            s, blobs, principal, set_name, clips=clips, directory=directory, tenant=tenant
        )
        started = start_evaluation(s, principal, ref, eval_set)
    run_evaluation(db, blobs, settings, started.id, eval_set)
    with db.session() as s:
        ev = s.get(MlEvaluation, started.id)
        assert ev is not None
        return view(s, ev)


def get_evaluation(session: Session, principal: Principal, evaluation_id: str) -> EvaluationView:
    """One evaluation (``models.read``)."""
    require(principal, "models.read")
    ev = session.get(MlEvaluation, evaluation_id)
    if ev is None:
        raise NotFound(f"no evaluation {evaluation_id}")
    return view(session, ev)


def list_evaluations(
    session: Session, principal: Principal, *, ref: str | None = None, limit: int = 50
) -> list[EvaluationView]:
    """Newest evaluations first, of one version when ``ref`` is given (``models.read``)."""
    require(principal, "models.read")
    stmt = select(MlEvaluation).order_by(MlEvaluation.created_at.desc(), MlEvaluation.id)
    if ref:
        stmt = stmt.where(MlEvaluation.version_id == resolve_version(session, ref).id)
    return [view(session, ev) for ev in session.execute(stmt.limit(limit)).scalars()]
