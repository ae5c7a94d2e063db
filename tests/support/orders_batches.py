"""The orders corpus by batch, and the digest that freezes a holdout batch."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parents[1] / "data" / "orders" / "cases.json"


def batch(n: int) -> list[dict[str, Any]]:
    """The cases of batch ``n`` of ``tests/data/orders/cases.json``, in file order."""
    data = json.loads(CASES.read_text(encoding="utf-8"))
    return [c for c in data["cases"] if c.get("batch") == n]


def digest(cases: list[dict[str, Any]]) -> str:
    """sha256 of the cases in id order, as canonical JSON (key order ignored)."""
    canon = json.dumps(sorted(cases, key=lambda c: c["id"]), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()
