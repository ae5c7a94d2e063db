"""Shared by the API key rotation tests: a webhook receiver and fresh in-process state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carepipe.api.auth import forget_verified_keys
from carepipe.ops import key_usage
from tests.support.webhook import webhook  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def _fresh_key_state() -> Iterator[None]:
    """Verified keys, usage tallies and refusal report times are per process: start clean."""
    forget_verified_keys()
    key_usage.forget_usage()
    yield
    forget_verified_keys()
    key_usage.forget_usage()
