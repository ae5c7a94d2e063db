"""Product ops runs a canary flag in a real browser (Playwright + Debian's Chromium) against
a real uvicorn server and worker: create a 10 % rollout for one tenant, see who gets what
before saving, save with a justification, read the change log, widen it, roll back to
version 1, and watch adoption and errors per variant.

Saves ``flag-preview.png``, ``flags.png`` and ``flag-adoption.png`` (``make screenshots``
writes them to docs/screenshots/).
"""

from __future__ import annotations

import json

import pytest
from openfeature.evaluation_context import EvaluationContext

from carepipe.core.models import Job
from carepipe.flags.jobs import JobFlag, record_variants
from carepipe.flags.provider import carepipe_provider, flag_client, release_provider
from carepipe.pipelines.ingest import submit
from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, overflow, sign_in, wait_for
from tests.support.screenshots import screenshot_dir

expect = pytest.importorskip("playwright.sync_api").expect

KEY = "document-summaries"
TENANT = "clinic-a"


def _fits(page) -> None:
    got = overflow(page)
    assert got["scrollWidth"] <= got["innerWidth"] and not got["wide"], got


def _share(page, label: str, variant: str) -> float:
    cell = page.locator(
        f'[data-testid="preview-row"][data-label="{label}"] [data-variant="{variant}"]'
    )
    return float(cell.get_attribute("data-share")) if cell.count() else 0.0


def _live_json(page) -> dict:
    return json.loads(page.get_by_test_id("live-definition").inner_text())


def _seed_adoption(db, blobs) -> None:
    """Real evaluations through the OpenFeature client (flushed by the provider) and real
    jobs run by the server's worker, each recorded under the variant its tenant's user got."""
    client = flag_client(db)
    try:
        variants = [
            client.get_boolean_details(
                KEY, False, EvaluationContext(f"u{i}", {"tenant": TENANT})
            ).variant
            for i in range(300)
        ]
        carepipe_provider(db).flush()
    finally:
        release_provider(db)
    # Three canary jobs (the first fails: its errors must show beside the control's) and
    # six control jobs; the canary's are slower.
    picked = [v for v in variants if v == "on"][:3] + [v for v in variants if v == "off"][:6]
    jobs = []
    for i, variant in enumerate(picked):
        doc = {"fail": "permanent"} if i == 0 else {"sleep": 0.08 if variant == "on" else 0.02}
        job = submit(
            db, blobs, tenant=TENANT, pipeline="two_step", content_type="application/json",
            payload=json.dumps({**doc, "n": i}).encode(),
        ).job_id  # fmt: skip
        jobs.append((job, variant))
    with db.transaction() as s:  # what a stage's handoff commits (flags.jobs)
        for job, variant in jobs:
            record_variants(job, TENANT, "two_step", [JobFlag(KEY, variant == "on", variant)])(s)

    def done() -> bool:
        with db.session() as s:
            return all(s.get(Job, j).status in ("succeeded", "dead") for j, _ in jobs)  # type: ignore[union-attr]

    wait_for(done, timeout=60)


def test_product_ops_rolls_out_a_flag_and_rolls_it_back(settings, db, blobs):
    shots = screenshot_dir()
    make_user(db, "pat", "product_ops")
    with console_server(settings, db, blobs) as base, chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "pat")
        page.get_by_role("link", name="Flags").click()
        expect(page.get_by_role("heading", name="Feature flags")).to_be_visible()

        # -- create: 10 % of clinic-a's users get "on"; preview before saving
        page.get_by_label("Key").fill(KEY)
        page.locator("#f-tenants").fill(TENANT)
        page.get_by_label("Rollout share (%)").fill("10")
        page.get_by_label("Description").fill("Reverse summary of orders and notes (beta)")
        with page.expect_navigation():
            page.get_by_test_id("preview").click()
        expect(page.get_by_test_id("flag-preview")).to_be_visible()
        assert 0.08 <= _share(page, TENANT, "on") <= 0.12
        assert _share(page, "(any other tenant)", "off") == 1.0
        # The preview wrote the JSON the save will store.
        assert json.loads(page.get_by_test_id("definition-json").input_value())["rules"]
        _fits(page)
        page.screenshot(path=str(shots / "flag-preview.png"), full_page=True)

        page.get_by_label("Justification").fill("Canary of document summaries for clinic-a")
        with page.expect_navigation():
            page.get_by_test_id("save").click()
        assert page.url.endswith(f"/console/flags/{KEY}?done=created")
        v1 = _live_json(page)
        assert v1["rules"][0]["rollout"][0] == {"variant": "on", "weight": 10.0}
        row = page.locator('[data-testid="log-row"][data-version="1"]')
        assert row.get_by_test_id("requester").inner_text() == "user:pat"
        assert row.get_by_test_id("justification").inner_text() == (
            "Canary of document summaries for clinic-a"
        )
        row.locator("summary").click()
        assert '+  "default_variant": "off",' in row.get_by_test_id("diff").inner_text()

        # -- change: 10 % -> 20 %
        page.locator("details.card > summary").click()
        page.get_by_label("Rollout share (%)").fill("20")
        page.get_by_label("Justification (required to save)").fill(
            "No errors in a day: widen to 20 %"
        )
        with page.expect_navigation():
            page.get_by_test_id("save").click()
        assert page.url.endswith("done=saved")
        assert _live_json(page)["rules"][0]["rollout"][0]["weight"] == 20.0
        diff = page.locator('[data-testid="log-row"][data-version="2"] [data-testid="diff"]')
        assert '+          "weight": 20.0' in (diff.text_content() or "")

        # -- roll back to version 1: a new version, equal to version 1 exactly
        page.get_by_label("Why roll back to v1").fill("Summaries were late for some notes")
        with page.expect_navigation():
            page.get_by_test_id("rollback-1").click()
        assert page.url.endswith("done=rolled-back")
        assert page.get_by_test_id("live-version").inner_text() == "3"
        assert _live_json(page) == v1
        v3 = page.locator('[data-testid="log-row"][data-version="3"]')
        assert v3.get_attribute("data-status") == "live" and "rollback" in v3.inner_text()
        _fits(page)
        page.screenshot(path=str(shots / "flags.png"), full_page=True)

        # -- adoption and errors, per variant, from real evaluations and jobs
        _seed_adoption(db, blobs)
        page.reload()
        expect(page.get_by_test_id("evaluations-chart")).to_be_visible()
        on = page.locator('[data-testid="outcome"][data-variant="on"]')
        off = page.locator('[data-testid="outcome"][data-variant="off"]')
        assert on.get_by_test_id("jobs").inner_text() == "3"
        assert on.get_by_test_id("failure-rate").inner_text() == "33.3%"
        assert off.get_by_test_id("failure-rate").inner_text() == "0.0%"
        _fits(page)
        page.get_by_test_id("adoption").screenshot(path=str(shots / "flag-adoption.png"))
