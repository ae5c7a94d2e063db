"""Rotating a partner's key from the console in a real browser (Playwright + Debian's
Chromium) against a real uvicorn server: request a key under a ticket, see its secret once
(copy button), the partner activates it over the API, the old key is in grace and still
works, then "Revoke now" ends it. Saves ``api-keys.png`` (``make screenshots``)."""

from __future__ import annotations

import httpx
import pytest

from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key
from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, sign_in
from tests.support.screenshots import screenshot_dir

pytest.importorskip("playwright.sync_api")

BODY = {"pipeline": "echo", "payload": 1}


def _submit(base: str, key: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/jobs", json=BODY, headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def test_request_see_once_activate_grace_revoke(settings, db, blobs):
    s = settings.model_copy(update={"api_key_usage_flush_seconds": 0})
    make_user(db, "olga", "ops")
    with db.transaction() as session:
        old = create_key(session, SYSTEM, tenant="acme", name="emr", env="dev")

    with console_server(s, db, blobs, worker=False) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = context.new_page()
        sign_in(page, base, "olga")
        page.get_by_role("link", name="API keys").click()
        row_old = page.locator(f"tr[data-key='{old.id}']")
        assert row_old.get_by_test_id("status").inner_text() == "active"
        assert old.plaintext not in page.content()

        # Request a new key under a ticket: its secret is shown once, with a copy button.
        page.get_by_label("Tenant", exact=True).last.fill("acme")
        page.get_by_label("Partner (key name)").fill("emr")
        page.get_by_label("Ticket").fill("OPS-42")
        with page.expect_navigation():
            page.get_by_role("button", name="Request staged key").click()
        new_key = page.get_by_test_id("new-key").inner_text().strip()
        assert new_key.startswith("cpk_dev_")
        page.get_by_role("button", name="Copy").click()
        page.wait_for_selector("[data-copied]:not([hidden])")
        assert page.evaluate("navigator.clipboard.readText()") == new_key
        new_id = new_key.split("_")[2]
        assert page.locator(f"tr[data-key='{new_id}']").get_by_test_id("status").inner_text() == (
            "staged"
        )
        # Reloaded, the page shows it masked only (prefix, key id, last 4).
        page.goto(f"{base}/console/keys?tenant=acme")
        assert new_key not in page.content() and new_key[22:-4] not in page.content()
        assert f"cpk_dev_{new_id}_…{new_key[-4:]}" in page.content()

        # A staged key is refused by normal routes; the partner activates it.
        assert _submit(base, new_key).status_code == 401
        r = httpx.post(
            f"{base}/api/keys/activate",
            headers={"Authorization": f"Bearer {new_key}"},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        assert _submit(base, new_key).status_code == 202
        assert _submit(base, old.plaintext).status_code == 202  # grace: both work

        page.reload()
        assert row_old.get_by_test_id("status").inner_text() == "grace"
        assert page.locator(f"tr[data-key='{new_id}']").get_by_test_id("status").inner_text() == (
            "active"
        )
        assert "127.0.0.1" in row_old.inner_text()  # last used from
        page.screenshot(path=str(screenshot_dir() / "api-keys.png"), full_page=True)

        # Revoke now: the old key is refused at once.
        row_old.get_by_label("Reason").last.fill("OPS-42 cut-over done")
        with page.expect_navigation():
            row_old.get_by_role("button", name="Revoke now").click()
        assert row_old.get_by_test_id("status").inner_text() == "revoked"
        refused = _submit(base, old.plaintext)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "api_key_revoked"
