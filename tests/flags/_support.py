"""Helpers of the OpenFeature, OFREP and pipeline flag tests: flags made through the
service, partner keys, and the provider released when a test ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from carepipe.core.auth import SYSTEM
from carepipe.core.db import Database
from carepipe.flags.provider import release_provider
from carepipe.flags.service import create_flag, update_flag
from carepipe.ops.api_keys import create_key
from tests.support.openai_sandbox import remote  # noqa: F401 - fixture, re-exported


@pytest.fixture
def released_provider(db: Database) -> Iterator[None]:
    """Flush and stop the database's provider and flag cache after the test (their
    threads would otherwise poll a database that is gone)."""
    yield
    release_provider(db)


def define(db: Database, key: str, definition: dict[str, Any]) -> None:
    """Create flag ``key`` as the system (live at once)."""
    with db.transaction() as s:
        create_flag(s, SYSTEM, key, definition, justification="test set-up")


def redefine(db: Database, key: str, definition: dict[str, Any], based_on: int) -> None:
    """Change flag ``key`` (live at once: the test flags need no approval)."""
    with db.transaction() as s:
        update_flag(s, SYSTEM, key, definition, justification="test change", based_on=based_on)


def partner_auth(db: Database, tenant: str) -> dict[str, str]:
    """Authorization headers of a new partner API key of ``tenant``."""
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant=tenant, name="flags-test", env="dev").plaintext
    return {"Authorization": f"Bearer {key}"}


def boolean_flag(*, tenants: list[str], share: float = 100.0) -> dict[str, Any]:
    """A boolean flag: ``on`` for a ``share`` % rollout among ``tenants``, else ``off``."""
    rule: dict[str, Any] = {"conditions": [{"attribute": "tenant", "values": tenants}]}
    if share >= 100:
        rule["variant"] = "on"
    else:
        rule["rollout"] = [
            {"variant": "on", "weight": share},
            {"variant": "off", "weight": 100 - share},
        ]
    return {
        "kind": "boolean",
        "variants": {"on": True, "off": False},
        "default_variant": "off",
        "rules": [rule],
    }


def engine_flag(*, tenants: list[str]) -> dict[str, Any]:
    """A string flag with three variants: ``openai-chat`` for ``tenants``, else ``rules``."""
    return {
        "kind": "string",
        "variants": {"rules": "rules", "openai-chat": "openai", "shadow": "rules"},
        "default_variant": "rules",
        "rules": [
            {"conditions": [{"attribute": "tenant", "values": tenants}], "variant": "openai-chat"}
        ],
    }
