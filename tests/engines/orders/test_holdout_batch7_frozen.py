"""Batch 7 of the orders corpus is the blind holdout of 2026-11-28: scored once, never edited.

Batch 7 (ids k001...k200) was written on 2026-11-28 by a helper who had not seen the engine,
its tables, its tests, docs/orders.md or batches 5 and 6 (only batches 1-4 and the corpus
conventions), while another helper tuned the engine without seeing batch 7. It was merged
into the corpus after the tuning was finished and scored once (docs/orders.md). Its value as
a holdout depends on nobody editing its labels or texts, or tuning on its misses, so its
content is pinned by the hash its author recorded before the engine ever ran on it.
"""

from __future__ import annotations

import json

from tests.support.orders_batches import batch, digest

BATCH7_CASES = 200
BATCH7_SHA256 = "ed7b0560d0ef529dd648af421b558a58f6a2fdb186440deaea21c0433308baef"


def test_batch7_is_a_test_only_holdout_with_its_own_ids() -> None:
    cases = batch(7)
    assert len(cases) == BATCH7_CASES
    assert {c["split"] for c in cases} == {"test"}
    assert [c["id"] for c in cases] == [f"k{i:03d}" for i in range(1, BATCH7_CASES + 1)]


def test_batch7_is_unchanged_since_it_was_written() -> None:
    assert digest(batch(7)) == BATCH7_SHA256


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = batch(7)
    edited = json.loads(json.dumps(cases))
    edited[0]["expected"]["services"].append({"name": "x", "category": "laboratory"})
    assert digest(edited) != digest(cases)
