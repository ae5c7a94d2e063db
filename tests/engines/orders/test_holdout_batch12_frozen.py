"""Batch 12 of the orders corpus is the blind holdout of 2026-11-28: scored once, never edited.

Batch 12 (ids r001...r200) was written on 2026-11-28 by a helper who had seen only batches 1-4
and the corpus conventions (not the engine, its tables, its tests, docs/orders.md or batches
5-11), while another helper tuned the engine on batch 11 without seeing it. It was merged into
the corpus after that tuning was committed and scored once (docs/orders.md, "The blind batch
12, scored once"). Its value as a holdout depends on nobody editing its labels or texts, or
tuning on its misses, so its content is pinned by the hash its author recorded before the
engine ever ran on it.
"""

from __future__ import annotations

import json

from tests.support.orders_batches import batch, digest

BATCH12_CASES = 200
BATCH12_SHA256 = "1c8b74b44a217ff2cebea98379919a95f18b4d8039857026ed8dcd6cf6bff4bc"


def test_batch12_is_a_test_only_holdout_with_its_own_ids() -> None:
    cases = batch(12)
    assert len(cases) == BATCH12_CASES
    assert {c["split"] for c in cases} == {"test"}
    assert [c["id"] for c in cases] == [f"r{i:03d}" for i in range(1, BATCH12_CASES + 1)]


def test_batch12_is_unchanged_since_it_was_written() -> None:
    cases = batch(12)
    assert digest(cases) == BATCH12_SHA256


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = batch(12)
    edited = json.loads(json.dumps(cases))
    edited[0]["text"] += "."
    assert digest(edited) != digest(cases)
