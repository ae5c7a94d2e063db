"""Signing in to the console with a TestClient."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.support.console import PASSWORD

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    assert m, "page has no CSRF field"
    return m.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    page = client.get("/console/login", follow_redirects=False)
    if page.status_code == 303:  # already signed in: the form's token is the session's
        page = client.get("/console/password")
    token = csrf_of(page.text)
    r = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return csrf_of(client.get("/console/password").text)
