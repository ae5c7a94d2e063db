"""Fixtures of the flags tests: the app's HTTP client, staff tokens per role, a flag
definition, and the real ``carepipe`` CLI against the test database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore, blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.ops import users
from tests.support.cli import cli_environment
from tests.support.console import FAST_HASHER


@pytest.fixture(autouse=True)
def _fast_passwords() -> Iterator[None]:
    previous = users.use_password_hasher(FAST_HASHER)
    yield
    users.use_password_hasher(previous)


@pytest.fixture
def blobs(settings: Settings) -> BlobStore:
    return blob_store_from_settings(settings)


@pytest.fixture
def client(settings, db, blobs) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


@pytest.fixture
def staff(db) -> dict[str, dict[str, str]]:
    """Authorization headers: two product_ops people (alice, bob), an admin (root) and a
    read-only ops engineer (olga)."""
    roles = {"alice": "product_ops", "bob": "product_ops", "root": "admin", "olga": "ops"}
    headers = {}
    with db.transaction() as s:
        for name, role in roles.items():
            users.create_user(
                s, SYSTEM, username=name, roles=[role], password="a long test password 1"
            )
            token = users.issue_token(s, SYSTEM, name).plaintext
            headers[name] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.fixture
def cli(settings, monkeypatch) -> Iterator[Callable[..., str]]:
    """Run ``carepipe`` against the test database: ``cli(*args, input=..., code=0)``."""
    from carepipe.cli import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = runner.invoke(app, list(args), input=input)
        assert result.exit_code == code, (args, result.exit_code, result.output)
        return result.stdout if code == 0 else result.stderr

    with cli_environment(settings, monkeypatch):
        yield run
