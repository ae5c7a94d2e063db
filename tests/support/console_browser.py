"""Driving the console in a real browser: a uvicorn server with an in-process worker,
Debian's Chromium through Playwright, signing in, and the horizontal-overflow probe."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from carepipe.app import create_app
from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.pipelines.worker import Worker
from tests.support.console import PASSWORD
from tests.support.live_server import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def console_server(
    settings: Settings, db: Database, blobs: BlobStore, *, worker: bool = True
) -> Iterator[str]:
    """The API and console on a free port (and a worker); yields the base URL."""
    app = create_app(settings, db=db, blobs=blobs)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    w = Worker(db, blobs, settings, concurrency=2) if worker else None
    if w is not None:
        w.start_background()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if w is not None:
            w.stop()
            w.stopped.wait(10)
        srv.should_exit = True
        thread.join(10)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise AssertionError("Debian's chromium is required: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/console/login" not in page.url, "sign-in failed"


# Everything that sticks out of the window: the page's scroll width, and each visible
# element whose box leaves the viewport or is wider than it. Elements inside a box that
# scrolls or clips on its own (a <pre>) are that box's business, and the skip link and
# visually-hidden captions are off-screen on purpose.
OVERFLOW_PROBE = """
() => {
  const vw = window.innerWidth;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll' || ox === 'hidden' || ox === 'clip') return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.skip-link, .visually-hidden, script, style, template')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (clipped(el)) continue;
    if (r.right > vw + 0.5 || r.left < -0.5 || r.width > vw + 0.5) {
      wide.push(name(el) + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']');
    }
  }
  // A table cell whose content spills into its neighbours (e.g. a time that does not wrap
  // in a column too narrow for it): on screen, but unreadable.
  for (const cell of document.body.querySelectorAll('td, th')) {
    if (cell.closest('.visually-hidden') || clipped(cell)) continue;
    if (cell.scrollWidth > cell.clientWidth + 1) {
      wide.push('cell ' + name(cell) + ' content ' + cell.scrollWidth + ' > ' + cell.clientWidth);
    }
  }
  // Text that runs out of its (narrower) box: the box fits, the words do not.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim()) continue;
    if (el.closest('.skip-link, .visually-hidden, script, style, template')) continue;
    if (clipped(n)) continue;
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > vw + 0.5 || r.left < -0.5) {
      wide.push('text in ' + name(el) + ' [' + Math.round(r.left) + '..' + Math.round(r.right) + ']');
    }
  }
  return {
    innerWidth: vw,
    scrollWidth: document.documentElement.scrollWidth,
    wide: wide.slice(0, 12),
  };
}
"""


def overflow(page: Any) -> dict[str, Any]:
    """What sticks out horizontally on the current page (see ``OVERFLOW_PROBE``)."""
    return page.evaluate(OVERFLOW_PROBE)  # type: ignore[no-any-return]
