"""The "Model quality" console page and the report behind it, on SQLite and PostgreSQL:
job results and correction records grouped by time bucket and model version x dialect,
drawn as server-side SVG; who may open it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from carepipe.core.auth import PERMISSIONS, Principal
from carepipe.core.errors import PermissionDenied
from carepipe.core.models import Job
from carepipe.ops import users
from carepipe.ops.model_quality import (
    _CORRECTIONS,
    CorrectionPoint,
    correction_points,
    model_quality_report,
)
from carepipe.pipelines.ingest import submit
from carepipe.schema import metadata
from carepipe.web.pages.model_quality import METRICS, charts
from tests.support.console import FAST_HASHER, make_user
from tests.support.console_http import sign_in

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the `clock` fixture's time
MV_A = "faster-whisper/base@sha256:905e5bf8336b/cpu-int8"
MV_B = "faster-whisper/base@sha256:905e5bf8336b/cuda-float16"
ML = Principal(kind="user", id="mia", roles=("ml_engineer",))


def _job(db, blobs, *, at, asr=None, status="succeeded", tenant="clinic") -> str:
    job_id = submit(
        db, blobs, tenant=tenant, pipeline="scribe", payload=b"RIFF", content_type="audio/wav"
    ).job_id
    with db.transaction() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(created_at=at, status=status, result={"asr": asr} if asr else None)
        )
    return job_id


def _asr(mv, dialect, rtf, *, snr=25.0, low=False, hallucination=False, conf=0.9):
    return {
        "model_version": mv,
        "dialect": dialect,
        "rtf": rtf,
        "confidence": conf,
        "snr_db": snr,
        "low_snr": low,
        "hallucination_suspected": hallucination,
    }


@pytest.fixture
def seeded(db, blobs, clock):
    """Four hours of jobs: A/en-IN every hour, B/en-GB once, one failure, one old job."""
    for h in range(1, 5):
        at = NOW - timedelta(hours=h, minutes=10)
        _job(db, blobs, at=at, asr=_asr(MV_A, "en-IN", 0.2 * h, low=h == 1))
    _job(db, blobs, at=NOW - timedelta(minutes=30), asr=_asr(MV_B, "en-GB", 0.05, snr=8.0,
         low=True, hallucination=True))  # fmt: skip
    _job(db, blobs, at=NOW - timedelta(minutes=20), status="dead")
    _job(db, blobs, at=NOW - timedelta(days=3), asr=_asr(MV_A, "en-IN", 9.0))  # outside 24 h
    _job(db, blobs, at=NOW - timedelta(hours=2), asr=_asr(MV_A, "en-IN", 0.1), tenant="other")


def test_the_report_groups_jobs_and_corrections_by_bucket_and_series(db, seeded):
    corrections = [
        CorrectionPoint(NOW - timedelta(hours=1, minutes=5), MV_A, "en-IN", 0.10, 2),
        CorrectionPoint(NOW - timedelta(hours=1, minutes=1), MV_A, "en_in", 0.30, 0),
        CorrectionPoint(NOW - timedelta(days=2), MV_A, "en-IN", 0.9, 9),  # outside the window
    ]
    with db.session() as s:
        report = model_quality_report(s, ML, hours=24, corrections=corrections)
    assert report.hours == 24 and report.bucket_seconds == 3600
    assert len(report.bucket_starts) == 24 and report.until > NOW >= report.bucket_starts[-1]
    by = {(x.model_version, x.dialect): x for x in report.series}
    assert set(by) == {(MV_A, "en-IN"), (MV_B, "en-GB"), ("unknown", "unknown")}
    a = by[(MV_A, "en-IN")]
    assert a.totals.jobs == 5  # four hours of tenant clinic and one of tenant other
    # RTFs 0.1 (tenant other), 0.2, 0.4, 0.6, 0.8: p95 interpolated between 0.6 and 0.8.
    assert a.totals.rtf_p95 == pytest.approx(0.76)
    assert a.totals.corrections == 2 and a.totals.wer_mean == pytest.approx(0.2)
    assert a.totals.edits_per_note == 1.0
    assert a.totals.low_snr_share == pytest.approx(0.2)
    # Hour buckets: 07:50, 08:50, 09:50, then 10:00 (tenant other) and 10:50 together.
    filled = [b for b in a.buckets if b.jobs]
    assert [b.start.hour for b in filled] == [7, 8, 9, 10]
    assert sum(b.corrections for b in a.buckets) == 2
    b = by[(MV_B, "en-GB")]
    assert b.totals.hallucination_share == 1.0 and b.totals.snr_mean == 8.0
    assert by[("unknown", "unknown")].totals.failed == 1


def test_a_tenant_bound_principal_sees_its_own_tenant_only(db, seeded):
    bound = Principal(kind="user", id="t", roles=("data_scientist",), tenant="other")
    with db.session() as s:
        report = model_quality_report(s, bound, hours=24, corrections=[])
    assert [(x.model_version, x.totals.jobs) for x in report.series] == [(MV_A, 1)]


def test_the_report_needs_models_read(db):
    with db.session() as s, pytest.raises(PermissionDenied):
        model_quality_report(s, Principal(kind="user", id="c", roles=("clinician",)))


def test_correction_records_are_read_from_the_review_table(db):
    # The page reads R's table by name; its columns must exist there as named.
    real = metadata.tables["review_corrections"]
    for col in _CORRECTIONS.c:
        assert col.name in real.c, col.name
    with db.session() as s:
        points, cut = correction_points(s, ML, NOW - timedelta(days=1), NOW)
    assert points == [] and cut is False


def test_charts_are_svg_geometry_with_gaps_where_nothing_was_measured(db, seeded):
    with db.session() as s:
        report = model_quality_report(s, ML, hours=24, corrections=[])
    drawn = {c.key: c for c in charts(report)}
    assert set(drawn) == {m.key for m in METRICS}
    rtf = drawn["rtf_p95"]
    a = next(line for line in rtf.lines if line.label.startswith(MV_A))
    # Four consecutive hours: one unbroken polyline of four points, inside the plot area.
    assert len(a.segments) == 1 and len(a.segments[0].split()) == 4
    x0, y0, x1, y1 = rtf.plot
    for x, y, _tip in a.dots:
        assert x0 <= x <= x1 and y0 <= y <= y1
    # The RTF = 1.0 alert line is drawn; WER has nothing yet and says so.
    assert rtf.threshold is not None and drawn["wer"].empty


def test_the_page_for_each_role(client, db, seeded):
    previous = users.use_password_hasher(FAST_HASHER)
    try:
        for role in users.STAFF_ROLES:
            make_user(db, f"u_{role}", role)
    finally:
        users.use_password_hasher(previous)
    for role in users.STAFF_ROLES:
        client.cookies.clear()
        sign_in(client, f"u_{role}")
        r = client.get("/console/model-quality")
        allowed = "models.read" in PERMISSIONS[role]
        assert r.status_code == (200 if allowed else 403), (role, r.status_code)
        nav = 'href="/console/model-quality"' in client.get("/console/").text
        assert nav == allowed, role
    # Compliance reads models since issue 15: it approves versions for production.
    assert {r for r in users.STAFF_ROLES if "models.read" in PERMISSIONS[r]} == {
        "admin",
        "ops",
        "ml_engineer",
        "data_scientist",
        "compliance",
    }
    # As the last allowed role: the page itself.
    client.cookies.clear()
    sign_in(client, "u_ml_engineer")
    r = client.get("/console/model-quality?hours=6")
    assert r.status_code == 200
    page = r.text
    assert (
        "Content-Security-Policy" in r.headers
        and "script-src 'self'" in r.headers["Content-Security-Policy"]
    )
    main = page[page.index("<main") : page.index("</main>")]
    assert "<script" not in main and " style=" not in main and "http" not in main.lower()
    assert main.count("<svg viewBox") == len(METRICS)
    assert MV_A in main and MV_B in main and 'aria-current="page">6 hours' in main
    # An unknown window falls back to 24 hours; the 7-day window renders too.
    assert 'aria-current="page">24 hours' in client.get("/console/model-quality?hours=5").text
    assert client.get("/console/model-quality?hours=168").status_code == 200


def test_an_empty_window_says_so(client, db, clock):
    previous = users.use_password_hasher(FAST_HASHER)
    try:
        make_user(db, "dee", "data_scientist")
    finally:
        users.use_password_hasher(previous)
    sign_in(client, "dee")
    r = client.get("/console/model-quality")
    assert r.status_code == 200 and 'data-testid="mq-empty"' in r.text
