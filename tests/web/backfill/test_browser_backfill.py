"""The "reprocess historical backlog" and "monitor pipeline health" use cases in a real
browser (Playwright + Debian's Chromium) against a real uvicorn server and an in-process
worker. Saves docs/screenshots/{dashboard,archive,backfill-*}.png."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from carepipe.core.models import Job
from carepipe.core.queue import control
from carepipe.pipelines.worker import Worker
from carepipe.web.pages.dashboard import Broadcaster
from tests.ops.backfill.helpers import LiveServer, accepted, rejected
from tests.support.console import PASSWORD, make_user
from tests.support.screenshots import screenshot_dir

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
SHOTS = screenshot_dir()


@pytest.fixture
def server(app, settings, db, blobs):
    app.state.dashboard_broadcaster = Broadcaster(tick=1.0)
    worker = Worker(db, blobs, settings, concurrency=2)
    worker.start_background()
    with LiveServer(app) as live:
        yield live.url
    worker.stop()
    worker.stopped.wait(10)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required: apt-get install -y chromium")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def _wait(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _open_jobs(db) -> int:
    with db.session() as s:
        return s.execute(
            select(func.count()).select_from(Job).where(Job.status.in_(("queued", "running")))
        ).scalar_one()


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page, base, username):
    page.goto(f"{base}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _set_paused(db, queue: str, paused: bool) -> None:
    with db.transaction() as s:
        (control.pause if paused else control.resume)(s, queue)


def test_dashboard_and_backfill_in_the_browser(server, browser, db, blobs):
    base = server
    make_user(db, "olga", "ops")
    started = datetime.now(UTC) - timedelta(minutes=1)
    for n in range(4):
        accepted(db, blobs, {"n": n})
    accepted(db, blobs, {"fail": "permanent"})
    rejected(db, blobs)  # refused before a job existed: the backfill creates its job
    _wait(lambda: _open_jobs(db) == 0)

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = ctx.new_page()
    _sign_in(page, base, "olga")

    # -- dashboard: a tile changes, pushed over server-sent events, when a job is queued
    assert page.url.rstrip("/").endswith("/console")
    page.get_by_text("Live", exact=True).wait_for(timeout=10000)
    ready = page.get_by_test_id("ready-t_first")
    assert ready.inner_text() == "0"
    _set_paused(db, "t_first", True)
    accepted(db, blobs, {"n": 100})
    ready.filter(has_text="1").wait_for(timeout=8000)
    assert page.locator("#tiles-poller").count() == 0  # it came over the stream
    assert page.get_by_test_id("total-dead").inner_text() == "1"
    _shot(page, "dashboard")

    # -- the stream drops: the page falls back to polling every 5 s and still updates
    fallback = ctx.new_page()
    fallback.route("**/console/events", lambda route: route.abort())
    fallback.goto(f"{base}/console/")
    fallback.locator("#live-status[data-mode=polling]").wait_for(timeout=8000)
    assert fallback.get_by_test_id("ready-t_first").inner_text() == "1"
    accepted(db, blobs, {"n": 101})
    fallback.get_by_test_id("ready-t_first").filter(has_text="2").wait_for(timeout=12000)
    _shot(fallback, "dashboard-polling")
    fallback.close()
    _set_paused(db, "t_first", False)
    _wait(lambda: _open_jobs(db) == 0)

    # -- archive search with a count, then "backfill these"
    until = datetime.now(UTC) + timedelta(minutes=2)
    page.goto(f"{base}/console/backfills/archive")
    page.get_by_label("From (UTC)").fill(started.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Until (UTC)").fill(until.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Archived for pipeline").select_option("two_step")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("archive-count").inner_text() == "8"
    _shot(page, "archive")
    page.get_by_test_id("backfill-these").click()
    page.wait_for_load_state()

    # -- start: settings, a preview with the count, then the confirmation
    page.get_by_label("Into pipeline").select_option("two_step")
    page.get_by_label("Messages per minute").fill("60")
    page.get_by_label("Reason or ticket").fill("INC-77 reprocess after validator fix")
    _shot(page, "backfill-new")
    page.get_by_role("button", name="Preview…").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("confirm-count").inner_text() == "8"
    _shot(page, "backfill-confirm")
    page.get_by_test_id("confirm-start").click()
    page.wait_for_load_state()
    status = page.get_by_test_id("backfill-status")
    assert status.inner_text() == "running"
    assert "Backfill started." in page.content()

    # -- pause: nothing more is handed out; resume: it runs to the end, live
    page.get_by_test_id("pause").click()
    page.wait_for_load_state()
    assert status.inner_text() == "paused"
    assert page.get_by_test_id("bf-eta").inner_text() == "paused"
    # The rate says paused (frozen at the running rate), not a figure that keeps falling.
    assert page.get_by_test_id("bf-rate").inner_text().startswith("paused")
    processed_at_pause = int(page.get_by_test_id("bf-processed").inner_text().split()[0])
    assert processed_at_pause < 8
    _shot(page, "backfill-paused")
    page.get_by_test_id("resume").click()
    page.wait_for_load_state()
    assert status.inner_text() == "running"
    _shot(page, "backfill-running")
    # The progress fragment polls (HTMX) until the report exists; no reload here.
    page.get_by_test_id("report-csv").wait_for(timeout=30000)
    assert status.inner_text() == "completed"
    page.get_by_test_id("pause").wait_for(state="detached", timeout=5000)  # controls gone
    assert page.get_by_test_id("bf-processed").inner_text().startswith("8 ")
    assert page.get_by_test_id("bf-succeeded").inner_text() == "7"
    assert page.get_by_test_id("bf-failed").inner_text() == "1"
    assert "validation_failed" in page.content()
    _shot(page, "backfill-completed")

    # -- the reports download; the JSON's SHA-256 is the one shown (and audited)
    with page.expect_download() as dl:
        page.get_by_test_id("report-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    assert len(rows) == 8 and rows[0]["outcome"] == "failed"
    with page.expect_download() as dl:
        page.get_by_test_id("report-json").click()
    content = Path(dl.value.path()).read_bytes()
    assert hashlib.sha256(content).hexdigest() == page.get_by_test_id("report-sha").inner_text()
    assert json.loads(content)["summary"]["succeeded"] == 7
    ctx.close()
