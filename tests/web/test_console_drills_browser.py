"""A drill's report in a real browser (Playwright + Debian's Chromium) against a real
uvicorn server: from the navigation to the last drill, RTO/RPO against the targets, the
timeline and smoke tests, then a finding given an owner, a due date and a ticket, and
closed; the findings CSV downloads; nothing sticks out of the window. Saves
``dr-drill.png`` (``make screenshots``)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, overflow, sign_in
from tests.support.dr_drills import stored_drill
from tests.support.screenshots import screenshot_dir

pytest.importorskip("playwright.sync_api")


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    import shutil

    target = tmp_path / "carepipe.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), target)
    return f"sqlite:///{target}"


def test_drill_report_and_finding_edit(settings, db, blobs):
    drill_id, (fid,) = stored_drill(
        db, findings=(("Restore took longer than the last drill", "high", date(2026, 4, 1)),)
    )
    make_user(db, "ada", "admin")
    with console_server(settings, db, blobs, worker=False) as base, chromium() as browser:
        context = browser.new_context(
            viewport={"width": 1280, "height": 800}, accept_downloads=True
        )
        page = context.new_page()
        sign_in(page, base, "ada")
        page.get_by_role("link", name="Drills").click()
        last = page.get_by_test_id("last-drill")
        assert "42.5 s against a target of 7200 s" in last.get_by_test_id("last-rto").inner_text()
        last.get_by_role("link", name=drill_id).click()
        page.wait_for_load_state()
        assert page.get_by_test_id("drill-status").first.inner_text() == "passed"
        assert "1.2 s against a target of 300 s" in page.get_by_test_id("rpo").inner_text()
        assert page.get_by_test_id("timeline-row").count() == 4
        assert page.get_by_test_id("smoke-row").count() == 2

        form = page.get_by_test_id(f"finding-form-{fid}")
        form.get_by_label("Owner").fill("otto")
        form.get_by_label("Due date").fill("2026-06-30")
        form.get_by_label("Ticket").fill("OPS-42")
        with page.expect_navigation():
            form.get_by_role("button", name="Save").click()
        assert page.get_by_role("status").inner_text() == f"Finding {fid} saved."
        row = page.locator(f"#finding-{fid}")
        assert "otto" in row.inner_text() and "2026-06-30" in row.inner_text()
        assert "OPS-42" in row.inner_text()

        form = page.get_by_test_id(f"finding-form-{fid}")
        form.get_by_label("Status").select_option("done")
        with page.expect_navigation():
            form.get_by_role("button", name="Save").click()
        assert page.get_by_role("status").inner_text() == f"Finding {fid} closed."
        assert "done" in page.locator(f"#finding-{fid}").inner_text()
        assert "user:ada" in page.locator(f"#finding-{fid}").inner_text()

        with page.expect_download() as download:
            page.get_by_role("link", name="CSV").click()
        rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
        assert rows[0]["Assignee"] == "otto" and rows[0]["Status"] == "Done"

        got = overflow(page)
        page.screenshot(path=str(screenshot_dir() / "dr-drill.png"), full_page=True)
        assert got["scrollWidth"] <= got["innerWidth"] and not got["wide"], got
