"""Batch 7 of the orders corpus is the blind holdout of 2026-11-28: scored once, never edited.

Batch 7 (ids k001...k200) was written on 2026-11-28 by a helper who had not seen the engine,
its tables, its tests, docs/orders.md or batches 5 and 6 (only batches 1-4 and the corpus
conventions), while another helper tuned the engine without seeing batch 7. It was merged
into the corpus after the tuning was finished and scored once (docs/orders.md). Its value as
a holdout depends on nobody editing its labels or texts, or tuning on its misses, so its
content is pinned by the hash its author recorded before the engine ever ran on it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parents[2] / "data" / "orders" / "cases.json"

BATCH7_CASES = 200
BATCH7_SHA256 = "ed7b0560d0ef529dd648af421b558a58f6a2fdb186440deaea21c0433308baef"


def _batch7() -> list[dict[str, Any]]:
    data = json.loads(CASES.read_text(encoding="utf-8"))
    return [c for c in data["cases"] if c.get("batch") == 7]


def _digest(cases: list[dict[str, Any]]) -> str:
    """sha256 of the batch's cases in id order, as canonical JSON (key order ignored)."""
    canon = json.dumps(sorted(cases, key=lambda c: c["id"]), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def test_batch7_is_a_test_only_holdout_with_its_own_ids() -> None:
    cases = _batch7()
    assert len(cases) == BATCH7_CASES
    assert {c["split"] for c in cases} == {"test"}
    assert [c["id"] for c in cases] == [f"k{i:03d}" for i in range(1, BATCH7_CASES + 1)]


def test_batch7_is_unchanged_since_it_was_written() -> None:
    assert _digest(_batch7()) == BATCH7_SHA256


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = _batch7()
    edited = json.loads(json.dumps(cases))
    edited[0]["expected"]["services"].append({"name": "x", "category": "laboratory"})
    assert _digest(edited) != _digest(cases)
