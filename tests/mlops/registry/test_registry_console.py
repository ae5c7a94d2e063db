"""``/console/models`` over HTTP with a signed-in session: the list with its filters, a
model's versions, a version's metrics chart and history, a blocked promotion showing every
check, CSRF on changes, and buttons only for those who may use them."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from carepipe.app import create_app
from tests.mlops.registry.conftest import add_evaluation
from tests.support.console import make_user
from tests.support.console_http import sign_in


def _console(settings, db, blobs, username, *roles):
    make_user(db, username, *roles)
    c = TestClient(create_app(settings, db=db, blobs=blobs))
    c.__enter__()
    return c, sign_in(c, username)


def test_console_lists_shows_and_promotes_with_every_check(settings, db, blobs, client, people):
    assert (
        client.post(
            "/v1/models",
            headers=people.dana,
            json={"name": "asr-ft", "kind": "asr", "description": "clinic tune"},
        ).status_code
        == 201
    )
    assert (
        client.post(
            "/v1/models", headers=people.dana, json={"name": "note-x", "kind": "note"}
        ).status_code
        == 201
    )
    for _ in range(2):
        client.post(
            "/v1/models/asr-ft/versions",
            headers=people.dana,
            json={"format": "packaged-whisper", "packaged": "base"},
        )
    add_evaluation(db, "asr-ft@1", {"wer": 0.34}, minutes_ago=30)
    add_evaluation(db, "asr-ft@1", {"wer": 0.31}, minutes_ago=20)

    eng, csrf = _console(settings, db, blobs, "erin", "ml_engineer")
    try:
        page = eng.get("/console/models")
        assert page.status_code == 200 and "asr-ft" in page.text and "note-x" in page.text
        filtered = eng.get("/console/models?kind=note").text
        assert "note-x" in filtered and "asr-ft" not in filtered
        assert "No models match." in eng.get("/console/models?q=zzz").text

        model = eng.get("/console/models/asr-ft").text
        assert "clinic tune" in model and ">v2<" in model and "905e5bf8336b" in model
        assert 'action="/console/models/asr-ft/aliases"' in model

        version = eng.get("/console/models/asr-ft/versions/1")
        assert version.status_code == 200
        svg = re.search(r'<svg[^>]*data-testid="metric-chart".*?</svg>', version.text, re.S)
        assert svg and svg.group(0).count("<circle") == 2 and "wer 0.31" in svg.group(0)
        assert "style=" not in version.text and "<script>" not in version.text
        assert "Content-Security-Policy" in version.headers

        # A change without the CSRF token is refused.
        r = eng.post(
            "/console/models/asr-ft/versions/1/promote",
            data={"to_stage": "staging", "expected_revision": 1},
        )
        assert r.status_code == 403
        # Blocked: the page shows the error code and every check with its figure.
        r = eng.post(
            "/console/models/asr-ft/versions/1/promote",
            data={"to_stage": "staging", "expected_revision": 1, "csrf_token": csrf},
        )
        assert r.status_code == 409
        checks = re.search(r'data-testid="checks">.*?</table>', r.text, re.S).group(0)
        assert "promotion_blocked" in r.text and "wer_max" in checks and "0.31" in checks
        assert "no_regression_vs_production" in checks and "&lt;= 0.3" in checks
        add_evaluation(db, "asr-ft@1", {"wer": 0.22})
        r = eng.post(
            "/console/models/asr-ft/versions/1/promote",
            data={
                "to_stage": "staging",
                "expected_revision": 1,
                "reason": "ok",
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        after = eng.get("/console/models/asr-ft/versions/1").text
        assert 'data-testid="stage">staging<' in after and "development → staging" in after
        # A stale form (revision 1 again) is a conflict, shown with its code.
        r = eng.post(
            "/console/models/asr-ft/versions/1/promote",
            data={"to_stage": "archived", "expected_revision": 1, "csrf_token": csrf},
        )
        assert r.status_code == 409 and "registry_conflict" in r.text
        r = eng.post(
            "/console/models/asr-ft/aliases",
            data={"alias": "challenger", "version": 2, "expected_revision": 99, "csrf_token": csrf},
        )
        assert r.status_code == 409 and "registry_conflict" in r.text
    finally:
        eng.__exit__(None, None, None)

    # Ops reads but gets no promote or alias form; a clinician gets no page.
    ops, _ = _console(settings, db, blobs, "olga", "ops")
    try:
        text = ops.get("/console/models/asr-ft/versions/1").text
        assert "/promote" not in text and "/approvals" not in text
        assert "/aliases" not in ops.get("/console/models/asr-ft").text
    finally:
        ops.__exit__(None, None, None)
    doc, _ = _console(settings, db, blobs, "carl", "clinician")
    try:
        assert doc.get("/console/models").status_code == 403
    finally:
        doc.__exit__(None, None, None)
