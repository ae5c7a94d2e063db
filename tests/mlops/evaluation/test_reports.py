"""Performance reports of a version over a time range (``POST /v1/model-reports``) from the
served-job observations, with a day of failures flagged as an anomaly in JSON, HTML and
PDF; and recurring reports (``/v1/model-report-schedules`` + ``run_due_schedules``)."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdfium2
from sqlalchemy import select

from carepipe.mlops.models import MlReport, MlReportSchedule, MlServingObservation
from carepipe.mlops.reports import run_due_schedules
from tests.mlops.factories import make_version

BAD_DAY = 4  # days back from "now" (2026-03-01 12:00 UTC, the frozen clock)


def _observations(db, version_id, now):
    with db.transaction() as s:
        for day in range(1, 7):
            for k in range(20):
                failed = k < (10 if day == BAD_DAY else 1)
                s.add(
                    MlServingObservation(
                        deployment_id="d" * 32,
                        version_id=version_id,
                        arm="stable",
                        job_id=f"j{day}{k}",
                        tenant="clinic-a" if k % 2 else "clinic-b",
                        at=now - timedelta(days=day, hours=k % 5),
                        ok=not failed,
                        error_code="asr_failed" if failed else None,
                        latency_ms=900.0 + 10 * k,
                        rtf=0.2 + 0.001 * k,
                        confidence=0.80 + 0.002 * (k % 3),
                        features={"dialect": "en-gb" if k % 3 else "en-us"},
                    )
                )


def test_performance_report_flags_the_bad_day_in_json_html_and_pdf(client, people, db, clock):
    with db.transaction() as s:
        v = make_version(s, "whisper-base", "asr", {"asr_model": ""}, stage="production")
        vid = v.id
    now = clock.now()
    _observations(db, vid, now)
    body = {"kind": "performance", "version": "whisper-base@1", "hours": 168}
    assert client.post("/v1/model-reports", headers=people.otto, json=body).status_code == 403
    r = client.post("/v1/model-reports", headers=people.dana, json=body)
    assert r.status_code == 201, r.text
    report = r.json()
    bad = (now - timedelta(days=BAD_DAY)).strftime("%Y-%m-%d")
    assert report["summary"]["Jobs served"] == "120"
    assert report["summary"]["Anomalous buckets"] == bad  # only the bad day

    data = client.get(report["links"]["json"], headers=people.otto).json()
    buckets = data["data"]["buckets"]
    assert len(buckets) == 8  # daily over 7 days (range starts mid-day)
    flagged = [buckets[i] for i in data["data"]["anomalies"]]
    assert [b["start"][:10] for b in flagged] == [bad] and flagged[0]["failure_rate"] == 0.5
    slices = {(row[0], row[1]): row[2] for row in data["tables"][0]["rows"]}
    assert slices[("tenant", "clinic-a")] == 60 and ("dialect", "en-gb") in slices

    html = client.get(report["links"]["html"], headers=people.otto).text
    assert html.count("<svg") == 3 and f"{bad}: 50.0% (anomaly)" in html
    pdf = client.get(report["links"]["pdf"], headers=people.otto).content
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf))
    text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert "Performance of whisper-base@1" in text and bad in text

    # A range that ends before it starts is refused.
    r = client.post(
        "/v1/model-reports",
        headers=people.dana,
        json={**body, "start": "2026-03-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request"


def test_a_schedule_writes_a_report_of_the_production_version_when_due(
    client, people, db, blobs, clock
):
    with db.transaction() as s:
        vid = make_version(s, "whisper-base", "asr", {}, stage="production").id
    _observations(db, vid, clock.now())
    r = client.post(
        "/v1/model-report-schedules",
        headers=people.dana,
        json={"engine_kind": "asr", "every_hours": 24, "range_hours": 60},
    )
    assert r.status_code == 201, r.text
    assert run_due_schedules(db, blobs) == 1
    assert run_due_schedules(db, blobs) == 0  # not due again for a day
    clock.advance(hours=25)
    assert run_due_schedules(db, blobs) == 1
    with db.session() as s:
        schedule = s.execute(select(MlReportSchedule)).scalar_one()
        rows = s.execute(select(MlReport).order_by(MlReport.created_at)).scalars().all()
        assert [r.version_id for r in rows] == [vid, vid]
        assert schedule.last_report_id == rows[-1].id
        assert rows[0].summary["Jobs served"] == "40"  # 60 h: days 1 and 2 in range
    got = client.get(f"/v1/model-reports/{rows[-1].id}", headers=people.otto)
    assert got.status_code == 200 and got.json()["kind"] == "performance"
