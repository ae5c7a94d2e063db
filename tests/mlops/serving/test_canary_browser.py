"""The live canary page in a real browser (Playwright + Chromium) against a real uvicorn
server and worker: a running canary of an ASR version (Whisper tiny.en with the clinical
prompt) with real scribe jobs on both arms;
the page shows both arms side by side, an ML engineer aborts the canary, and the page shows
the stable version alone. Saves ``canary.png`` (``CAREPIPE_SCREENSHOTS=docs/screenshots``)."""

from __future__ import annotations

import httpx
import pytest

from carepipe.core.auth import SYSTEM
from carepipe.mlops import canary, deployments
from carepipe.mlops.health import SMOKE_CLIP
from carepipe.ops.api_keys import create_key
from tests.mlops.factories import TINY, make_ref
from tests.mlops.serving.jobs import keys_in, settle
from tests.support.cli import sqlite_database_url
from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, sign_in
from tests.support.screenshots import screenshot_dir

pytest.importorskip("playwright.sync_api")


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    # The page is an adapter; the services under it run on both databases elsewhere.
    return sqlite_database_url(request, tmp_path)


def test_the_canary_page_shows_both_arms_and_aborts_the_canary(settings, db, blobs):
    make_user(db, "mia", "ml_engineer")
    with db.transaction() as s:
        old = make_ref(s, "whisper-tiny", "asr", TINY)
        new = make_ref(s, "whisper-tiny", "asr", {**TINY, "asr_prompt": "clinical"})
        key = create_key(s, SYSTEM, tenant="clinic-s", name="emr", env="dev").plaintext
    dep = deployments.deploy(db, settings, SYSTEM, engine_kind="asr", version_ref=old)
    with db.transaction() as s:
        canary.start_canary(
            s,
            SYSTEM,
            settings,
            dep.id,
            new,
            steps=[50, 100],
            analysis={"interval_seconds": 3600, "min_jobs": 3},
        )

    with console_server(settings, db, blobs) as base, chromium() as browser:
        ids = []
        for k in keys_in("canary", 50, 2, "b") + keys_in("stable", 50, 2, "a"):
            r = httpx.post(
                f"{base}/v1/jobs",
                headers={"Authorization": f"Bearer {key}", "Idempotency-Key": k},
                data={"pipeline": "scribe"},
                files={"file": ("clip.flac", SMOKE_CLIP.read_bytes(), "audio/flac")},
                timeout=30,
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        settle(db, ids)

        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        sign_in(page, base, "mia")
        page.goto(f"{base}/console/deployments")
        page.get_by_role("link", name="asr").click()
        assert page.get_by_test_id("canary-version").inner_text() == new
        assert page.get_by_test_id("canary-percent").inner_text() == "50%"
        assert page.get_by_test_id("stable-jobs").inner_text() == "2"
        assert page.get_by_test_id("canary-jobs").inner_text() == "2"
        assert page.get_by_test_id("canary-success_rate").inner_text() == "100.0%"
        assert float(page.get_by_test_id("canary-mean_rtf").inner_text()) > 0
        assert 0 < float(page.get_by_test_id("stable-mean_confidence").inner_text()) <= 1
        page.screenshot(path=str(screenshot_dir() / "canary.png"), full_page=True)

        page.get_by_label("Abort reason").fill("checking the rollback drill")
        with page.expect_navigation():
            page.get_by_test_id("abort").click()
        assert "Canary aborted" in page.get_by_role("status").first.inner_text()
        assert page.get_by_test_id("deployment-status").inner_text() == "stable"
        assert page.get_by_test_id("canary-version").count() == 0
        assert page.get_by_test_id("stable-version").inner_text() == old
        assert "canary abort" in page.get_by_test_id("events").inner_text()
