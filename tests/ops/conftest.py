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
