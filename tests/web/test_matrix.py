"""Every role x every protected route (API and console): allowed or 403, as the roles table says.

Expectations are computed from ``carepipe.core.auth.PERMISSIONS``, never written by hand;
a route of these areas missing from ROUTES fails the coverage test.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer

from carepipe.core.auth import PERMISSIONS, SYSTEM
from carepipe.core.errors import NotFound, PatientNotFound
from carepipe.ops import users
from carepipe.ops.users import console_secret
from tests.support.console import make_dead, make_user
from tests.support.console_http import sign_in
from tests.support.console_pipelines import HL7_TYPE, adt_message

STAFF_ROLES = users.STAFF_ROLES
# (method, path template, permissions needed). {t}: a dead task, {h}: a patient_not_found
# dead task, {b}: a bulk replay, {u}: another user, {g}: a payload grant, {r}: a scribe note
# waiting review (made only for roles that may read reviews), {i}: its flagged item.
API = [
    ("GET", "/v1/dlq", {"dlq.read"}),
    ("GET", "/v1/dlq/{t}", {"dlq.read"}),
    ("GET", "/v1/dlq/{t}/payload", {"dlq.read"}),
    ("POST", "/v1/dlq/{t}/payload/reveal", {"dlq.read", "payload.read_phi"}),
    ("POST", "/v1/dlq/{t}/replay", {"dlq.replay"}),
    ("POST", "/v1/dlq/{h}/map-patient", {"patients.map", "dlq.replay"}),
    ("POST", "/v1/dlq/bulk-replay", {"dlq.replay"}),
    ("GET", "/v1/dlq/bulk-replay", {"dlq.read"}),
    ("GET", "/v1/dlq/bulk-replay/{b}", {"dlq.read"}),
    ("GET", "/v1/audit", {"audit.read"}),
    ("GET", "/v1/audit/export", {"audit.read"}),
    ("GET", "/v1/audit/verify", {"audit.read"}),
    # Clinician review over the API, on a review of its own ({v}, its flagged item {j}),
    # in this order so each change finds the review where it can apply.
    ("GET", "/v1/reviews", {"review.read"}),
    ("GET", "/v1/reviews/{v}", {"review.read"}),
    ("GET", "/v1/reviews/{v}/audio", {"review.read"}),
    ("GET", "/v1/reviews/{v}/diff", {"review.read"}),
    ("PUT", "/v1/reviews/{v}", {"review.approve"}),
    ("POST", "/v1/reviews/{v}/restore", {"review.approve"}),
    ("POST", "/v1/reviews/{v}/items/{j}", {"review.approve"}),
    ("POST", "/v1/reviews/{v}/return", {"review.approve"}),
    ("POST", "/v1/reviews/{v}/approve", {"review.approve"}),
    # Models (issue 15): every staff role but clinician reads; each area's own tests cover
    # the changes (register, promote, deploy, ...) role by role.
    ("GET", "/v1/models", {"models.read"}),
    ("GET", "/v1/deployments", {"models.read"}),
    ("GET", "/v1/drift/events", {"models.read"}),
    ("GET", "/v1/evaluations", {"models.read"}),
    # Secrets store (issue 16): admin only; tests/ops/test_secrets_api.py covers the changes.
    ("GET", "/v1/secrets", {"secrets.manage"}),
    # Flags API (issue 16): reads; tests/flags/test_backend_api.py covers the changes.
    ("GET", "/v1/flags", {"flags.read"}),
    ("GET", "/v1/flags/{f}", {"flags.read"}),
    ("GET", "/v1/flags/{f}/versions", {"flags.read"}),
    ("GET", "/v1/flag-segments", {"flags.read"}),
    # Disaster-recovery drills (issue 17): {d} a stored drill, {n} its finding.
    ("GET", "/v1/dr/drills", {"dr.read"}),
    ("GET", "/v1/dr/drills/{d}", {"dr.read"}),
    ("GET", "/v1/dr/drills/{d}/report", {"dr.read"}),
    ("GET", "/v1/dr/findings", {"dr.read"}),
    ("PATCH", "/v1/dr/findings/{n}", {"dr.manage"}),
]
CONSOLE = [
    ("GET", "/console/dlq", {"dlq.read"}),
    ("GET", "/console/dlq/{t}", {"dlq.read"}),
    ("GET", "/console/dlq/{t}/status", {"dlq.read"}),
    ("POST", "/console/dlq/{t}/reveal", {"dlq.read", "payload.read_phi"}),
    ("GET", "/console/dlq/{t}/payload/raw?grant={g}", {"dlq.read", "payload.read_phi"}),
    ("POST", "/console/dlq/{t}/replay", {"dlq.read", "dlq.replay"}),
    ("POST", "/console/dlq/{h}/map-patient", {"dlq.read", "patients.map", "dlq.replay"}),
    ("GET", "/console/dlq/bulk-replay/confirm", {"dlq.read"}),
    ("POST", "/console/dlq/bulk-replay/confirm", {"dlq.read"}),
    ("POST", "/console/dlq/bulk-replay", {"dlq.read", "dlq.replay"}),
    ("GET", "/console/dlq/bulk-replay/{b}", {"dlq.read"}),
    ("GET", "/console/dlq/bulk-replay/{b}/progress", {"dlq.read"}),
    ("GET", "/console/audit", {"audit.read"}),
    ("GET", "/console/audit/verify", {"audit.read"}),
    ("GET", "/console/audit/export.csv", {"audit.read"}),
    ("GET", "/console/users", {"users.manage"}),
    ("POST", "/console/users", {"users.manage"}),
    ("POST", "/console/users/{u}/lock", {"users.manage"}),
    ("POST", "/console/users/{u}/unlock", {"users.manage"}),
    # Clinician review: in this order, so each change finds the review where it can apply.
    ("GET", "/console/reviews", {"review.read"}),
    ("GET", "/console/reviews/{r}", {"review.read"}),
    ("GET", "/console/reviews/{r}/audio", {"review.read"}),
    ("POST", "/console/reviews/{r}/preview", {"review.approve"}),
    ("POST", "/console/reviews/{r}/save", {"review.approve"}),
    ("POST", "/console/reviews/{r}/restore", {"review.approve"}),
    ("POST", "/console/reviews/{r}/items/{i}/decision", {"review.approve"}),
    ("POST", "/console/reviews/{r}/return", {"review.approve"}),
    ("POST", "/console/reviews/{r}/approve", {"review.approve"}),
    # Model quality (issue 14) and models (issue 15): every staff role but clinician.
    ("GET", "/console/model-quality", {"models.read"}),
    ("GET", "/console/models", {"models.read"}),
    ("GET", "/console/model-compare", {"models.read"}),
    ("GET", "/console/deployments", {"models.read"}),
    ("GET", "/console/model-drift", {"models.read"}),
    # API keys (issue 16): admin and ops; tests/web/test_keys_browser.py drives the actions.
    ("GET", "/console/keys", {"keys.manage"}),
    # Secrets (issue 16): admin only; tests/web/test_secrets_page.py submits the form.
    ("GET", "/console/secrets", {"secrets.manage"}),
    # Backups (issue 17): admin only; tests/ops/backup/test_backup_health.py presses the buttons.
    ("GET", "/console/backups", {"backup.manage"}),
    # Flags (issue 16): {f} a flag, {p} and {q} flags with a change pending (made by SYSTEM,
    # so any approver is a second person); in this order, so each change finds its version.
    ("GET", "/console/flags", {"flags.read"}),
    ("POST", "/console/flags", {"flags.manage"}),
    ("GET", "/console/flags/{f}", {"flags.read"}),
    ("POST", "/console/flags/{f}", {"flags.manage"}),
    ("POST", "/console/flags/{f}/enabled", {"flags.manage"}),
    ("POST", "/console/flags/{f}/rollback", {"flags.manage"}),
    ("POST", "/console/flags/{p}/approve", {"flags.approve"}),
    ("POST", "/console/flags/{q}/reject", {"flags.approve"}),
    # Drills (issue 17); tests/web/test_console_drills.py presses "Run drill now".
    ("GET", "/console/drills", {"dr.read"}),
    ("GET", "/console/drills/{d}", {"dr.read"}),
    ("POST", "/console/drills/{d}/findings/{n}", {"dr.manage"}),
    ("GET", "/console/drills/{d}/report.json", {"dr.read"}),
    ("GET", "/console/drills/{d}/findings.csv", {"dr.read"}),
]
MY_PREFIXES = (
    "/v1/dlq",
    "/v1/audit",
    "/v1/reviews",
    "/v1/dr",
    "/console/dlq",
    "/console/audit",
    "/console/users",
    "/console/reviews",
    "/console/model-quality",
    "/console/flags",
)
REVIEW_TENANT = "acme-review"


def _template(path: str) -> str:
    import re

    p = path.split("?")[0]
    p = re.sub(r"\{[thburivjfpqdn]\}", "{x}", p)
    return p


def test_every_route_of_these_areas_is_in_the_matrix(app):
    import re

    declared = {(m, _template(p)) for m, p, _ in API + CONSOLE}
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(MY_PREFIXES):
            continue
        norm = re.sub(r"\{[a-z_]+\}", "{x}", path).replace("export.{x}", "export.csv")
        for method in getattr(route, "methods", set()) - {"HEAD"}:
            assert (method, norm) in declared, f"{method} {path} is not in the permission matrix"


def _matrix_drill(db) -> dict[str, object]:
    """{d}: a stored drill, {n}: its finding."""
    from datetime import date

    from tests.support.dr_drills import stored_drill

    drill_id, (finding,) = stored_drill(db, findings=(("matrix", "low", date(2026, 6, 30)),))
    return {"d": drill_id, "n": finding}


def _flag_body(path: str) -> dict:
    """A form each flag change accepts, on the versions the matrix's order leaves."""
    why = {"justification": "matrix"}
    if path == "/console/flags":
        return {"data": {"key": "matrix-new", "tenants": "acme", "percent": "10", **why}}
    action = path.rsplit("/", 1)[1]
    data = {
        "{f}": {"based_on": "1", "tenants": "acme", "percent": "20", **why},
        "enabled": {"enabled": "false", **why},
        "rollback": {"to_version": "1", **why},
        "approve": {"version": "2"},
        "reject": {"version": "2", **why},
    }[action]
    return {"data": data}


def _matrix_flags(db) -> dict[str, str]:
    """{f}: a flag at version 1; {p}, {q}: four-eyes flags whose version 2 is pending."""
    from carepipe.flags import service

    off = {"kind": "boolean", "variants": {"on": True, "off": False}, "default_variant": "off"}
    with db.transaction() as s:
        for key, four_eyes in (("matrix-f", False), ("matrix-p", True), ("matrix-q", True)):
            service.create_flag(
                s, SYSTEM, key, off, justification="matrix", requires_approval=four_eyes
            )
        for key in ("matrix-p", "matrix-q"):
            on = {**off, "default_variant": "on"}
            service.update_flag(s, SYSTEM, key, on, justification="matrix", based_on=1)
    return {"f": "matrix-f", "p": "matrix-p", "q": "matrix-q"}


def _body(method: str, path: str, ids: dict) -> dict:
    if "/findings/" in path:  # a drill finding (issue 17)
        if path.startswith("/v1"):
            return {"json": {"owner": "matrix"}}
        return {"data": {"owner": "matrix", "due_date": "2026-06-30", "status": "open"}}
    if path.startswith("/console/flags"):
        return _flag_body(path) if method == "POST" else {}
    if path.endswith("/payload/reveal"):
        return {"json": {"reason": "matrix test"}}
    if path.endswith("/map-patient"):
        data = {
            "mrn": "MRN12345",
            "assigning_authority": "CITYHOSP",
            "abha_number": "12-3456-7890-1234",
        }
        return {"json": data} if path.startswith("/v1") else {"data": data}
    if path == "/v1/dlq/bulk-replay" and method == "POST":
        return {"json": {"task_ids": [ids["spare"]], "reason": "matrix"}}
    if path == "/console/dlq/bulk-replay/confirm" and method == "POST":
        return {"data": {"task_id": str(ids["spare"])}}
    if path == "/console/dlq/bulk-replay":
        return {"data": {"task_id": str(ids["spare"]), "reason": "matrix"}}
    if path == "/console/users" and method == "POST":
        return {"data": {"username": f"new-{ids['role']}".replace("_", "-"), "role": "clinician"}}
    if path.endswith("/reveal") or path.endswith("/replay"):
        return (
            {"json": {"reason": "matrix"}}
            if path.startswith("/v1")
            else {"data": {"reason": "matrix"}}
        )
    return {}


def _waiting_review(db, blobs, settings, username: str) -> tuple[str, str]:
    """A real scribe note waiting review (c01.flac: the first 10 s of a consultation), which
    ``username`` may review: ``(review id, an item id: a flagged one if there is one)``."""
    from pathlib import Path

    from carepipe.pipelines.ingest import submit
    from carepipe.pipelines.worker import Worker
    from carepipe.review import service
    from tests.support.waiting import wait_until

    audio = Path(__file__).resolve().parents[1] / "data" / "scribe" / "c01.flac"
    job = submit(
        db,
        blobs,
        tenant=REVIEW_TENANT,
        pipeline="scribe",
        payload=audio.read_bytes(),
        content_type="audio/flac",
    ).job_id
    worker = Worker(db, blobs, settings.model_copy(update={"review_tenants": REVIEW_TENANT}))
    worker.start_background()

    def opened() -> str | None:
        with db.session() as s:
            rows = service.list_reviews(s, SYSTEM, status="waiting").items
        return next((r.id for r in rows if r.job_id == job), None)

    try:
        review_id = wait_until(opened, timeout=480, interval=0.2, what="a waiting review")
    finally:
        worker.stop()
        worker.stopped.wait(30)
    with db.transaction() as s:
        service.assign_clinician(s, SYSTEM, username=username, tenant=REVIEW_TENANT)
    with db.session() as s:
        detail = service.get_review(s, blobs, SYSTEM, review_id)
    item = next((i for i in detail.items if i.flagged), detail.items[0])
    return review_id, item.id


def _review_body(path: str, db, blobs, review_id: str) -> dict:
    """A form each review action accepts, made on the review's current version."""
    from carepipe.review import service

    try:
        with db.session() as s:
            detail = service.get_review(s, blobs, SYSTEM, review_id)
        version, transcript = str(detail.version), detail.transcript
    except NotFound:  # no such review: the role is refused before any lookup
        version, transcript = "1", ""
    action = path.rsplit("/", 1)[1]
    data = {"base_version": version}
    if action == "save":
        data["transcript"] = transcript + " Matrix."
    elif action == "restore":
        data["version"] = "1"
    elif action == "decision":
        data["decision"] = "accept"
    elif action == "return":
        data["reason"] = "matrix"
    return {"data": data}


def _api_review_body(method: str, path: str, db, blobs, review_id: str) -> dict:
    """A JSON body each review action of the API accepts, on the review's current version."""
    from carepipe.review import service

    try:
        with db.session() as s:
            detail = service.get_review(s, blobs, SYSTEM, review_id)
        version, transcript = detail.version, detail.transcript
    except NotFound:  # no such review: the role is refused before any lookup
        version, transcript = 1, ""
    if method == "PUT":
        return {"json": {"base_version": version, "transcript": transcript + " Matrix."}}
    action = path.rsplit("/", 1)[1]
    body: dict = {"base_version": version}
    if action == "restore":
        body["version"] = 1
    elif action == "{j}":
        body["decision"] = "accept"
    elif action == "return":
        body["reason"] = "matrix"
    return {"json": body}


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_role_matrix(role, app, db, blobs, settings):
    granted = PERMISSIONS[role]
    make_user(db, "victim", "clinician")
    username = make_user(db, f"u-{role}".replace("_", "-"), role)
    with db.transaction() as s:
        token = users.issue_token(s, SYSTEM, username).plaintext
    grant = URLSafeTimedSerializer(console_secret(settings), salt="carepipe.payload-grant")

    def fresh() -> dict:
        return {
            "t": make_dead(db, blobs),
            "h": make_dead(
                db,
                blobs,
                pipeline="mrn_match",
                payload=adt_message(),
                content_type=HL7_TYPE,
                error=PatientNotFound("x"),
            ),
            "spare": make_dead(db, blobs),
            "u": "victim",
            "role": role,
            "r": review,
            "i": item,
            "v": api_review,
            "j": api_item,
            **flag_ids,
            **_matrix_drill(db),
        }

    from carepipe.ops import bulk_replay

    review, item = ("no-such-review", "x")
    api_review, api_item = ("no-such-review", "x")
    if "review.read" in granted:
        review, item = _waiting_review(db, blobs, settings, username)
        api_review, api_item = _waiting_review(db, blobs, settings, username)
    flag_ids = _matrix_flags(db)
    seed = make_dead(db, blobs)  # its own transactions: not inside the one below
    with db.transaction() as s:
        bid = bulk_replay.request_bulk_replay(
            s, SYSTEM, bulk_replay.BulkSelection(task_ids=(seed,))
        ).id
    results = []
    with TestClient(app) as api, TestClient(app) as console:
        csrf = sign_in(console, username)
        for kind, routes in (("api", API), ("console", CONSOLE)):
            for method, path, needs in routes:
                ids = fresh()
                ids["b"] = bid
                ids["g"] = grant.dumps({"u": username, "t": ids["t"]})
                url = path.format(**ids)
                kw = _body(method, path, ids)
                if path.startswith("/console/reviews/") and method == "POST":
                    kw = _review_body(path, db, blobs, review)
                if path.startswith("/v1/reviews/") and method in ("POST", "PUT"):
                    kw = _api_review_body(method, path, db, blobs, api_review)
                if kind == "api":
                    r = api.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kw)
                else:
                    headers = {"X-CSRF-Token": csrf} if method == "POST" else {}
                    r = console.request(method, url, headers=headers, follow_redirects=False, **kw)
                allowed = needs <= granted
                results.append((kind, method, path, r.status_code, allowed))
                if allowed:
                    assert r.status_code in (200, 202, 303), (
                        role,
                        method,
                        url,
                        r.status_code,
                        r.text[:300],
                    )
                else:
                    assert r.status_code == 403, (role, method, url, r.status_code, r.text[:300])
                    if kind == "api":
                        assert r.json()["error"]["code"] == "permission_denied"
                    else:
                        assert 'data-testid="error-code">permission_denied<' in r.text
    bulk_replay.runner.join(5)
    assert len(results) == len(API) + len(CONSOLE)
