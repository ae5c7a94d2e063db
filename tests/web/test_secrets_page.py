"""Console "Secrets" over HTTP: an admin stores a version through the form and sees it
masked; the value is in no page; other roles get 403."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.console import make_user
from tests.support.console_http import sign_in

VALUE = "fhir-token-5e6f7a8b9c0d-wxyz"


def test_an_admin_stores_a_secret_and_sees_it_masked(app, db):
    make_user(db, "ada", "admin")
    make_user(db, "otto", "ops")
    with TestClient(app) as admin, TestClient(app) as ops:
        csrf = sign_in(admin, "ada")
        page = admin.get("/console/secrets")
        assert page.status_code == 200 and "No secrets stored." in page.text
        pages = []
        for value in (VALUE, "short"):
            r = admin.post(
                "/console/secrets",
                data={"name": "emr.token", "value": value, "reason": "T-7", "csrf_token": csrf},
            )
            pages.append(r)
        assert pages[0].status_code == 200
        assert "emr.token v1 stored (••••wxyz)." in pages[0].text
        assert pages[1].status_code == 400 and "8-8192 characters" in pages[1].text
        listed = admin.get("/console/secrets").text
        assert '<code data-testid="masked">••••wxyz</code>' in listed
        assert 'href="/console/secrets"' in listed  # in the admin's navigation
        for text in (listed, *(p.text for p in pages)):
            assert VALUE not in text and 'value="short"' not in text

        sign_in(ops, "otto")
        assert ops.get("/console/secrets").status_code == 403
        assert 'href="/console/secrets"' not in ops.get("/console/dlq").text
