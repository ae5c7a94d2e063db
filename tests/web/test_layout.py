"""Every console page at 1280x800 in a real browser: nothing wider than the window.

Issue 9: the audit page was 1,631 px wide in a 1,280 px window ("Change" cut off,
"Reason" off-screen, times wrapping onto three lines). This walks every page of the
console with realistic content (long HL7 fields, long error messages, JSON that does
not parse, audit entries with large before/after documents) and checks
``document.documentElement.scrollWidth <= innerWidth`` and that no element's box
leaves the viewport; times stay on one line.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from carepipe.core.auth import Principal
from carepipe.core.errors import MalformedJson
from carepipe.core.models import Job
from carepipe.ops.archive import ArchiveFilter
from carepipe.ops.backfill import start_backfill
from carepipe.pipelines.ingest import submit
from tests.support.console import make_dead, make_user
from tests.support.console_browser import chromium, console_server, overflow, sign_in, wait_for
from tests.support.console_pipelines import HL7_TYPE
from tests.support.screenshots import screenshot_dir

pytest.importorskip("playwright.sync_api")

WIDTH, HEIGHT = 1280, 800
LONG = "X" * 180  # one unbreakable word, as ids, hashes and base64 are


def _hl7_with_long_fields() -> bytes:
    segments = [
        "MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301120000||ORU^R01|MSG0002|P|2.5",
        "PID|1||MRN55555^^^CITYHOSP^MR||Sharma^Priya||19800101|F|||12 MG Road^^Pune^MH^411001",
        "OBR|1|ORD1|FIL1|58410-2^CBC panel^LN",
        f"OBX|1|TX|11502-2^Lab report^LN||{LONG}||||||F",
        f"NTE|1||{'a long comment without breaks ' * 12}{LONG}",
    ]
    return ("\r".join(segments) + "\r").encode()


def _job_status(db, job_id):
    with db.session() as s:
        return s.get(Job, job_id).status


def _check(page, what: str, shots) -> None:
    page.wait_for_load_state("load")
    got = overflow(page)
    page.screenshot(path=str(shots / f"layout-{what}.png"), full_page=True)
    assert got["scrollWidth"] <= got["innerWidth"], (what, got)
    assert not got["wide"], (what, got)
    # Times never wrap (each <time> is one line box).
    wrapped = page.evaluate(
        "() => [...document.querySelectorAll('time')]"
        ".filter(t => t.getClientRects().length > 1).map(t => t.textContent)"
    )
    assert not wrapped, (what, wrapped)


@pytest.fixture
def broken_task(db, blobs):
    """Declared JSON, not JSON: made dead before the server's worker starts (which would
    claim it first and retry it as internal_error)."""
    return make_dead(
        db,
        blobs,
        tenant="acme",
        payload=b'{"pipeline": "echo", "blob": "' + LONG.encode() + b'", "payload":',
        content_type="application/json",
        error=MalformedJson("the payload is not valid JSON"),
    )


@pytest.fixture
def seeded_server(settings, db, blobs, broken_task):
    with console_server(settings, db, blobs) as base:
        yield base


def test_every_console_page_fits_1280_in_a_browser(seeded_server, broken_task, db, blobs):
    base = seeded_server
    make_user(db, "ada", "admin")
    since = datetime.now(UTC) - timedelta(minutes=5)
    hl7 = submit(
        db,
        blobs,
        tenant="acme",
        pipeline="mrn_match",
        payload=_hl7_with_long_fields(),
        content_type=HL7_TYPE,
    )
    bad = [
        submit(
            db,
            blobs,
            tenant="acme-hospital-network-west-region",
            pipeline="two_step",
            payload=json.dumps({"fail": "permanent", "n": i, "note": LONG}).encode(),
            content_type="application/json",
        )
        for i in range(3)
    ]
    # Messages for the backfill to re-run (another tenant: the dead letters stay dead).
    done = [
        submit(
            db,
            blobs,
            tenant="bf-tenant",
            pipeline="two_step",
            payload=json.dumps({"n": i}).encode(),
            content_type="application/json",
        )
        for i in range(3)
    ]
    wait_for(lambda: all(_job_status(db, j.job_id) == "succeeded" for j in done))
    jobs = [hl7, *bad]
    wait_for(lambda: all(_job_status(db, j.job_id) == "dead" for j in jobs))
    with db.session() as s:
        from carepipe.core.models import Task

        task_of = {
            j.job_id: s.execute(select(Task.id).where(Task.job_id == j.job_id)).scalar_one()
            for j in jobs
        }
    until = datetime.now(UTC) + timedelta(minutes=5)
    # A backfill that stays running (1 message a minute) gives detail and cancel pages.
    bf = start_backfill(
        db,
        Principal(kind="user", id="ada", roles=("admin",)),
        archive_filter=ArchiveFilter(since=since, until=until, tenant="bf-tenant"),
        pipeline="two_step",
        rate_per_minute=1,
        reason=f"INC-77 reprocess after the validator fix {LONG}",
    )
    fmt = "%Y-%m-%d %H:%M"
    window = {"since": since.strftime(fmt), "until": until.strftime(fmt)}
    # Every page's picture, for whoever reads a failure (never the tracked screenshots).
    shots = Path(tempfile.gettempdir()) / "carepipe-layout"
    shots.mkdir(parents=True, exist_ok=True)

    with chromium() as browser:
        ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        page = ctx.new_page()
        page.goto(f"{base}/console/login")
        _check(page, "login", shots)
        sign_in(page, base, "ada")

        # A bulk replay and a reveal, so their pages and audit entries exist.
        page.goto(f"{base}/console/dlq/bulk-replay/confirm?error_code=validation_failed")
        _check(page, "bulk-confirm", shots)
        page.get_by_label("Reason or ticket").fill(f"INC-78 {LONG}")
        page.get_by_role("button", name="Yes, replay 3").click()
        page.wait_for_load_state()
        page.get_by_test_id("bulk-status").filter(has_text="done").wait_for(timeout=20000)
        _check(page, "bulk-progress", shots)
        bulk_url = page.url

        hl7_task = task_of[hl7.job_id]
        page.goto(f"{base}/console/dlq/{hl7_task}")
        _check(page, "dlq-detail-hl7-masked", shots)
        page.get_by_label("Reason for revealing (recorded)").fill(f"INC-79 {LONG[:60]}")
        page.get_by_role("button", name="Reveal").click()
        page.wait_for_load_state()
        _check(page, "dlq-detail-hl7-revealed", shots)

        pages = {
            "dashboard": "/console/",
            "dlq-list": "/console/dlq",
            "dlq-list-filtered": "/console/dlq?" + urlencode({**window, "tenant": "acme"}),
            "dlq-detail-json": f"/console/dlq/{task_of[bad[0].job_id]}",
            "dlq-detail-not-json": f"/console/dlq/{broken_task}",
            "bulk-replay": bulk_url.removeprefix(base),
            "audit": "/console/audit",
            "audit-filtered": "/console/audit?" + urlencode({**window, "action": "dlq."}),
            "audit-verify": "/console/audit/verify",
            "backfills": "/console/backfills",
            "backfill-detail": f"/console/backfills/{bf['id']}",
            "backfill-cancel": f"/console/backfills/{bf['id']}/cancel?reason=wrong+window",
            "backfill-new": "/console/backfills/new",
            "backfill-archive": "/console/backfills/archive?" + urlencode(window),
            "backfill-confirm": "/console/backfills/confirm?"
            + urlencode({**window, "target": "two_step", "rate": "60", "reason": "INC-80"}),
            "patients": "/console/patients?" + urlencode({"tenant": "acme", "mrn": "MRN55555"}),
            "users": "/console/users",
            "password": "/console/password",
        }
        for what, path in pages.items():
            page.goto(base + path)
            assert page.url.startswith(base + path.split("?")[0]), (what, page.url)
            _check(page, what, shots)
            if what == "backfill-cancel":
                page.screenshot(path=str(screenshot_dir() / "backfill-cancel.png"), full_page=True)

        # The audit table's last columns are on screen, the time on one line.
        page.goto(f"{base}/console/audit")
        for header in ("Change", "Reason"):
            box = page.get_by_role("columnheader", name=header).bounding_box()
            assert box is not None and box["x"] + box["width"] <= WIDTH, (header, box)
        ctx.close()
