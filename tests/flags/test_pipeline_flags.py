"""Flags used by the pipelines, through the front door: orders and consultations POSTed
over HTTP for a tenant a flag is on for and one it is off for, a real worker, and what
each partner reads back; the variants each job ran under are recorded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from carepipe.flags.models import FlagEvaluationCount, JobFlagVariant
from tests.flags._support import (
    boolean_flag,
    define,
    engine_flag,
    partner_auth,
    released_provider,  # noqa: F401 - fixture
    remote,  # noqa: F401 - fixture
)
from tests.pipelines.conftest import run_jobs  # noqa: F401 - fixture

AUDIO = Path(__file__).resolve().parents[1] / "data" / "scribe" / "c01.mp3"
ORDER = "Start metformin 500 mg twice daily, order HbA1c, follow up in 3 months"


def _post(client, auth) -> str:
    r = client.post("/v1/jobs", json={"pipeline": "orders", "payload": ORDER}, headers=auth)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_document_summaries_only_for_the_tenant_the_flag_is_on_for(
    db,
    client,
    run_jobs,  # noqa: F811 - fixture
    released_provider,  # noqa: F811 - fixture
):
    define(db, "document-summaries", boolean_flag(tenants=["acme"]))
    acme, globex = partner_auth(db, "acme"), partner_auth(db, "globex")
    jobs = {"acme": _post(client, acme), "globex": _post(client, globex)}
    run_jobs(list(jobs.values()))  # the worker flushes its evaluation counts as it stops

    on = client.get(f"/v1/jobs/{jobs['acme']}", headers=acme).json()
    off = client.get(f"/v1/jobs/{jobs['globex']}", headers=globex).json()
    assert on["status"] == off["status"] == "succeeded"
    summary = on["result"]["summary"]
    assert "metformin 500 mg" in summary and "HbA1c" in summary and "3 months" in summary
    assert "summary" not in off["result"]
    assert on["result"]["flags"] == {"document-summaries": "on"}
    assert off["result"]["flags"] == {"document-summaries": "off"}

    with db.session() as s:
        rows = s.execute(
            select(JobFlagVariant.job_id, JobFlagVariant.flag_key, JobFlagVariant.variant)
        ).all()
        counted = s.execute(
            select(FlagEvaluationCount.variant, FlagEvaluationCount.count).where(
                FlagEvaluationCount.flag_key == "document-summaries"
            )
        ).all()
    assert sorted(rows) == sorted(
        [
            (jobs["acme"], "document-summaries", "on"),
            (jobs["globex"], "document-summaries", "off"),
        ]
    )
    assert sorted(counted) == [("off", 1), ("on", 1)]


def test_scribe_note_engine_and_review_follow_the_flags_per_tenant(
    db,
    client,
    settings,
    remote,  # noqa: F811 - fixture
    run_jobs,  # noqa: F811 - fixture
    released_provider,  # noqa: F811 - fixture
):
    # acme: the LLM note engine and a clinician's review; globex: the process's rules
    # engine, no review, and the "Document summaries" beta.
    define(db, "note-engine", engine_flag(tenants=["acme"]))
    define(db, "review-required", boolean_flag(tenants=["acme"]))
    define(db, "document-summaries", boolean_flag(tenants=["globex"]))
    auth = {t: partner_auth(db, t) for t in ("acme", "globex")}
    jobs = {}
    for tenant, headers in auth.items():
        r = client.post(
            "/v1/jobs",
            headers=headers,
            data={"pipeline": "scribe"},
            files={"file": ("visit.mp3", AUDIO.read_bytes(), "audio/mpeg")},
        )
        assert r.status_code == 202, r.text
        jobs[tenant] = r.json()["id"]
    remote_engines = {"asr_engine": "openai", "asr_url": remote.url, "llm_url": remote.url}
    run_jobs(list(jobs.values()), settings_override=settings.model_copy(update=remote_engines))

    acme = client.get(f"/v1/jobs/{jobs['acme']}", headers=auth["acme"]).json()
    globex = client.get(f"/v1/jobs/{jobs['globex']}", headers=auth["globex"]).json()
    assert acme["status"] == "waiting_review", acme
    assert acme["result"]["note"]["model_version"].startswith("openai/")
    assert acme["result"]["flags"] == {"note-engine": "openai-chat", "review-required": "on"}
    assert globex["status"] == "succeeded", globex
    assert globex["result"]["note"]["model_version"].startswith("rules/")
    assert globex["result"]["review"]["status"] == "not_required"
    assert globex["result"]["flags"] == {
        "note-engine": "rules",
        "review-required": "off",
        "document-summaries": "on",
    }
    summary = globex["result"]["summary"]  # the orders and findings, never the patient
    assert "amlodipine" in summary.lower() and "Patient" not in summary
    assert "summary" not in acme["result"]
    # Only acme's note went to the LLM.
    assert remote.paths.count("/v1/chat/completions") == 1


def test_a_percentage_rollout_splits_a_tenants_jobs_unless_it_buckets_by_tenant(
    db,
    client,
    run_jobs,  # noqa: F811 - fixture
    released_provider,  # noqa: F811 - fixture
):
    # Each job is its own targeting key: half of acme's orders get the summary, and
    # each job's result agrees with the variant recorded for it. Bucketed by tenant, the
    # same rollout gives every job of the tenant one variant.
    define(db, "document-summaries", boolean_flag(tenants=["acme"], share=50))
    acme = partner_auth(db, "acme")
    split = [_post(client, acme) for _ in range(16)]
    by_tenant = boolean_flag(tenants=["acme"], share=50)
    by_tenant["rules"][0]["bucket_by"] = "tenant"
    define(db, "document-summaries-by-tenant", by_tenant)
    run_jobs(split)

    with db.session() as s:
        recorded = dict(
            s.execute(
                select(JobFlagVariant.job_id, JobFlagVariant.variant).where(
                    JobFlagVariant.flag_key == "document-summaries"
                )
            ).all()
        )
    results = {j: client.get(f"/v1/jobs/{j}", headers=acme).json()["result"] for j in split}
    assert set(recorded) == set(split)
    # 2 x 0.5^16: the chance that 16 random job ids all land on one side.
    assert set(recorded.values()) == {"on", "off"}
    for job_id, result in results.items():
        assert result["flags"] == {"document-summaries": recorded[job_id]}
        assert ("summary" in result) == (recorded[job_id] == "on")

    from carepipe.flags.jobs import job_flag

    variants = {
        job_flag(
            db,
            "document-summaries-by-tenant",
            False,
            job_id=j,
            tenant="acme",
            pipeline="orders",
            stage="fhir",
        ).variant
        for j in split
    }
    assert len(variants) == 1
