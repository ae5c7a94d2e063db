"""The Flags console over HTTP, on SQLite and PostgreSQL: four eyes as the page shows them,
read-only roles, the kill switch, refusals on the page, and the adoption and error view
from real jobs and real evaluations (the browser test covers create, preview, change log
and rollback)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from openfeature.evaluation_context import EvaluationContext

from carepipe.core.auth import SYSTEM
from carepipe.core.models import Job
from carepipe.flags import service
from carepipe.flags.definition import FlagDefinition
from carepipe.flags.jobs import JobFlag, record_variants
from carepipe.flags.provider import carepipe_provider, flag_client, release_provider
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.worker import Worker
from tests.support.console import make_user
from tests.support.console_http import sign_in
from tests.support.waiting import wait_until

KEY = "note-engine"
TENANT = "clinic-a"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Adoption reads join and bucket timestamps: both databases, as in tests/conftest.py."""
    import shutil

    if request.param == "sqlite":
        target = tmp_path / "carepipe.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    from tests.conftest import _truncate_pg

    url = request.getfixturevalue("pg_schema_url")
    _truncate_pg(url)
    return url


def _simple(percent: int, justification: str = "", **extra: str) -> dict[str, str]:
    return {
        "mode": "simple",
        "kind": "boolean",
        "variants": '{"on": true, "off": false}',
        "default_variant": "off",
        "rollout_variant": "on",
        "percent": str(percent),
        "tenants": TENANT,
        "bucket_by": "targetingKey",
        "justification": justification,
        **extra,
    }


def _post(client: TestClient, csrf: str, path: str, data: dict[str, str]):
    return client.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)


def _live(db) -> FlagDefinition:
    with db.session() as s:
        return service.get_flag(s, SYSTEM, KEY).definition


def test_four_eyes_kill_switch_and_read_only_roles_on_the_page(app, db):
    for name, role in (("pat", "product_ops"), ("quinn", "product_ops"), ("olive", "ops")):
        make_user(db, name, role)
    with TestClient(app) as pat, TestClient(app) as quinn, TestClient(app) as olive:
        pat_csrf, quinn_csrf = sign_in(pat, "pat"), sign_in(quinn, "quinn")
        sign_in(olive, "olive")

        # No justification: refused on the page, the form comes back as typed.
        r = _post(pat, pat_csrf, "/console/flags", {"key": KEY, **_simple(10)})
        assert r.status_code == 422 and "justification is required" in r.text
        assert 'value="clinic-a"' in r.text

        # A rollout to everyone, previewed for the known tenants, then for one typed in.
        everyone = {"key": KEY, **_simple(10), "tenants": "", "do": "preview"}
        r = _post(pat, pat_csrf, "/console/flags", everyone)
        assert r.status_code == 200 and 'data-testid="flag-preview"' in r.text
        r = _post(pat, pat_csrf, "/console/flags", {**everyone, "preview_tenants": "clinic-b"})
        share = re.search(
            r'data-label="clinic-b">.*?data-variant="on" data-share="([0-9.]+)"', r.text, re.S
        )
        assert share and 0.08 <= float(share.group(1)) <= 0.12
        with db.session() as s:
            assert service.list_flags(s, SYSTEM) == []  # a preview saves nothing

        data = {"key": KEY, "requires_approval": "true", **_simple(10, "canary")}
        r = _post(pat, pat_csrf, "/console/flags", data)
        assert (
            r.status_code == 303 and r.headers["location"] == f"/console/flags/{KEY}?done=created"
        )

        # A change of a four-eyes flag waits; its requester cannot approve it.
        r = _post(pat, pat_csrf, f"/console/flags/{KEY}", {**_simple(20, "widen"), "based_on": "1"})
        assert r.headers["location"].endswith("done=pending")
        page = pat.get(f"/console/flags/{KEY}").text
        assert 'data-testid="pending-change"' in page and 'data-testid="approve"' not in page
        assert _live(db).rules[0].rollout[0].weight == 10  # type: ignore[index]

        # Another product_ops person sees the diff and approves it: live as version 2.
        page = quinn.get(f"/console/flags/{KEY}").text
        assert re.search(r'class="add">\+\s+&#34;weight&#34;: 20.0', page)
        assert 'data-testid="approve"' in page
        r = _post(quinn, quinn_csrf, f"/console/flags/{KEY}/approve", {"version": "2"})
        assert r.headers["location"].endswith("done=approved")
        assert _live(db).rules[0].rollout[0].weight == 20  # type: ignore[index]
        log = quinn.get(f"/console/flags/{KEY}").text
        assert re.search(r'data-version="2" data-status="live".*?user:quinn', log, re.S)

        # An edit made on version 1 is refused now that version 2 is live, form kept.
        stale = {**_simple(30, "stale"), "based_on": "1"}
        r = _post(pat, pat_csrf, f"/console/flags/{KEY}", stale)
        assert r.status_code == 409 and "is at version 2, not 1" in r.text
        assert 'id="f-percent" name="percent" value="30"' in r.text

        # The kill switch is immediate even on a four-eyes flag; the list shows it.
        r = _post(
            pat,
            pat_csrf,
            f"/console/flags/{KEY}/enabled",
            {"enabled": "false", "justification": "errors"},
        )
        assert r.headers["location"].endswith("done=killed")
        assert _live(db).enabled is False
        assert "badge-killed" in pat.get("/console/flags").text

        # ops reads everything, and gets no form (the service would refuse it anyway).
        for path in ("/console/flags", f"/console/flags/{KEY}"):
            r = olive.get(path)
            assert r.status_code == 200 and KEY in r.text
            assert 'data-testid="flag-editor"' not in r.text and "/enabled" not in r.text
            assert "/rollback" not in r.text


def test_adoption_shows_evaluations_and_job_outcomes_per_variant(app, db, blobs, settings):
    make_user(db, "pat", "product_ops")
    definition = {
        "kind": "boolean",
        "variants": {"on": True, "off": False},
        "default_variant": "off",
        "rules": [
            {
                "conditions": [{"attribute": "tenant", "values": [TENANT]}],
                "rollout": [{"variant": "on", "weight": 10}, {"variant": "off", "weight": 90}],
            }
        ],
    }
    with db.transaction() as s:
        service.create_flag(s, SYSTEM, KEY, definition, justification="canary")

    # Real evaluations through the OpenFeature client, written by the provider's flush.
    client = flag_client(db)
    try:
        got = [
            client.get_boolean_value(KEY, False, EvaluationContext(f"user-{i}", {"tenant": TENANT}))
            for i in range(400)
        ]
        carepipe_provider(db).flush()
    finally:
        release_provider(db)
    on = sum(got)

    # Real jobs run by a worker: under "on" one succeeds and one fails; under "off" 3 succeed.
    plan = [("on", "ok"), ("on", "permanent"), ("off", "ok"), ("off", "ok"), ("off", "ok")]
    jobs = []
    for i, (_, outcome) in enumerate(plan):
        doc = {"fail": outcome} if outcome != "ok" else {"sleep": 0.05}
        jobs.append(
            submit(
                db, blobs, tenant=TENANT, pipeline="two_step", content_type="application/json",
                payload=json.dumps({**doc, "n": i}).encode(),
            ).job_id
        )  # fmt: skip
    with db.transaction() as s:  # what a stage's handoff commits (flags.jobs)
        for job_id, (variant, _) in zip(jobs, plan, strict=True):
            served = [JobFlag(KEY, variant == "on", variant)]
            record_variants(job_id, TENANT, "two_step", served)(s)
    worker = Worker(db, blobs, settings)
    worker.start_background()

    def finished() -> bool:
        with db.session() as s:
            return all(s.get(Job, j).status in ("succeeded", "dead") for j in jobs)  # type: ignore[union-attr]

    try:
        wait_until(finished, timeout=60, interval=0.1, what="the jobs to finish")
    finally:
        worker.stop()
        worker.stopped.wait(10)

    with TestClient(app) as console:
        sign_in(console, "pat")
        page = console.get(f"/console/flags/{KEY}").text
        hour = console.get(f"/console/flags/{KEY}?window=1h").text
    assert 'data-testid="evaluations-chart"' in page
    # The caption's totals are the evaluations made above, split as the client saw them.
    assert f"<code>off</code> {400 - on}, <code>on</code> {on}." in page
    assert 20 <= on <= 60  # 10 % of 400, give or take
    rows = dict(re.findall(r'data-variant="(on|off)">(.*?)</tr>', page, re.S))
    assert re.search(r'data-testid="jobs">2<.*data-testid="failure-rate">50.0%<', rows["on"], re.S)
    assert re.search(r'data-testid="jobs">3<.*data-testid="failure-rate">0.0%<', rows["off"], re.S)
    assert " ms</td>" in rows["off"]  # latency of finished jobs
    assert 'aria-current="page">last 1h' in hour and 'data-testid="evaluations-chart"' in hour
