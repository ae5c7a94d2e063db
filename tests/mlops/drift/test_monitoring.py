"""A version's monitoring series on both databases: jobs bucketed by hour, failure rate,
latency percentiles, RTF and confidence from its serving observations, and WER and edits
per note from the clinicians' corrections of its jobs (joined on the job id: a correction
of another version's job does not count), with the window's totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest, PermissionDenied
from carepipe.mlops.models import MlServingObservation
from carepipe.mlops.monitoring import monitor_version
from carepipe.pipelines.ingest import submit
from carepipe.review.models import Review, ReviewCorrection

NOW = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
MIA = Principal(kind="user", id="mia", roles=("ml_engineer",))


def _obs(vid: str, job_id: str, at: datetime, ok: bool, latency: float) -> MlServingObservation:
    return MlServingObservation(
        deployment_id="d" * 32,
        version_id=vid,
        arm="stable",
        job_id=job_id,
        tenant="clinic-a",
        at=at,
        ok=ok,
        error_code=None if ok else "asr_timeout",
        latency_ms=latency,
        rtf=0.2,
        confidence=0.9,
        features={},
    )


def _corrected(db, blobs, job_note: str, wer: float, edits: dict[str, int], at: datetime) -> str:
    """A real job with a review and its correction record; returns the job id."""
    job_id = submit(
        db,
        blobs,
        tenant="clinic-a",
        pipeline="echo",
        payload=job_note.encode(),
        content_type="text/plain",
    ).job_id
    with db.transaction() as s:
        review = Review(
            job_id=job_id,
            tenant="clinic-a",
            status="approved",
            created_at=at,
            updated_at=at,
            due_at=at,
            resume_stage="fhir",
            resume_queue="fhir",
            transcript_artifact_id="t",
            note_artifact_id="n",
            content_key="k",
        )
        s.add(review)
        s.flush()
        s.add(
            ReviewCorrection(
                review_id=review.id,
                job_id=job_id,
                tenant="clinic-a",
                created_at=at,
                wer=wer,
                reference_words=100,
                substitutions=1,
                insertions=0,
                deletions=0,
                item_edits=edits,
                model_versions={"asr": "faster-whisper/base"},
                dialect="en-IN",
                audio={},
                content_key="k",
            )
        )
    return job_id


def test_buckets_failures_latency_and_correction_wer(db, blobs, deploy, store):
    vid = deploy()
    other = deploy(name="note-rules", kind="note")
    hour = NOW.replace(minute=0)
    rows = []
    # Hour -2: 10 jobs, 8 failed; hour -1: 4 jobs and the corrected one, none failed.
    for i in range(10):
        rows.append(
            _obs(
                vid,
                f"a{i:031d}",
                hour - timedelta(hours=2) + timedelta(minutes=i),
                i < 2,
                100.0 * (i + 1),
            )
        )
    for i in range(4):
        rows.append(
            _obs(vid, f"b{i:031d}", hour - timedelta(hours=1) + timedelta(minutes=i), True, 50.0)
        )
    corrected = _corrected(
        db, blobs, "one", 0.2, {"medication": 2, "vital": 1}, hour - timedelta(minutes=30)
    )
    rows.append(_obs(vid, corrected, hour - timedelta(minutes=40), True, 50.0))
    elsewhere = _corrected(db, blobs, "two", 0.9, {"medication": 5}, hour - timedelta(minutes=20))
    rows.append(_obs(other, elsewhere, hour - timedelta(minutes=40), True, 50.0))
    store(rows)

    with db.session() as s:
        series = monitor_version(s, MIA, "whisper-base@1", hours=6, bucket="hour", now=NOW)
    assert series.version == "whisper-base@1" and len(series.buckets) == 6
    assert series.buckets[-1].start == hour  # the bucket of now is the last
    by_start = {b.start: b for b in series.buckets}
    two_ago = by_start[hour - timedelta(hours=2)]
    assert (two_ago.jobs, two_ago.failed, two_ago.failure_rate) == (10, 8, 0.8)
    assert two_ago.latency_p50_ms == pytest.approx(550.0)
    assert two_ago.latency_p99_ms == pytest.approx(991.0)
    last_hour = by_start[hour - timedelta(hours=1)]
    assert (last_hour.jobs, last_hour.failed, last_hour.corrections) == (5, 0, 1)
    assert last_hour.wer_mean == 0.2 and last_hour.edits_per_note == 3.0
    assert series.totals.jobs == 15 and series.totals.failed == 8
    assert series.totals.corrections == 1 and series.totals.wer_mean == 0.2
    assert series.totals.rtf_mean == 0.2 and series.totals.confidence_mean == 0.9
    assert by_start[hour - timedelta(hours=5)].jobs == 0
    assert by_start[hour - timedelta(hours=5)].failure_rate is None


def test_bad_windows_and_roles_are_refused(db, deploy):
    deploy()
    with db.session() as s:
        with pytest.raises(InvalidRequest):
            monitor_version(s, MIA, "whisper-base@1", bucket="week")
        with pytest.raises(InvalidRequest):
            monitor_version(s, MIA, "whisper-base@1", hours=24 * 32, bucket="day")
        with pytest.raises(PermissionDenied):
            monitor_version(
                s, Principal(kind="user", id="c", roles=("clinician",)), "whisper-base@1"
            )
