"""Batch 6 of the orders corpus: a blind holdout scored twice, then retired to dev.

Batch 6 (ids h001...) was written on 2026-11-27 by a helper who had not seen the engine, its
tests, docs/orders.md or the batch-5 dev cases, and scored as a holdout on 2026-11-27 and
once more on 2026-11-28 after a general vocabulary change (its misses unread). It was then
retired to dev (2026-11-28) and tuned on; batch 7 is the holdout now. Its texts and labels
are still pinned: the hash below was taken when it was written, so the only edit since is
its split.
"""

from __future__ import annotations

import json

from tests.support.orders_batches import batch, digest

BATCH6_CASES = 156
BATCH6_SHA256 = "b2fca42dcb7d9588b028cf5d04f883a27ac145a6c39c8ac60afb469817942b34"


def test_batch6_is_a_dev_batch_with_its_own_ids() -> None:
    cases = batch(6)
    assert len(cases) == BATCH6_CASES
    assert {c["split"] for c in cases} == {"dev"}
    ids = [c["id"] for c in cases]
    assert ids == [f"h{i:03d}" for i in range(1, BATCH6_CASES + 1)]


def test_batch6_is_unchanged_since_it_was_written_but_for_its_split() -> None:
    as_written = [{**c, "split": "test"} for c in batch(6)]
    assert digest(as_written) == BATCH6_SHA256


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = batch(6)
    edited = json.loads(json.dumps(cases))
    edited[0]["text"] += " "
    assert digest(edited) != digest(cases)
