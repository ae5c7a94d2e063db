"""Issue 9 ("the console, checked as an operator would") and issue 10 F2, over HTTP.

- A dead letter declared JSON that is not JSON opens (console and API), masked text.
- ``patient_not_found``: one form; the MRN alone prefilled for whoever may map (audited);
  one row labelled "Message"; attempts told right after a replay; "(1 attempt)".
- Times carry their zone; UTC date filters take and show UTC text, not a locale format.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.core.auth import SYSTEM
from carepipe.core.errors import PatientNotFound
from carepipe.core.models import AuditEvent
from carepipe.core.queue import claim, fail
from carepipe.ops import users
from tests.support.console import make_dead, make_user
from tests.support.console_http import csrf_of, sign_in
from tests.support.console_pipelines import HL7_TYPE, adt_message

TRUNCATED = b'{"pipeline": "echo", "patient": {"name": "Priya Sharma", "mrn": "MRN77"}, "payload":'
MASK = "•••"


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def _audits(db, action):
    with db.session() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _token(db, username):
    with db.transaction() as s:
        return users.issue_token(s, SYSTEM, username).plaintext


def _unmasked_pid(db, blobs):
    return make_dead(
        db,
        blobs,
        pipeline="mrn_match",
        payload=adt_message(mrn="MRN12345", authority="CITYHOSP"),
        content_type=HL7_TYPE,
        error=PatientNotFound("no patient index entry for PID-3"),
    )


# -- F2: declared JSON, not JSON -------------------------------------------------------------


def test_invalid_json_dead_letter_opens_masked_in_console_and_api(client, db, blobs):
    tid = make_dead(db, blobs, payload=TRUNCATED, content_type="application/json")
    make_user(db, "olga", "ops")
    make_user(db, "milo", "ml_engineer")

    sign_in(client, "milo")
    page = client.get(f"/console/dlq/{tid}")
    assert page.status_code == 200, page.text[:300]
    assert 'data-testid="payload-note"' in page.text
    assert "not valid JSON" in page.text and "line 1, column" in page.text
    text = re.search(r'data-testid="payload-text">([^<]*)<', page.text).group(1)
    # Structure and field names stay; no value does.
    assert "&#34;pipeline&#34;:" in text or '"pipeline":' in text
    assert MASK in text
    for secret in ("Priya", "Sharma", "MRN77", "echo"):
        assert secret not in page.text

    api = client.get(
        f"/v1/dlq/{tid}/payload", headers={"Authorization": f"Bearer {_token(db, 'milo')}"}
    )
    assert api.status_code == 200, api.text[:300]
    body = api.json()
    assert body["kind"] == "text" and body["content_type"] == "application/json"
    assert "not valid JSON" in body["note"]
    assert body["text"].startswith('{"pipeline": "•••", "patient": {"name": "•••"')
    assert "Priya" not in api.text and "MRN77" not in api.text

    # Revealed (ops, with a reason): the text as it was sent, still with the note.
    revealed = client.post(
        f"/v1/dlq/{tid}/payload/reveal",
        json={"reason": "INC-7 why did it fail"},
        headers={"Authorization": f"Bearer {_token(db, 'olga')}"},
    )
    assert revealed.status_code == 200
    assert revealed.json()["text"] == TRUNCATED.decode()
    client.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
    sign_in(client, "olga")
    token = csrf_of(client.get(f"/console/dlq/{tid}").text)
    r = client.post(f"/console/dlq/{tid}/reveal", data={"csrf_token": token, "reason": "INC-7"})
    assert r.status_code == 200 and "Priya Sharma" in r.text and "payload-note" in r.text


def test_not_utf8_declared_json_is_shown_as_bytes(client, db, blobs):
    raw = b'{"x": "\xff\xfe\x00 broken'
    tid = make_dead(db, blobs, payload=raw, content_type="application/json")
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    page = client.get(f"/console/dlq/{tid}")
    assert page.status_code == 200 and "shown as bytes" in page.text
    token = csrf_of(page.text)
    r = client.post(f"/console/dlq/{tid}/reveal", data={"csrf_token": token, "reason": "INC-8"})
    assert r.status_code == 200
    dump = re.search(r'data-testid="payload-bytes">([^<]*)<', r.text).group(1)
    assert dump.startswith("00000000  7b 22 78 22") and "ff fe 00" in dump


def test_deeply_nested_json_dead_letter_opens(client, db, blobs):
    tid = make_dead(db, blobs, payload=b"[" * 5000 + b"]" * 5000, content_type="application/json")
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    page = client.get(f"/console/dlq/{tid}")
    assert page.status_code == 200 and "nested too deeply" in page.text


# -- patient_not_found: one form, the MRN alone, audited ----------------------------------------


def test_patient_not_found_page_has_one_form_and_the_mrn_alone(client, db, blobs):
    tid = _unmasked_pid(db, blobs)
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    page = client.get(f"/console/dlq/{tid}").text
    # One form to fix it; replay alone is not offered, and the page says why.
    assert page.count(f'action="/console/dlq/{tid}/map-patient"') == 1
    assert f'action="/console/dlq/{tid}/replay"' not in page
    assert 'data-testid="replay-disabled-reason"' in page
    assert "Save mapping and replay" in page
    # The MRN and authority are prefilled without a reveal; the rest of PID stays masked.
    assert re.search(r'id="mrn" name="mrn"[^>]*value="MRN12345"', page)
    assert re.search(r'id="authority"[^>]*value="CITYHOSP"', page)
    assert 'data-testid="masked-banner"' in page and "Sharma" not in page
    assert _audits(db, "payload.reveal") == []
    (view,) = _audits(db, "payload.view_mrn")
    assert view.actor == "user:olga" and view.target_id == str(tid)
    assert "MRN12345" not in str(view.after)
    # One row labelled "Message".
    labels = re.findall(r"<dt>([^<]+)</dt>", page)
    assert labels.count("Message") == 1 and "Archived as" in labels
    assert re.search(r'data-testid="attempts">\s*1 of \d+\s*<', page)


def test_roles_that_cannot_map_see_no_mrn_and_leave_no_view_event(client, db, blobs):
    tid = _unmasked_pid(db, blobs)
    make_user(db, "milo", "ml_engineer")
    sign_in(client, "milo")
    page = client.get(f"/console/dlq/{tid}").text
    assert "MRN12345" not in page and "map-patient" not in page
    assert _audits(db, "payload.view_mrn") == []


def test_already_mapped_mrn_offers_replay_as_the_one_action(client, db, blobs):
    tid = _unmasked_pid(db, blobs)
    make_user(db, "olga", "ops")
    from carepipe.interop.identity.service import upsert

    with db.transaction() as s:  # mapped meanwhile, e.g. on the Patients page
        upsert(
            s,
            tenant="acme",
            mrn="MRN12345",
            assigning_authority="CITYHOSP",
            abha_number="12-3456-7890-1234",
            source="console",
            actor="user:priya",
        )
    sign_in(client, "olga")
    page = client.get(f"/console/dlq/{tid}").text
    assert 'data-testid="already-mapped"' in page
    assert f'action="/console/dlq/{tid}/replay"' in page
    assert "map-patient" not in page


def test_attempts_after_a_replay_and_plural(client, db, blobs, settings):
    tid = _unmasked_pid(db, blobs)
    make_user(db, "olga", "ops")
    csrf = sign_in(client, "olga")
    page = client.get(f"/console/dlq/{tid}").text
    assert "(1 attempt)" in page and "(1 attempts)" not in page
    r = client.post(
        f"/console/dlq/{tid}/map-patient",
        data={
            "csrf_token": csrf,
            "mrn": "MRN99999",  # a different MRN: the replay dies again
            "abha_number": "12-3456-7890-1234",
            "reason": "INC-1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/console/dlq/{tid}").text
    assert re.search(r'data-testid="attempts">\s*1 in all: 1 before the replay, 0 since', page)
    (task,) = claim(db, queues=["t_match"], worker_id="test", limit=1, lease_seconds=30)
    fail(db, task, PatientNotFound("still not found"), retry_base=0.1, retry_cap=0.1)
    page = client.get(f"/console/dlq/{tid}").text
    assert re.search(
        r'data-testid="attempts">\s*2 in all: 1 before the replay, 1 since \(up to \d+\)', page
    )
    assert not re.search(r'data-testid="attempts">\s*1 of', page)


def test_status_fragment_reloads_the_page_once_the_job_ended(client, db, blobs):
    tid = make_dead(db, blobs)
    make_user(db, "olga", "ops")
    sign_in(client, "olga")
    r = client.get(f"/console/dlq/{tid}/status")
    assert r.headers.get("HX-Refresh") == "true"  # dead is an end: show the whole page


# -- times with their zone; UTC filters in UTC -------------------------------------------------


def test_audit_and_bulk_times_carry_utc_and_filters_take_utc_text(client, db, blobs, clock):
    make_user(db, "ada", "admin")
    tid = make_dead(db, blobs)
    csrf = sign_in(client, "ada")
    r = client.post(
        "/console/dlq/bulk-replay",
        data={"csrf_token": csrf, "task_id": str(tid), "reason": "INC-3"},
        follow_redirects=False,
    )
    bulk = client.get(r.headers["location"]).text
    assert re.search(
        r"Requested by \S+ at <time[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time>", bulk
    )
    dlq_list = client.get("/console/dlq").text
    assert re.search(r"<time[^>]*>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</time></a>", dlq_list)

    audit = client.get("/console/audit").text
    times = re.findall(r'<td><time class="nowrap" datetime="[^"]+">([^<]+)</time></td>', audit)
    assert times and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", t) for t in times)
    # The date filters are text in one explicit UTC format, not datetime-local.
    assert 'type="datetime-local"' not in audit + dlq_list
    assert re.search(r'id="a-since" name="since" type="text"', audit)
    now = clock.now()
    since = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")  # ISO typed
    r = client.get("/console/audit", params={"since": since, "until": "2999-01-01 00:00 UTC"})
    assert r.status_code == 200
    shown = (now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'id="a-since" name="since" type="text" value="{shown}"', r.text)
    assert re.search(r'id="a-until" name="until" type="text" value="2999-01-01 00:00"', r.text)
    # An offset is converted to UTC, and shown so.
    r = client.get("/console/dlq", params={"since": "2026-03-01T17:30+05:30"})
    assert re.search(r'id="f-since" name="since" type="text" value="2026-03-01 12:00"', r.text)
    r = client.get("/console/audit", params={"since": "03/01/2026, 12:00 PM"})
    assert r.status_code == 400 and "times look like 2026-03-01 12:00" in r.text
