"""Drift of deployed model versions: is what a version sees (input) or says (output) now
distributed as it was when the version went live?

For each feature of :mod:`carepipe.mlops.drift_features` a check compares a **current
window** (the newest jobs of the last ``current_hours``) with a **baseline window** (the
first ``baseline_jobs`` jobs the version served, or a pinned time range):

- numbers: the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``) for the
  p-value, and the Wasserstein distance divided by the baseline's standard deviation as
  the effect size (one threshold fits seconds, decibels and ratios);
- categories: the chi-squared test of the 2 x k table (``scipy.stats.chi2_contingency``)
  for the p-value, and the Jensen-Shannon distance (base 2, in [0, 1]) as the effect size.

**False positives.** A check tests up to eight features, every few hours, on every deployed
version. A feature drifts only when BOTH its p-value is under ``alpha / m`` (Bonferroni
over the ``m`` features with enough data: at most ``alpha`` family-wise per check) AND its
effect size reaches the marginal or severe threshold, so a large sample cannot raise a
trivial difference. The measured rate is in docs/model-drift.md.

**Outcomes.** Below ``min_samples`` in either window a feature is "insufficient" (no
event). Marginal drift stores an event and brings the next check forward (the interval
times ``marginal_interval_factor``). Severe drift stores an event, counts
``carepipe_model_drift_events_total{severity="severe"}`` (the alert) and posts
``model.drift`` to ``CAREPIPE_MODEL_WEBHOOK_URL``: the hook to start retraining. Each
check is kept as a ``ml_reports`` row (kind ``drift``) with every score: the console's
latest scores and the scheduler's next-check time come from it.

Thresholds are data (:class:`~carepipe.mlops.drift_features.DriftPolicy`, defaults listed
in docs/model-drift.md), overridden per model by its ``tags["drift_policy"]``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from carepipe.core.audit import record
from carepipe.core.auth import SYSTEM, Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError, InvalidRequest, NotFound
from carepipe.mlops.drift_features import DriftPolicy, FeatureScore, compare
from carepipe.mlops.models import (
    MlDeployment,
    MlDriftEvent,
    MlModel,
    MlModelVersion,
    MlReport,
    MlServingObservation,
)
from carepipe.mlops.notify import notify
from carepipe.mlops.refs import label, resolve_version
from carepipe.mlops.views import View
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import MODEL_DRIFT_EVENTS, MODEL_DRIFT_SCORE

log = get_logger("carepipe.mlops.drift")
READ = "models.read"
RUN = "models.evaluate"


class Window(View):
    """A time range ``[since, until)`` of served jobs (either end open)."""

    since: datetime | None = None
    until: datetime | None = None


class WindowUsed(View):
    """The window a check read: its range and how many jobs it held."""

    since: datetime | None
    until: datetime | None
    jobs: int
    pinned: bool


class DriftCheck(View):
    """One check of one version: every feature's score, the events it stored, the next check."""

    id: str
    version_id: str
    version: str
    engine_kind: str
    at: datetime
    status: Literal["ok", "marginal", "severe", "insufficient_data"]
    alpha_per_feature: float | None
    baseline: WindowUsed
    current: WindowUsed
    features: list[FeatureScore]
    event_ids: list[int]
    next_check_at: datetime
    policy: DriftPolicy


class DriftCheckRun(View):
    """The checks one request ran (one per version)."""

    checks: list[DriftCheck]


class DriftEventView(View):
    """A stored drift event."""

    id: int
    version_id: str
    version: str
    engine_kind: str
    feature: str
    kind: str
    statistic: str
    value: float
    p_value: float | None
    severity: str
    baseline: dict[str, Any]
    current: dict[str, Any]
    at: datetime


class DriftEventPage(View):
    """Events, newest first; ``next_before`` pages on (pass it as ``before``)."""

    items: list[DriftEventView]
    next_before: int | None


def policy_of(session: Session, version: MlModelVersion, **override: Any) -> DriftPolicy:
    """The defaults, then the model's ``tags["drift_policy"]``, then ``override``."""
    model = session.get(MlModel, version.model_id)
    tagged = (model.tags or {}).get("drift_policy") if model else None
    merged = {**(tagged if isinstance(tagged, dict) else {}), **override}
    try:
        return DriftPolicy(**merged)
    except ValueError as exc:
        raise InvalidRequest("bad drift policy", details={"policy": merged}) from exc


def _observations(
    session: Session, version_id: str, window: Window, *, oldest_first: bool, limit: int
) -> list[MlServingObservation]:
    o = MlServingObservation
    q = select(o).where(o.version_id == version_id)
    if window.since is not None:
        q = q.where(o.at >= window.since)
    if window.until is not None:
        q = q.where(o.at < window.until)
    order = (o.at.asc(), o.id.asc()) if oldest_first else (o.at.desc(), o.id.desc())
    return list(session.execute(q.order_by(*order).limit(limit)).scalars())


def _used(rows: list[MlServingObservation], window: Window, pinned: bool) -> WindowUsed:
    ats = [r.at for r in rows]
    return WindowUsed(
        since=window.since if pinned else (min(ats) if ats else None),
        until=window.until if pinned else (max(ats) if ats else None),
        jobs=len(rows),
        pinned=pinned,
    )


def check_version(
    session: Session,
    principal: Principal,
    version: MlModelVersion,
    *,
    settings: Settings | None = None,
    baseline: Window | None = None,
    current: Window | None = None,
    now: datetime | None = None,
    wait_notify: bool = False,
) -> DriftCheck:
    """Run one drift check of ``version`` in the caller's transaction: store the check
    (an ``ml_reports`` row, kind ``drift``), an event per drifting feature and the audit
    event; after the commit, update the metrics and post ``model.drift`` when severe."""
    now = now or utcnow()
    policy = policy_of(session, version)
    model = session.get(MlModel, version.model_id)
    kind = model.kind if model else "?"
    name = label(session, version)
    b_pinned = baseline is not None and (baseline.since or baseline.until) is not None
    b_window = baseline if baseline is not None and b_pinned else Window()
    b_rows = _observations(
        session, version.id, b_window, oldest_first=True, limit=policy.baseline_jobs
    )
    c_pinned = current is not None and (current.since or current.until) is not None
    if current is not None and c_pinned:
        c_window = current
    else:
        since = now - timedelta(hours=policy.current_hours)
        # The current window never re-reads the baseline's jobs.
        if not b_pinned and b_rows:
            since = max(since, b_rows[-1].at + timedelta(microseconds=1))
        c_window = Window(since=since, until=now + timedelta(microseconds=1))
    c_rows = _observations(
        session, version.id, c_window, oldest_first=False, limit=policy.current_jobs
    )
    scores, alpha_each = compare(b_rows, c_rows, policy)
    drifting = [s for s in scores if s.status in ("marginal", "severe")]
    if any(s.status == "severe" for s in scores):
        status = "severe"
    elif drifting:
        status = "marginal"
    elif alpha_each is None:
        status = "insufficient_data"
    else:
        status = "ok"
    hours = policy.interval_hours * (policy.marginal_interval_factor if status == "marginal" else 1)
    next_at = now + timedelta(hours=hours)
    events = [
        MlDriftEvent(
            version_id=version.id,
            engine_kind=kind,
            feature=s.feature,
            kind=s.kind,
            statistic=s.statistic,
            value=float(s.value or 0.0),
            p_value=s.p_value,
            severity=s.status,
            baseline=s.baseline,
            current=s.current,
            at=now,
        )
        for s in drifting
    ]
    session.add_all(events)
    report = MlReport(
        kind="drift",
        title=f"Drift check of {name}",
        version_id=version.id,
        created_at=now,
        created_by=principal.actor,
        summary={},
    )
    session.add(report)
    session.flush()
    view = DriftCheck(
        id=report.id,
        version_id=version.id,
        version=name,
        engine_kind=kind,
        at=now,
        status=status,
        alpha_per_feature=None if alpha_each is None else float(f"{alpha_each:.4g}"),
        baseline=_used(b_rows, b_window, b_pinned),
        current=_used(c_rows, c_window, c_pinned),
        features=scores,
        event_ids=[e.id for e in events],
        next_check_at=next_at,
        policy=policy,
    )
    report.summary = view.model_dump(mode="json")
    record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.drift_check",
        target_type="model_version",
        target_id=version.id,
        after={"check_id": report.id, "status": status, "drifting": [s.feature for s in drifting]},
    )
    url = settings.model_webhook_url if settings is not None else None
    event.listen(
        session, "after_commit", lambda _s: _after_commit(view, url, wait_notify), once=True
    )
    return view


def _after_commit(view: DriftCheck, url: str | None, wait: bool) -> None:
    """Metrics and the webhook, once the check is stored (a rolled-back check says nothing)."""
    for s in view.features:
        labels = (view.engine_kind, view.version, s.feature)
        if s.value is not None:
            MODEL_DRIFT_SCORE.labels(*labels).set(s.value)
        # Both severities exist from the first check at 0, so the alert's increase() sees
        # the first event as a step up rather than a new series.
        for severity in ("marginal", "severe"):
            MODEL_DRIFT_EVENTS.labels(*labels, severity).inc(1 if s.status == severity else 0)
    severe = [s for s in view.features if s.status == "severe"]
    log.info("model.drift_check", version=view.version, status=view.status, check=view.id)
    if severe:
        notify(
            url,
            "model.drift",
            {
                "check_id": view.id,
                "version_id": view.version_id,
                "version": view.version,
                "engine_kind": view.engine_kind,
                "severity": "severe",
                "event_ids": view.event_ids,
                "features": [
                    {
                        "feature": s.feature,
                        "kind": s.kind,
                        "statistic": s.statistic,
                        "value": s.value,
                        "p_value": s.p_value,
                        "threshold": s.severe_at,
                    }
                    for s in severe
                ],
            },
            wait=wait,
        )


def deployed_version_ids(session: Session, engine_kind: str | None = None) -> list[str]:
    """Versions serving now (stable and canary arms of every deployment), in a stable order."""
    q = select(MlDeployment.stable_version_id, MlDeployment.canary_version_id)
    if engine_kind is not None:
        q = q.where(MlDeployment.engine_kind == engine_kind)
    ids: list[str] = []
    for stable, canary in session.execute(q.order_by(MlDeployment.id)).all():
        for vid in (stable, canary):
            if vid and vid not in ids:
                ids.append(vid)
    return ids


def check_now(
    session: Session,
    principal: Principal,
    *,
    settings: Settings | None = None,
    version: str | None = None,
    engine_kind: str | None = None,
    baseline: Window | None = None,
    current: Window | None = None,
    wait_notify: bool = False,
) -> DriftCheckRun:
    """A check run by a person (``models.evaluate``): of ``version`` (id, name@3,
    name@alias), or of every version deployed for ``engine_kind``."""
    require(principal, RUN)
    baseline, current = _utc_window(baseline), _utc_window(current)
    if (version is None) == (engine_kind is None):
        raise InvalidRequest("name a version or an engine kind, not both")
    for w in (baseline, current):
        if w is not None and w.since and w.until and w.since >= w.until:
            raise InvalidRequest("a window's since must be before its until")
    if version is not None:
        versions = [resolve_version(session, version)]
    else:
        ids = deployed_version_ids(session, engine_kind)
        if not ids:
            raise NotFound(f"nothing is deployed for engine kind {engine_kind!r}")
        versions = [v for v in (session.get(MlModelVersion, i) for i in ids) if v is not None]
    checks = [
        check_version(
            session,
            principal,
            v,
            settings=settings,
            baseline=baseline,
            current=current,
            wait_notify=wait_notify,
        )
        for v in versions
    ]
    return DriftCheckRun(checks=checks)


def _utc(at: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC (the CLI's options, a naive query)."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _utc_window(w: Window | None) -> Window | None:
    return None if w is None else Window(since=_utc(w.since), until=_utc(w.until))


def latest_check(session: Session, version_id: str) -> DriftCheck | None:
    """The newest stored check of a version, if any."""
    row = session.execute(
        select(MlReport)
        .where(MlReport.kind == "drift", MlReport.version_id == version_id)
        .order_by(MlReport.created_at.desc(), MlReport.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return DriftCheck.model_validate(row.summary) if row is not None and row.summary else None


def latest_checks(session: Session, principal: Principal) -> list[DriftCheck]:
    """The newest check of every deployed version (``models.read``)."""
    require(principal, READ)
    return [c for c in (latest_check(session, v) for v in deployed_version_ids(session)) if c]


def check_due(db: Database, settings: Settings, now: datetime | None = None) -> list[DriftCheck]:
    """The scheduler's job: check every deployed version whose next check is due (never
    checked, or past the ``next_check_at`` of its last check), one transaction each."""
    now = now or utcnow()
    with db.session() as s:
        due = []
        for vid in deployed_version_ids(s):
            last = latest_check(s, vid)
            if last is None or _aware(last.next_check_at, now) <= now:
                due.append(vid)
    done = []
    for vid in due:
        try:
            with db.transaction() as s:
                version = s.get(MlModelVersion, vid)
                if version is not None:
                    done.append(check_version(s, SYSTEM, version, settings=settings, now=now))
        except CarePipeError as exc:  # e.g. a bad drift policy in the model's tags
            # One version's problem must not stop the others' checks; retried next tick.
            log.warning("model.drift_check_failed", version_id=vid, error=exc.code)
    return done


def _aware(at: datetime, like: datetime) -> datetime:
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None and like.tzinfo else at


def list_events(
    session: Session,
    principal: Principal,
    *,
    version: str | None = None,
    engine_kind: str | None = None,
    severity: str | None = None,
    feature: str | None = None,
    since: datetime | None = None,
    before: int | None = None,
    limit: int = 50,
) -> DriftEventPage:
    """Stored drift events, newest first, filtered (``models.read``)."""
    require(principal, READ)
    if severity is not None and severity not in ("marginal", "severe"):
        raise InvalidRequest("severity is marginal or severe", details={"severity": severity})
    limit = max(1, min(limit, 500))
    e = MlDriftEvent
    q = select(e)
    if version is not None:
        q = q.where(e.version_id == resolve_version(session, version).id)
    for column, value in (
        (e.engine_kind, engine_kind),
        (e.severity, severity),
        (e.feature, feature),
    ):
        if value is not None:
            q = q.where(column == value)
    if since is not None:
        q = q.where(e.at >= _utc(since))
    if before is not None:
        q = q.where(e.id < before)
    rows = list(session.execute(q.order_by(e.id.desc()).limit(limit + 1)).scalars())
    labels: dict[str, str] = {}
    items = []
    for row in rows[:limit]:
        if row.version_id not in labels:
            v = session.get(MlModelVersion, row.version_id)
            labels[row.version_id] = label(session, v) if v else row.version_id
        items.append(
            DriftEventView(
                id=row.id,
                version_id=row.version_id,
                version=labels[row.version_id],
                engine_kind=row.engine_kind,
                feature=row.feature,
                kind=row.kind,
                statistic=row.statistic,
                value=row.value,
                p_value=row.p_value,
                severity=row.severity,
                baseline=row.baseline,
                current=row.current,
                at=row.at,
            )
        )
    return DriftEventPage(
        items=items, next_before=rows[limit - 1].id if len(rows) > limit else None
    )
