"""The clinician review pages over HTTP (no browser), on SQLite and PostgreSQL.

Two real scribe jobs per database (the committed clips through the real worker, ASR and
note engine) wait for review: one of tenant ``clinic-a`` (c02.wav: a weight and a blood
pressure the note engine flags, a medication it trusts), one of ``clinic-b`` (c01.flac). The set-up runs once per database for the
whole module (the ASR is what costs); tests that change a review come last in the file,
and none relies on another's change.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore, LocalBlobStore
from carepipe.core.config import Settings
from carepipe.core.crypto import Cipher
from carepipe.core.db import Database
from carepipe.ops import users
from carepipe.ops.api_keys import create_key
from carepipe.pipelines.ingest import submit
from carepipe.pipelines.patient_context import PatientContext, seal_context
from carepipe.pipelines.worker import Worker
from carepipe.review import service
from tests.support.console import FAST_HASHER, make_user
from tests.support.console_http import sign_in
from tests.support.waiting import wait_until

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"
TENANT_A, TENANT_B = "clinic-a", "clinic-b"


@dataclass
class Env:
    app: Any
    db: Database
    blobs: BlobStore
    review_a: str  # clinic-a, c02.wav
    review_b: str  # clinic-b, c01.flac
    job_a: str
    job_b: str
    api_key_a: str


def _database_url(kind: str, request: pytest.FixtureRequest, tmp: Path) -> str:
    if kind == "sqlite":
        target = tmp / "carepipe.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    from tests.conftest import _truncate_pg

    url = request.getfixturevalue("pg_schema_url")
    _truncate_pg(url)
    return str(url)


def _scribe_job(db: Database, blobs: BlobStore, tenant: str, clip: str, mrn: str) -> str:
    meta = seal_context(
        blobs, PatientContext.model_validate({"mrn": mrn, "assigning_authority": "HOSP"})
    )
    return submit(
        db,
        blobs,
        tenant=tenant,
        pipeline="scribe",
        payload=(DATA / clip).read_bytes(),
        content_type="audio/flac" if clip.endswith(".flac") else "audio/wav",
        filename=clip,
        idempotency_key=f"visit-{tenant}-{clip}",
        meta=meta,
    ).job_id


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("review-pages")
    url = _database_url(request.param, request, tmp)
    settings = Settings(
        data_dir=tmp / "var",
        database_url=url,
        poll_interval_seconds=0.1,
        review_tenants=f"{TENANT_A},{TENANT_B}",
        _env_file=None,  # type: ignore[call-arg]
    )
    db = Database(settings.resolved_database_url)
    blobs = LocalBlobStore(tmp / "blobs", Cipher(b"r" * 32))
    previous = users.use_password_hasher(FAST_HASHER)
    job_a = _scribe_job(db, blobs, TENANT_A, "c02.wav", "MRN-A-1001")
    job_b = _scribe_job(db, blobs, TENANT_B, "c01.flac", "MRN-B-2002")
    worker = Worker(db, blobs, settings, concurrency=2)
    worker.start_background()
    try:
        page = wait_until(
            lambda: _both(db, job_a, job_b), timeout=480, interval=0.2, what="two reviews"
        )
    finally:
        worker.stop()
        worker.stopped.wait(30)
    by_job = {row.job_id: row.id for row in page}
    for name, role in (
        ("cleo", "clinician"),
        ("bea", "clinician"),
        ("olga", "ops"),
        ("ada", "admin"),
    ):
        make_user(db, name, role)
    with db.transaction() as s:
        service.assign_clinician(s, SYSTEM, username="cleo", tenant=TENANT_A)
        service.assign_clinician(s, SYSTEM, username="bea", tenant=TENANT_B)
        key = create_key(s, SYSTEM, tenant=TENANT_A, name="t", env="dev").plaintext
    try:
        yield Env(
            app=create_app(settings, db=db, blobs=blobs),
            db=db,
            blobs=blobs,
            review_a=by_job[job_a],
            review_b=by_job[job_b],
            job_a=job_a,
            job_b=job_b,
            api_key_a=key,
        )
    finally:
        users.use_password_hasher(previous)
        db.dispose()


def _both(db: Database, job_a: str, job_b: str) -> list[Any] | None:
    with db.session() as s:
        rows = service.list_reviews(s, SYSTEM, status="waiting").items
    return rows if {job_a, job_b} <= {r.job_id for r in rows} else None


def _client(env: Env, username: str) -> tuple[TestClient, str]:
    client = TestClient(env.app)
    return client, sign_in(client, username)


def _detail(env: Env, review_id: str) -> Any:
    with env.db.session() as s:
        return service.get_review(s, env.blobs, SYSTEM, review_id)


def _error_code(html: str) -> str | None:
    m = re.search(r'data-testid="error-code">([a-z_]+)<', html)
    return m.group(1) if m else None


def _medication(detail: Any) -> Any:
    return next(i for i in detail.items if i.kind == "medication")


# -- reading -------------------------------------------------------------------------------


def test_the_worklist_shows_the_clinicians_own_tenant(env):
    client, _ = _client(env, "cleo")
    r = client.get("/console/reviews")
    assert r.status_code == 200
    assert f'data-review-id="{env.review_a}"' in r.text
    assert env.review_b not in r.text  # clinic-b's note is not in clinic-a's worklist
    row = _detail(env, env.review_a)
    assert f"{row.flagged_open} of {row.flagged_total} flagged open" in r.text
    assert 'href="/console/reviews" aria-current="page">Reviews<' in r.text  # the nav link
    # Filters: nothing of clinic-a is approved yet; "overdue only" is a real filter.
    assert env.review_a not in client.get("/console/reviews?status=approved").text
    assert client.get("/console/reviews?status=nonsense").status_code == 400


def test_the_review_page_renders_words_items_and_evidence(env):
    client, _ = _client(env, "cleo")
    r = client.get(f"/console/reviews/{env.review_a}")
    assert r.status_code == 200, r.text[:300]
    detail = _detail(env, env.review_a)
    spans = re.findall(r'<span class="w[^"]*" data-i="(\d+)" data-start="([\d.]+)"', r.text)
    assert len(spans) == len(detail.words) > 20
    first = detail.words[0]
    assert (str(first.i), str(first.start)) == spans[0]
    low = [w for w in detail.words if w.low]
    assert r.text.count('class="w low"') == len(low)
    med = _medication(detail)
    assert f'id="item-{med.id}"' in r.text and med.evidence is not None
    assert f'data-play-start="{med.evidence.start_seconds}"' in r.text
    assert f"<q>{med.evidence.text}</q>" in r.text
    assert f'name="item.{med.id}.dose"' in r.text
    for reason in med.reasons:
        assert f"<li>{reason}</li>" in r.text
    assert 'src="/console/static/review.js"' in r.text and "<script>" not in r.text
    assert "Content-Security-Policy" in r.headers


def test_the_audio_is_served_with_byte_ranges(env):
    client, _ = _client(env, "cleo")
    whole = client.get(f"/console/reviews/{env.review_a}/audio")
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert whole.content == (DATA / "c02.wav").read_bytes()
    part = client.get(f"/console/reviews/{env.review_a}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    tail = client.get(f"/console/reviews/{env.review_a}/audio", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    beyond = client.get(
        f"/console/reviews/{env.review_a}/audio", headers={"Range": f"bytes={len(whole.content)}-"}
    )
    assert beyond.status_code == 416


def test_a_note_past_its_deadline_is_highlighted_and_filtered(env):
    from datetime import timedelta

    from carepipe.core.clock import FrozenClock, set_clock, utcnow

    client, _ = _client(env, "cleo")
    due = _detail(env, env.review_a).due_at
    assert env.review_a not in client.get("/console/reviews?overdue=yes").text
    assert env.review_a in client.get("/console/reviews?overdue=no").text
    # Two hours past the deadline (signed in again then: the old session would have expired).
    previous = set_clock(FrozenClock(max(utcnow(), due) + timedelta(hours=2, minutes=5)))
    try:
        client, _ = _client(env, "cleo")
        page = client.get("/console/reviews?overdue=yes")
        not_due = client.get("/console/reviews?overdue=no")
        review = client.get(f"/console/reviews/{env.review_a}")
    finally:
        set_clock(previous)
    row = re.search(
        rf'<tr class="([^"]*)" data-review-id="{env.review_a}">(.*?)</tr>', page.text, re.S
    )
    assert row is not None and row.group(1) == "overdue"
    assert 'data-testid="overdue">overdue by 2 h 5 min<' in row.group(2)
    assert env.review_a not in not_due.text
    assert '<strong class="overdue-badge">overdue by 2 h 5 min</strong>' in review.text


def test_admin_pages_through_every_tenant(env):
    client, _ = _client(env, "ada")
    first = client.get("/console/reviews?limit=1")
    assert first.status_code == 200
    ids = re.findall(r'data-review-id="([^"]+)"', first.text)
    assert len(ids) == 1
    nxt = re.search(r'href="\?([^"]*after=[^"]+)" rel="next"', first.text)
    assert nxt, "a second page is offered"
    second = client.get("/console/reviews?" + nxt.group(1).replace("&amp;", "&"))
    ids2 = re.findall(r'data-review-id="([^"]+)"', second.text)
    assert len(ids2) == 1 and ids2 != ids
    assert {ids[0], ids2[0]} == {env.review_a, env.review_b}


# -- refusals ------------------------------------------------------------------------------


def test_another_tenants_clinician_gets_404(env):
    client, csrf = _client(env, "bea")
    before = _detail(env, env.review_a).version
    for path in (f"/console/reviews/{env.review_a}", f"/console/reviews/{env.review_a}/audio"):
        r = client.get(path)
        assert r.status_code == 404 and _error_code(r.text) == "not_found", path
    for action, data in (
        ("save", {"transcript": "changed", "base_version": str(before)}),
        ("approve", {"base_version": str(before)}),
        ("return", {"reason": "not mine", "base_version": str(before)}),
    ):
        r = client.post(
            f"/console/reviews/{env.review_a}/{action}",
            data={**data, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert r.status_code == 404, (action, r.status_code)
    assert _detail(env, env.review_a).version == before
    assert env.review_a not in client.get("/console/reviews").text


def test_ops_gets_403_on_the_page_and_on_a_post(env):
    client, csrf = _client(env, "olga")
    assert "/console/reviews" not in client.get("/console/").text  # no nav link
    for path in ("/console/reviews", f"/console/reviews/{env.review_a}"):
        r = client.get(path)
        assert r.status_code == 403 and _error_code(r.text) == "permission_denied"
    version = _detail(env, env.review_a).version
    r = client.post(
        f"/console/reviews/{env.review_a}/save",
        data={"transcript": "ops edit", "base_version": str(version), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 403 and _error_code(r.text) == "permission_denied"
    assert _detail(env, env.review_a).version == version


def test_posts_need_the_csrf_token(env):
    client, csrf = _client(env, "cleo")
    version = _detail(env, env.review_a).version
    for action in ("save", "approve", "return"):
        r = client.post(
            f"/console/reviews/{env.review_a}/{action}",
            data={"transcript": "x", "reason": "x", "base_version": str(version)},
            follow_redirects=False,
        )
        assert r.status_code == 403 and _error_code(r.text) == "csrf_failed", action
        wrong = client.post(
            f"/console/reviews/{env.review_a}/{action}",
            data={"reason": "x", "base_version": str(version), "csrf_token": csrf[:-2] + "xx"},
            follow_redirects=False,
        )
        assert wrong.status_code == 403, action
    assert _detail(env, env.review_a).version == version


def test_a_nul_in_a_form_is_refused(env):
    client, csrf = _client(env, "cleo")
    detail = _detail(env, env.review_a)
    r = client.post(
        f"/console/reviews/{env.review_a}/save",
        data={
            "transcript": "fine\x00text",
            "base_version": str(detail.version),
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 422 and _error_code(r.text) == "validation_failed"
    med = _medication(detail)
    r = client.post(
        f"/console/reviews/{env.review_a}/save",
        data={
            f"item.{med.id}.route": "or\x00al",
            "base_version": str(detail.version),
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 422
    assert _detail(env, env.review_a).version == detail.version


def test_a_dose_that_is_not_a_number_is_refused_on_the_page(env):
    client, csrf = _client(env, "cleo")
    detail = _detail(env, env.review_a)
    med = _medication(detail)
    r = client.post(
        f"/console/reviews/{env.review_a}/save",
        data={
            f"item.{med.id}.dose": "ten",
            "base_version": str(detail.version),
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 400
    assert "Not saved: dose must be a number" in r.text
    assert 'value="ten" size="10" class="changed"' in r.text  # what was typed stays
    assert _detail(env, env.review_a).version == detail.version


def test_a_save_that_changes_nothing_adds_no_version(env):
    client, csrf = _client(env, "cleo")
    detail = _detail(env, env.review_a)
    med = _medication(detail)
    r = client.post(
        f"/console/reviews/{env.review_a}/save",
        data={
            "transcript": detail.transcript + "\r\n",  # what a browser sends back, unchanged
            f"item.{med.id}.dose": str(med.fields["dose"]),  # 5.0 for 5: the same number
            "base_version": str(detail.version),
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=nothing#diff")
    assert _detail(env, env.review_a).version == detail.version


def test_approval_is_refused_while_flagged_items_remain(env):
    client, csrf = _client(env, "cleo")
    detail = _detail(env, env.review_a)
    open_items = [i for i in detail.items if i.flagged and i.decision == "pending"]
    assert open_items, "c02's note has flagged items (the weight, the blood pressure)"
    r = client.post(
        f"/console/reviews/{env.review_a}/approve",
        data={"base_version": str(detail.version), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 409
    assert f"Not approved: {len(open_items)} flagged item(s) still need a decision" in r.text
    remaining = re.search(r'data-testid="remaining">(.*?)</div>', r.text, re.S)
    assert remaining is not None
    for item in open_items:
        assert f'href="#item-{item.id}"' in remaining.group(1)
    assert _detail(env, env.review_a).status == "waiting"


# -- changes (each on what it finds; they come last) -------------------------------------------


def test_preview_then_save_a_dose_then_restore(env):
    client, csrf = _client(env, "cleo")
    detail = _detail(env, env.review_a)
    med = _medication(detail)
    old = med.fields["dose"]
    new = old + 5
    old_text = str(int(old)) if float(old).is_integer() else str(old)
    new_text = str(int(new)) if float(new).is_integer() else str(new)
    form = {
        f"item.{med.id}.dose": new_text,
        "base_version": str(detail.version),
        "csrf_token": csrf,
    }
    preview = client.post(f"/console/reviews/{env.review_a}/preview", data=form)
    assert preview.status_code == 200
    assert "preview, not saved" in preview.text
    assert f"<del>{old_text}</del> <ins>{new_text}</ins>" in preview.text
    assert f'value="{new_text}" size="10" class="changed"' in preview.text  # kept as typed
    assert _detail(env, env.review_a).version == detail.version  # nothing stored

    saved = client.post(f"/console/reviews/{env.review_a}/save", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text[:500]
    page = client.get(saved.headers["location"])
    after = _detail(env, env.review_a)
    assert after.version == detail.version + 1
    assert _medication(after).fields["dose"] == new
    assert "Saved as a new version." in page.text
    assert f"<del>{old_text}</del> <ins>{new_text}</ins>" in page.text  # the saved diff
    history = re.findall(r'<tr data-version="(\d+)"', page.text)
    assert [int(v) for v in history] == sorted((v.version for v in after.versions), reverse=True)
    assert len(history) >= 2

    restored = client.post(
        f"/console/reviews/{env.review_a}/restore",
        data={
            "version": str(detail.version),
            "base_version": str(after.version),
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert restored.status_code == 303
    back = _detail(env, env.review_a)
    assert back.version == after.version + 1 and _medication(back).fields["dose"] == old


def test_a_stale_save_is_a_conflict_that_says_who_saved(env):
    cleo, cleo_csrf = _client(env, "cleo")
    ada, ada_csrf = _client(env, "ada")
    detail = _detail(env, env.review_a)
    base = str(detail.version)
    first = ada.post(
        f"/console/reviews/{env.review_a}/save",
        data={
            "transcript": detail.transcript + " Ada was here.",
            "base_version": base,
            "csrf_token": ada_csrf,
        },
        follow_redirects=False,
    )
    assert first.status_code == 303
    second = cleo.post(
        f"/console/reviews/{env.review_a}/save",
        data={
            "transcript": detail.transcript + " Cleo too.",
            "base_version": base,
            "csrf_token": cleo_csrf,
        },
        follow_redirects=False,
    )
    assert second.status_code == 409
    now = _detail(env, env.review_a)
    assert now.version == detail.version + 1
    assert now.transcript.endswith("Ada was here.")
    assert (
        f"another reviewer (user:ada) saved version {now.version} of this note while you "
        f"were working on version {base}"
    ) in second.text
    assert f'name="base_version" value="{now.version}"' in second.text  # the fresh page


def test_returning_a_note_keeps_the_job_waiting_with_the_reason(env):
    client, csrf = _client(env, "bea")
    detail = _detail(env, env.review_b)
    empty = client.post(
        f"/console/reviews/{env.review_b}/return",
        data={"reason": "  ", "base_version": str(detail.version), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert empty.status_code == 400 and "say why" in empty.text
    r = client.post(
        f"/console/reviews/{env.review_b}/return",
        data={
            "reason": "Audio cuts off: please re-record",
            "base_version": str(detail.version),
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert "Returned by user:bea: Audio cuts off: please re-record" in page.text or (
        "Returned" in page.text and "Audio cuts off: please re-record" in page.text
    )
    assert _detail(env, env.review_b).status == "returned"
    # The job keeps waiting (read through the API, as a partner would).
    with env.db.transaction() as s:
        key = create_key(s, SYSTEM, tenant=TENANT_B, name="b", env="dev").plaintext
    with TestClient(env.app) as api:
        job = api.get(f"/v1/jobs/{env.job_b}", headers={"Authorization": f"Bearer {key}"})
    assert job.status_code == 200 and job.json()["status"] == "waiting_review"
