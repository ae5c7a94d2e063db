from __future__ import annotations

import pytest

from carepipe.ops import users
from carepipe.pipelines.catalog import load_pipelines
from tests.support.console import FAST_HASHER

load_pipelines("tests.support.console_pipelines")


@pytest.fixture(autouse=True)
def _fast_passwords():
    previous = users.use_password_hasher(FAST_HASHER)
    yield
    users.use_password_hasher(previous)


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path):
    """Console tests run over HTTP on SQLite; the services under them run on both (tests/ops)."""
    import shutil

    target = tmp_path / "carepipe.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), target)
    return f"sqlite:///{target}"


@pytest.fixture
def app(settings, db, blobs):
    from carepipe.app import create_app

    return create_app(settings, db=db, blobs=blobs)
