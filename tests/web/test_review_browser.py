"""A clinician reviews a scribe note in a real browser (Playwright + Debian's Chromium)
against a real uvicorn server and worker, from the worklist to the FHIR bundle.

The consultation is the committed clip ``tests/data/scribe/c02.wav`` (metformin, a weight,
a blood pressure and a diagnosis the note engine flags) of a review tenant, sent through
``POST /v1/jobs``. Saves ``review-worklist.png`` and ``review-page.png``
(``make screenshots`` writes them to docs/screenshots/).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key
from carepipe.review import service
from tests.support.console import make_user
from tests.support.console_browser import chromium, console_server, overflow, sign_in, wait_for
from tests.support.screenshots import screenshot_dir

expect = pytest.importorskip("playwright.sync_api").expect

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"
TENANT = "clinic-review"
CURRENT_TIME = "() => document.getElementById('review-audio').currentTime"


def _job(base: str, auth: dict[str, str], job_id: str) -> dict:
    r = httpx.get(f"{base}/v1/jobs/{job_id}", headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _fits(page) -> None:
    got = overflow(page)
    assert got["scrollWidth"] <= got["innerWidth"] and not got["wide"], got


def _class(locator) -> str:
    return locator.get_attribute("class") or ""


def _open_count(page) -> int:
    return page.locator(".item.flagged.decision-pending").count()


def test_a_clinician_reviews_a_note_from_worklist_to_fhir_bundle(settings, db, blobs):
    shots = screenshot_dir()
    s = settings.model_copy(update={"review_tenants": TENANT, "max_payload_bytes": 4 * 1024 * 1024})
    make_user(db, "cleo", "clinician")
    with db.transaction() as session:
        service.assign_clinician(session, SYSTEM, username="cleo", tenant=TENANT)
        key = create_key(session, SYSTEM, tenant=TENANT, name="emr", env="dev").plaintext
    auth = {"Authorization": f"Bearer {key}"}

    with console_server(s, db, blobs) as base, chromium() as browser:
        r = httpx.post(
            f"{base}/v1/jobs",
            headers=auth,
            data={
                "pipeline": "scribe",
                "idempotency_key": "visit-0001",
                "context": json.dumps({"mrn": "MRN-0001", "assigning_authority": "HOSP"}),
            },
            files={"file": ("c02.wav", (DATA / "c02.wav").read_bytes(), "audio/wav")},
            timeout=30,
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        wait_for(lambda: _job(base, auth, job_id)["status"] == "waiting_review", timeout=480)

        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        sign_in(page, base, "cleo")

        # -- the worklist: the note is there, with its confidence summary
        with page.expect_navigation():
            page.get_by_role("link", name="Reviews").click()
        rows = page.get_by_test_id("worklist").locator("tbody tr[data-review-id]")
        assert rows.count() == 1
        assert "flagged open" in rows.first.inner_text()
        _fits(page)
        page.screenshot(path=str(shots / "review-worklist.png"), full_page=True)
        with page.expect_navigation():
            rows.first.get_by_test_id("open-review").click()
        assert page.get_by_test_id("review-status").inner_text() == "waiting"
        page.wait_for_function("document.getElementById('review-audio').readyState >= 1")
        _fits(page)

        # -- click a word: the player jumps to that word's start and lights it up
        word = page.locator("#transcript .w").nth(12)
        start = float(word.get_attribute("data-start") or "nan")
        assert start > 1.0
        word.click()
        page.wait_for_function(
            f"document.getElementById('review-audio').currentTime >= {start - 0.05}"
        )
        at = page.evaluate(CURRENT_TIME)
        assert start - 0.05 <= at < start + 2.0, (start, at)
        assert "playing" in (word.get_attribute("class") or "")
        page.get_by_label("Speed").select_option("1.5")
        assert page.evaluate("() => document.getElementById('review-audio').playbackRate") == 1.5
        page.evaluate("() => document.getElementById('review-audio').pause()")

        # -- one-click approval is refused while a flagged item is open; the page says which
        assert _open_count(page) >= 1
        with page.expect_navigation():
            page.keyboard.press("Shift+A")
        remaining = page.get_by_test_id("remaining")
        expect(remaining).to_be_visible()
        # Every flagged item is listed (c02: the weight and blood pressure heard across a
        # number-form boundary); an item the note engine trusts is not.
        flagged = page.locator(".item[data-flagged='true']")
        assert flagged.count() >= 1
        listed = remaining.inner_html() or ""
        for i in range(flagged.count()):
            assert flagged.nth(i).get_attribute("data-item-id") in listed
        med = page.locator(".item[data-kind='medication']").first

        # -- change the medication's dose, see the diff, save: two versions in the history
        dose = med.locator("input[name$='.dose']")
        old = dose.input_value()
        new = str(int(float(old)) * 2)
        dose.fill(new)
        with page.expect_navigation():
            page.get_by_role("button", name="Preview changes").first.click()
        diff = page.get_by_test_id("item-diff")
        assert diff.locator("del").first.inner_text() == old
        assert diff.locator("ins").first.inner_text() == new
        with page.expect_navigation():
            page.get_by_test_id("save").click()
        assert "Saved as a new version." in page.content()
        assert page.get_by_test_id("history").locator("tbody tr").count() == 2
        assert page.get_by_test_id("item-diff").locator("ins").first.inner_text() == new
        # The screenshot: after the edit (diff and history filled), a word lit up.
        page.locator("#transcript .w").nth(30).click()
        page.evaluate("() => document.getElementById('review-audio').pause()")
        page.evaluate("() => window.scrollTo(0, 0)")  # the player is sticky: show it on top
        _fits(page)
        page.screenshot(path=str(shots / "review-page.png"), full_page=True)

        # -- resolve what is still flagged with the keyboard: j to the next open item, then
        # r (reject) for the first, a (accept) for the others
        assert _open_count(page) >= 1
        key = "r"
        for _ in range(20):
            if _open_count(page) == 0:
                break
            for _ in range(page.locator(".item[data-flagged='true']").count()):
                page.keyboard.press("j")
                if "decision-pending" in (_class(page.locator(".item.selected"))):
                    break
            item_id = page.locator(".item.selected").get_attribute("data-item-id")
            with page.expect_navigation():
                page.keyboard.press(key)
            decided = page.locator(f".item[data-item-id='{item_id}']")
            assert ("decision-rejected" if key == "r" else "decision-accepted") in _class(decided)
            key = "a"
        assert "0 of" in page.get_by_test_id("flag-count").inner_text()

        # -- approve: one key now that nothing flagged is open
        with page.expect_navigation():
            page.keyboard.press("Shift+A")
        assert page.get_by_test_id("review-status").inner_text() == "approved"
        expect(page.get_by_test_id("approved")).to_be_visible()

        # -- the job resumes: its bundle carries the edited dose and a Provenance
        wait_for(lambda: _job(base, auth, job_id)["status"] == "succeeded", timeout=60)
        bundle = httpx.get(f"{base}/v1/jobs/{job_id}/bundle", headers=auth, timeout=10).json()
        resources = [e["resource"] for e in bundle["entry"]]
        doses = [
            d["doseAndRate"][0]["doseQuantity"]["value"]
            for m in resources
            if m["resourceType"] == "MedicationStatement"
            for d in m.get("dosage", [])
            if d.get("doseAndRate")
        ]
        assert float(new) in doses and float(old) not in doses, doses
        provenance = [x for x in resources if x["resourceType"] == "Provenance"]
        assert provenance, [x["resourceType"] for x in resources]
        assert "cleo" in json.dumps(provenance)
