"""Flag definitions the backend tests share."""

from __future__ import annotations

from typing import Any


def summaries(on_share: float = 10.0) -> dict[str, Any]:
    """The "Document summaries" beta: a canary of ``on_share`` % for tenant acme."""
    return {
        "kind": "boolean",
        "variants": {"on": True, "off": False},
        "default_variant": "off",
        "description": "Document summaries beta",
        "rules": [
            {
                "name": "acme canary",
                "conditions": [{"attribute": "tenant", "op": "in", "values": ["acme"]}],
                "rollout": [
                    {"variant": "on", "weight": on_share},
                    {"variant": "off", "weight": 100 - on_share},
                ],
            }
        ],
    }
