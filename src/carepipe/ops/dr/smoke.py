"""Smoke tests against a started standby, through its front doors: HTTP, the CLI, MLLP,
a headless browser; plus the row-count and blob-hash comparisons. Each returns a
``SmokeResult`` (never raises): a failing check is a result, not a crash.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select

from carepipe.core.db import Database
from carepipe.core.models import Job
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.ops.dr.census import compare_census
from carepipe.ops.dr.standby import StandbyEndpoints
from carepipe.ops.dr.views import SmokeResult

JOB_TIMEOUT = 30.0
CLI_TIMEOUT = 120.0
# Debian's Chromium first (the one tests use), then whatever Playwright installed.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _timed(name: str, check: Callable[[], tuple[bool, str]]) -> SmokeResult:
    started = time.monotonic()
    try:
        ok, detail = check()
    except Exception as exc:  # a check that blows up has failed; the drill goes on
        ok, detail = False, f"{type(exc).__name__}: {str(exc)[:300]}"
    return SmokeResult(
        name=name, ok=ok, seconds=round(time.monotonic() - started, 3), detail=detail
    )


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``carepipe ARGS`` against the standby (its environment, its data directory)."""
    return subprocess.run(
        [sys.executable, "-m", "carepipe.cli", *args],
        env=env,
        cwd=env.get("CAREPIPE_DATA_DIR", "."),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def health(ep: StandbyEndpoints) -> SmokeResult:
    """``/healthz`` alive and ``/readyz`` ready (database answers, schema current)."""

    def check() -> tuple[bool, str]:
        live = httpx.get(ep.base_url + "/healthz", timeout=5).status_code
        ready = httpx.get(ep.base_url + "/readyz", timeout=5).status_code
        return live == 200 and ready == 200, f"healthz {live}, readyz {ready}"

    return _timed("health", check)


def _api_key(ep: StandbyEndpoints, drill_id: str) -> str:
    r = run_cli(ep.env, "keys", "create", "--tenant", "default", "--name", f"dr-{drill_id[:8]}")
    if r.returncode != 0:
        raise RuntimeError(f"carepipe keys create exited {r.returncode}: {r.stderr[-300:]}")
    return r.stdout.strip().splitlines()[-1]


def api_job(ep: StandbyEndpoints, drill_id: str) -> SmokeResult:
    """An API key made with ``carepipe keys create``, an ``echo`` job POSTed (202) and
    polled until it has succeeded (the standby's workers run it)."""

    def check() -> tuple[bool, str]:
        key = _api_key(ep, drill_id)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=ep.base_url, headers=headers, timeout=10) as client:
            r = client.post("/v1/jobs", json={"pipeline": "echo", "payload": {"drill": drill_id}})
            if r.status_code != 202:
                return False, f"POST /v1/jobs answered {r.status_code}"
            job_id = r.json()["id"]
            deadline = time.monotonic() + JOB_TIMEOUT
            status = "queued"
            while time.monotonic() < deadline:
                status = client.get(f"/v1/jobs/{job_id}").json().get("status", "?")
                if status in {"succeeded", "dead", "cancelled"}:
                    break
                time.sleep(0.2)
            return status == "succeeded", f"job {job_id} {status}"

    return _timed("api_job", check)


def _adt(control: str) -> str:
    # A synthetic test patient: the drill sends no real data.
    return (
        f"MSH|^~\\&|DRDRILL|DRSITE|CAREPIPE|CP|20260101120000||ADT^A01^ADT_A01|{control}|P|2.5.1\r"
        "PID|1||DRILL0001^^^DRSITE^MR||Drill^Smoke||19700101|U\r"
        "PV1|1|O|DR^1^A\r"
    )


def mllp(ep: StandbyEndpoints, drill_id: str) -> SmokeResult:
    """An ADT over MLLP to the standby's port, ACKed ``AA``, and its job in the database."""

    def check() -> tuple[bool, str]:
        control = f"DR{drill_id[:16]}"
        (ack,) = send_messages_sync("127.0.0.1", ep.mllp_port, [_adt(control)], timeout=10)
        if f"MSA|AA|{control}" not in ack:
            return (
                False,
                f"no AA for {control}: {ack.replace(chr(13), ' ')[:80]}",
            )
        db = Database(ep.database_url)
        try:
            with db.session() as session:
                job = session.scalar(
                    select(Job.id).where(Job.idempotency_key.like(f"hl7:%:{control}"))
                )
        finally:
            db.dispose()
        return job is not None, f"AA for {control}, job {job or 'not found'}"

    return _timed("mllp", check)


def _chromium() -> str | None:
    return next((p for p in CHROMIUM_PATHS if Path(p).exists()), None) or shutil.which("chromium")


def console_signin(ep: StandbyEndpoints) -> SmokeResult:
    """Headless Chromium (Playwright) loads ``/console/login`` and sees the sign-in form."""

    def check() -> tuple[bool, str]:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            return False, "no headless browser: Playwright is not installed"
        executable = _chromium()
        with sync_playwright() as p:
            try:
                browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            except Exception as exc:
                return False, f"no headless browser: {type(exc).__name__}"
            try:
                page = browser.new_page()
                response = page.goto(ep.base_url + "/console/login", timeout=20_000)
                status = response.status if response is not None else 0
                form = page.locator("form[action='/console/login']")
                fields = (
                    form.locator("input[name='username']").count()
                    + form.locator("input[type='password']").count()
                )
                heading = page.locator("h1").first.inner_text(timeout=5_000)
            finally:
                browser.close()
        ok = status == 200 and fields == 2 and "Sign in" in heading
        return ok, f"HTTP {status}, heading {heading!r}, sign-in fields {fields}/2"

    return _timed("console_signin", check)


def audit_verify(ep: StandbyEndpoints) -> SmokeResult:
    """``carepipe audit verify`` against the standby exits 0."""

    def check() -> tuple[bool, str]:
        r = run_cli(ep.env, "audit", "verify")
        first = (r.stdout.strip().splitlines() or [""])[0]
        problem = (r.stderr.strip().splitlines() or [""])[0]
        return r.returncode == 0, f"exit {r.returncode}: {first} {problem}".strip()[:300]

    return _timed("audit_verify", check)


def row_counts(
    primary: dict[str, dict[str, Any]], standby: dict[str, dict[str, Any]]
) -> SmokeResult:
    """Every row the primary had before fence - RPO target is on the standby, per table
    (counts taken before the smoke tests wrote anything)."""

    def check() -> tuple[bool, str]:
        ok, diffs = compare_census(primary, standby)
        if not diffs:
            return True, f"{len(primary)} tables, all counts equal"
        shown = "; ".join(
            f"{d['table']} {d.get('primary', '-')}/{d.get('standby', '-')}"
            + (f" ({d['problem']})" if "problem" in d else "")
            for d in diffs[:8]
        )
        return ok, f"{len(primary)} tables, {len(diffs)} differ (primary/standby): {shown}"

    return _timed("row_counts", check)


def _blob_dir(ep: StandbyEndpoints) -> Path | None:
    url = ep.env.get("CAREPIPE_BLOB_URL") or (ep.data_dir / "blobs").as_uri()
    parsed = urlparse(url)
    return Path(parsed.path) if parsed.scheme == "file" else None


def blob_hashes(
    ep: StandbyEndpoints,
    manifest: dict[str, str] | None,
    referenced: list[str],
    recent: Sequence[str] = (),
) -> SmokeResult:
    """The standby's blob files against the backup manifest's sha256 (stored bytes), and
    every payload that restored messages received before the RPO window refer to present
    (``referenced``); payloads of younger messages (``recent``) are counted, not required."""

    def check() -> tuple[bool, str]:
        if manifest is None:
            return True, "no blob backup manifest: the blob store is not backed up by CarePipe"
        root = _blob_dir(ep)
        if root is None:
            return False, "the standby's blob store is not a local directory"
        bad = []
        for rel, sha in sorted(manifest.items()):
            path = root / rel
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                bad.append(rel)
        absent = [k for k in referenced if not _blob_path(root, k).is_file()]
        detail = f"{len(manifest) - len(bad)} of {len(manifest)} blobs match the manifest"
        if bad:
            detail += f" ({len(bad)} missing or altered, first {bad[0]})"
        detail += f"; {len(referenced) - len(absent)} of {len(referenced)} payloads of "
        detail += "messages older than the RPO window present"
        if absent:
            detail += " (the rest were stored after the last blob backup)"
        late = [k for k in recent if not _blob_path(root, k).is_file()]
        if late:
            detail += f"; {len(late)} payload(s) of messages inside the RPO window not yet copied"
        return not bad and not absent, detail

    return _timed("blob_hashes", check)


def _blob_path(root: Path, key: str) -> Path:
    # The local blob store's layout: ``sha256/<hex>`` at ``<root>/ab/cd/<hex>``.
    digest = key[len("sha256/") :]
    return root / digest[:2] / digest[2:4] / digest
