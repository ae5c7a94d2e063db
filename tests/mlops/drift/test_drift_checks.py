"""The scheduled drift check (``check_due``, the job ``carepipe up`` runs) on both databases:
severe drift stores an event and the check and posts ``model.drift`` to a real local
webhook server; marginal drift stores an event and brings the next check forward; too few
jobs is "insufficient data" with no event and no webhook; a version is checked again only
when its next check is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select

from carepipe.mlops.drift import check_due
from carepipe.mlops.models import MlDriftEvent, MlReport
from tests.mlops.drift.synthetic import Population, observations

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _serve(store, version_id, rng, n_base, n_now, shifted, *, step=timedelta(minutes=2)):
    """``n_base`` jobs from two days ago (the baseline), ``n_now`` in the last day."""
    store(
        observations(rng, n_base, version_id=version_id, start=NOW - timedelta(hours=47), step=step)
    )
    store(
        observations(
            rng, n_now, shifted, version_id=version_id, start=NOW - timedelta(hours=23), step=step
        )
    )


def _events(db):
    with db.session() as s:
        return [
            (e.feature, e.severity, e.statistic, e.kind)
            for e in s.execute(select(MlDriftEvent).order_by(MlDriftEvent.id)).scalars()
        ]


def test_severe_drift_stores_an_event_and_calls_the_webhook(db, settings, deploy, store, webhook):
    vid = deploy()
    _serve(store, vid, np.random.default_rng(1), 200, 200, Population(snr_mean=14.0))

    [check] = check_due(db, settings, now=NOW)
    assert check.status == "severe" and check.version == "whisper-base@1"
    assert check.baseline.jobs == 200 and check.current.jobs == 200
    snr = next(f for f in check.features if f.feature == "snr_db")
    assert snr.status == "severe" and snr.value >= snr.severe_at and snr.p_value < 1e-6
    assert [f.feature for f in check.features if f.status != "ok"] == ["snr_db"]
    assert _events(db) == [("snr_db", "severe", "wasserstein", "input")]
    assert check.next_check_at == NOW + timedelta(hours=6)

    body = webhook.next()
    assert body["event"] == "model.drift" and body["severity"] == "severe"
    assert body["version"] == "whisper-base@1" and body["engine_kind"] == "asr"
    assert [f["feature"] for f in body["features"]] == ["snr_db"]
    assert body["check_id"] == check.id and body["event_ids"] == check.event_ids

    # Not due again before the interval; due at it.
    assert check_due(db, settings, now=NOW + timedelta(hours=5, minutes=59)) == []
    [again] = check_due(db, settings, now=NOW + timedelta(hours=6))
    assert again.status == "severe" and webhook.next()["check_id"] == again.id
    with db.session() as s:
        kinds = s.execute(select(MlReport.kind, func.count()).group_by(MlReport.kind)).all()
    assert dict(kinds) == {"drift": 2}


def test_marginal_drift_shortens_the_next_interval_and_sends_nothing(
    db, settings, deploy, store, webhook
):
    # Thresholds are data: this model compares 500 jobs a window (its tags say so).
    vid = deploy(tags={"drift_policy": {"baseline_jobs": 500, "current_jobs": 500}})
    rng = np.random.default_rng(5)
    _serve(store, vid, rng, 500, 500, Population(snr_mean=24.0))

    [check] = check_due(db, settings, now=NOW)
    assert check.status == "marginal", [(f.feature, f.status, f.value) for f in check.features]
    assert check.policy.baseline_jobs == 500 and check.current.jobs == 500
    # Every 6 hours by default; a quarter of that after marginal drift.
    assert check.next_check_at == NOW + timedelta(hours=1.5)
    assert _events(db) == [("snr_db", "marginal", "wasserstein", "input")]
    assert webhook.nothing_within(1.0)
    assert check_due(db, settings, now=NOW + timedelta(hours=1, minutes=29)) == []
    assert len(check_due(db, settings, now=NOW + timedelta(hours=1.5))) == 1


def test_too_few_jobs_is_insufficient_data_without_an_event(db, settings, deploy, store, webhook):
    vid = deploy()
    _serve(store, vid, np.random.default_rng(2), 40, 40, Population(snr_mean=0.0))

    [check] = check_due(db, settings, now=NOW)
    assert check.status == "insufficient_data" and check.alpha_per_feature is None
    assert {f.status for f in check.features} == {"insufficient"}
    assert check.event_ids == [] and _events(db) == []
    assert webhook.nothing_within(1.0)
    assert check.next_check_at == NOW + timedelta(hours=6)


def test_a_bad_policy_in_one_models_tags_does_not_stop_the_others(db, settings, deploy, store):
    deploy(name="note-rules", kind="note", tags={"drift_policy": {"alpha": 5}})
    vid = deploy()
    _serve(store, vid, np.random.default_rng(2), 200, 60, Population())

    [check] = check_due(db, settings, now=NOW)
    assert check.version == "whisper-base@1" and check.status == "ok"
