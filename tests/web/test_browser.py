"""The "review failed jobs" use case in a real browser (Playwright + Debian's Chromium)
against a real uvicorn server and an in-process worker. Saves docs/screenshots/*.png."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.models import AuditEvent, Job
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.worker import Worker
from tests.support.console import PASSWORD, make_user
from tests.support.console_pipelines import HL7_TYPE, adt_message
from tests.support.screenshots import screenshot_dir

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
CHROMIUM = "/usr/bin/chromium"
SHOTS = screenshot_dir()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(settings, db, blobs):
    app = create_app(settings, db=db, blobs=blobs)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    worker = Worker(db, blobs, settings, concurrency=2)
    worker.start_background()
    yield f"http://127.0.0.1:{port}"
    worker.stop()
    worker.stopped.wait(10)
    srv.should_exit = True
    thread.join(10)


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


def _job_status(db, job_id):
    with db.session() as s:
        return s.get(Job, job_id).status


def _sign_in(page, base, username):
    page.goto(f"{base}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/console/login" not in page.url, "sign-in failed"


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_review_failed_jobs_end_to_end(server, browser, db, blobs):
    base = server
    for name, role in (
        ("olga", "ops"),
        ("milo", "ml_engineer"),
        ("cora", "compliance"),
        ("cleo", "clinician"),
        ("ada", "admin"),
    ):
        make_user(db, name, role)
    # Real dead letters, made by the worker: an HL7 message whose patient is not in the
    # index, and three JSON messages that fail validation.
    hl7 = submit(
        db, blobs, tenant="acme", pipeline="mrn_match", payload=adt_message(), content_type=HL7_TYPE
    )
    bad = [
        submit(
            db,
            blobs,
            tenant="acme",
            pipeline="two_step",
            payload=json.dumps({"fail": "permanent", "n": i}).encode(),
            content_type="application/json",
        )
        for i in range(3)
    ]
    _wait(lambda: all(_job_status(db, j.job_id) == "dead" for j in [hl7, *bad]))

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{base}/console/dlq")
    assert "/console/login" in page.url
    _shot(page, "login")

    # -- an ML engineer sees the dead letter, masked, and cannot reveal it
    _sign_in(page, base, "milo")
    page.goto(f"{base}/console/dlq")
    expect(page.get_by_role("heading", name="Dead letters")).to_be_visible()
    page.get_by_test_id("chip-patient_not_found").click()
    page.get_by_role("link", name="#").first.click()
    page.wait_for_load_state()
    assert page.get_by_test_id("error-code").inner_text() == "patient_not_found"
    expect(page.get_by_test_id("masked-banner")).to_be_visible()
    expect(page.get_by_test_id("no-reveal")).to_be_visible()
    body = page.content()
    assert "PID-3" in body and "MRN12345" not in body and "Sharma" not in body
    _shot(page, "dlq-detail-masked")
    page.get_by_role("button", name="Sign out").click()

    # -- a clinician may not open the dead-letter queue at all
    _sign_in(page, base, "cleo")
    page.goto(f"{base}/console/dlq")
    assert page.get_by_test_id("error-code").inner_text() == "permission_denied"
    _shot(page, "forbidden")
    page.get_by_role("button", name="Sign out").click()

    # -- ops: list, reveal with a reason, map MRN -> ABHA, replay, see it succeed
    _sign_in(page, base, "olga")
    page.goto(f"{base}/console/dlq")
    _shot(page, "dlq-list")
    page.get_by_test_id("chip-patient_not_found").click()
    page.get_by_role("link", name="#").first.click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("masked-banner")).to_be_visible()
    # Mapping needs no reveal: the MRN alone is prefilled (an audited view), the rest masked;
    # the plain Replay, which could only fail again, is not offered.
    assert page.get_by_label("MRN", exact=True).input_value() == "MRN12345"
    assert "MRN12345^^^CITYHOSP^MR" not in page.content() and "Sharma" not in page.content()
    expect(page.get_by_test_id("replay-disabled-reason")).to_be_visible()
    assert page.get_by_role("button", name="Replay", exact=True).count() == 0
    _shot(page, "dlq-detail-map")
    page.get_by_label("Reason for revealing (recorded)").fill("INC-42 check PID-3")
    page.get_by_role("button", name="Reveal").click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("revealed-banner")).to_be_visible()
    assert "MRN12345^^^CITYHOSP^MR" in page.content()
    _shot(page, "dlq-detail-revealed")
    with db.session() as s:
        reveals = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "payload.reveal"))
            .scalars()
            .all()
        )
    assert [(e.actor, e.reason) for e in reveals] == [("user:olga", "INC-42 check PID-3")]
    # The operator adds the ABHA number to the prefilled MRN.
    assert page.get_by_label("MRN", exact=True).input_value() == "MRN12345"
    page.get_by_label("ABHA number", exact=True).fill("12-3456-7890-1234")
    page.get_by_label("Reason or ticket").first.fill("INC-42")
    page.get_by_role("button", name="Save mapping and replay").click()
    page.wait_for_load_state()
    assert "re-queued" in page.content()
    # The status fragment polls (HTMX) until the worker has finished the replayed job.
    page.get_by_test_id("job-status").filter(has_text="succeeded").wait_for(timeout=20000)
    assert _job_status(db, hl7.job_id) == "succeeded"
    _shot(page, "dlq-detail-replayed")

    # -- bulk replay of everything failing validation, with a confirmation and progress
    page.goto(f"{base}/console/dlq?error_code=validation_failed")
    page.get_by_test_id("replay-all").click()
    page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Replay 3 dead letters?")).to_be_visible()
    _shot(page, "bulk-confirm")
    page.get_by_label("Reason or ticket").fill("INC-43 validator fixed")
    page.get_by_role("button", name="Yes, replay 3").click()
    page.wait_for_load_state()
    page.get_by_test_id("bulk-status").filter(has_text="done").wait_for(timeout=20000)
    assert page.get_by_test_id("bulk-replayed").inner_text() == "3"
    _shot(page, "bulk-progress")
    page.get_by_role("button", name="Sign out").click()

    # -- compliance reads the audit log: the reveal, the mapping and the replays are there
    _sign_in(page, base, "cora")
    page.goto(f"{base}/console/audit")
    text = page.content()
    for action in ("payload.reveal", "patient.map", "dlq.replay", "dlq.bulk_replay.request"):
        assert action in text
    _shot(page, "audit")
    with page.expect_download() as dl:
        page.get_by_role("link", name="Export CSV").click()
    assert dl.value.suggested_filename.endswith(".csv")
    page.goto(f"{base}/console/audit/verify")
    expect(page.get_by_test_id("chain-ok")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # -- an admin manages users
    _sign_in(page, base, "ada")
    page.goto(f"{base}/console/users")
    _shot(page, "users")
    ctx.close()
