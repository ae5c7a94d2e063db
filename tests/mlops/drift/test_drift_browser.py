"""An ML engineer opens the Model drift page in a real browser (Playwright + Debian's
Chromium, a real uvicorn server) after a drift check found severe SNR drift: the version's
features with their bars, the event and the monitoring charts show, under the console's
strict Content-Security-Policy (no violation reported), without horizontal overflow.
Saves ``model-drift.png``."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from carepipe.core.auth import Principal
from carepipe.core.clock import utcnow
from carepipe.mlops.drift import check_now
from tests.mlops.drift.synthetic import Population, observations
from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, overflow, sign_in
from tests.support.screenshots import screenshot_dir

pytest.importorskip("playwright.sync_api")


def test_an_ml_engineer_sees_severe_drift_on_the_console(settings, db, blobs, deploy, store):
    make_user(db, "mia", "ml_engineer")
    vid = deploy()
    now = utcnow()
    rng = np.random.default_rng(1)
    store(observations(rng, 200, version_id=vid, start=now - timedelta(hours=44)))
    store(
        observations(
            rng, 200, Population(snr_mean=14.0), version_id=vid, start=now - timedelta(hours=20)
        )
    )
    with db.transaction() as s:
        check_now(s, Principal(kind="user", id="mia", roles=("ml_engineer",)), engine_kind="asr")

    with console_server(settings, db, blobs, worker=False) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        violations: list[str] = []
        page.on(
            "console",
            lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
        )
        sign_in(page, base, "mia")
        page.goto(f"{base}/console/model-drift")
        check = page.locator('[data-testid="drift-check"]')
        assert check.get_attribute("data-status") == "severe"
        snr = page.locator('[data-testid="drift-feature"][data-feature="snr_db"]')
        assert snr.get_attribute("data-status") == "severe"
        assert "severe" in snr.inner_text()
        assert snr.locator("svg rect").count() == 2 and snr.locator("svg line").count() == 2
        assert page.locator('[data-testid="drift-event"]').count() == 1
        assert page.locator('[data-testid="monitor-jobs"] polyline').count() >= 1
        got = overflow(page)
        assert got["scrollWidth"] <= got["innerWidth"] and not got["wide"], got
        assert violations == []
        page.screenshot(path=str(screenshot_dir() / "model-drift.png"), full_page=True)
