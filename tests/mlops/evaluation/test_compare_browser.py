"""A data scientist compares two evaluated Whisper tiny.en configurations in a real browser
(Playwright + Debian's Chromium, a real uvicorn server): picks the versions, reads the
verdict, the per-clip chart and the per-slice table, saves the comparison as a report and
downloads its PDF. Saves ``model-compare.png`` (``make screenshots``: docs/screenshots/)."""

from __future__ import annotations

import io

import httpx
import pypdfium2
import pytest

from carepipe.core.auth import Principal
from carepipe.mlops import evaluation
from tests.mlops.evaluation.conftest import TINY
from tests.mlops.factories import make_version
from tests.support.cli import sqlite_database_url
from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, overflow, sign_in
from tests.support.screenshots import screenshot_dir

pytest.importorskip("playwright.sync_api")

CLIPS = ["c01", "c02", "c05", "c08", "c12"]


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    return sqlite_database_url(request, tmp_path)


def test_compare_page_shows_verdict_chart_and_slices_and_saves_a_report(settings, db, blobs):
    with db.transaction() as s:
        make_version(s, "whisper-tiny.en", "asr", TINY)
        make_version(s, "whisper-tiny.en", "asr", {**TINY, "asr_prompt": "clinical"})
    dana = Principal(kind="user", id="dana", roles=("data_scientist",))
    for ref in ("whisper-tiny.en@1", "whisper-tiny.en@2"):
        done = evaluation.evaluate(db, blobs, settings, dana, ref, clips=CLIPS)
        assert done.status == "done", done.metrics
    make_user(db, "dana", "data_scientist")

    with console_server(settings, db, blobs, worker=False) as base, chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "dana")
        page.goto(f"{base}/console/model-compare")
        page.get_by_test_id("baseline").select_option("whisper-tiny.en@1")
        page.get_by_test_id("candidate").select_option("whisper-tiny.en@2")
        with page.expect_navigation():
            page.get_by_role("button", name="Compare").click()

        verdict = page.get_by_test_id("verdict").inner_text()
        assert verdict.startswith("whisper-tiny.en@2 vs whisper-tiny.en@1: ")
        assert verdict.split(": ", 1)[1] in (
            "better",
            "worse",
            "no significant difference",
        )
        # Per-clip bars of both versions, one per clip and version with a value.
        chart = page.get_by_test_id("per-item-chart")
        assert chart.locator("svg rect title").count() == 2 * len(CLIPS)
        assert "c05" in chart.inner_text()
        slices = page.get_by_test_id("slices").locator("tbody tr")
        assert slices.count() >= 5  # noise x2, voice x3+, length
        assert "noisy" in page.get_by_test_id("slices").inner_text()
        got = overflow(page)
        assert got["scrollWidth"] <= got["innerWidth"] and not got["wide"], got
        page.screenshot(path=str(screenshot_dir() / "model-compare.png"), full_page=True)

        with page.expect_navigation():
            page.get_by_test_id("save-report").get_by_role("button").click()
        assert "/console/model-reports/" in page.url
        assert page.get_by_test_id("report-figure").count() == 1
        href = page.get_by_test_id("report-pdf").get_attribute("href")
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        pdf = httpx.get(f"{base}{href}", cookies=cookies, timeout=10)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        doc = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
        assert "whisper-tiny.en@2 vs whisper-tiny.en@1" in doc[0].get_textpage().get_text_range()
