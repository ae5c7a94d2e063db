from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key


@pytest.fixture
def app(settings, db, blobs):
    return create_app(settings, db=db, blobs=blobs)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def make_key(db, tenant: str = "acme", **kw) -> str:
    with db.transaction() as s:
        return create_key(s, SYSTEM, tenant=tenant, name="test", env="dev", **kw).plaintext


@pytest.fixture
def api_key(db) -> str:
    return make_key(db)


@pytest.fixture
def auth(api_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}
