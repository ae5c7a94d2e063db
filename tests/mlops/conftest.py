"""What every mlops test area shares: fast password hashing, the blob store of the test's
settings (so the API, the CLI and the worker see the same blobs), the app's HTTP client,
and staff personal tokens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore, blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.ops import users
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


def staff_tokens(db, roles: dict[str, str]) -> dict[str, dict[str, str]]:
    """Create a staff user per ``{name: role}``; each one's Authorization header."""
    tokens = {}
    with db.transaction() as s:
        for name, role in roles.items():
            users.create_user(
                s, SYSTEM, username=name, roles=[role], password="a long test password 1"
            )
            tokens[name] = {
                "Authorization": f"Bearer {users.issue_token(s, SYSTEM, name).plaintext}"
            }
    return tokens
