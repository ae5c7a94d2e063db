"""Batch 10 of the orders corpus: a blind holdout scored once, then retired to dev.

Batch 10 (ids p001...p200) was written on 2026-11-28 by a helper who had seen only batches 1-4
and the corpus conventions (not the engine, its tables, its tests, docs/orders.md or batches
5-9), while another helper tuned the engine on batch 9 without seeing it. It was merged into
the corpus after that tuning was committed and scored as a holdout once on 2026-11-28
(docs/orders.md, "The blind batch 10, scored once"), then retired to dev on 2026-11-28 and
tuned on (docs/orders.md, "Eighth pass"); a new blind batch is the holdout now. Its texts
and labels are still pinned: the hash below is the one its author recorded before the engine
ever ran on it, so the only edit since is its split.
"""

from __future__ import annotations

import json

from tests.support.orders_batches import batch, digest

BATCH10_CASES = 200
BATCH10_SHA256 = "6554fb2a6275c7fc7a770032f950109465917c4c4549276d0d4a6fbfcaf0afad"


def test_batch10_is_a_dev_batch_with_its_own_ids() -> None:
    cases = batch(10)
    assert len(cases) == BATCH10_CASES
    assert {c["split"] for c in cases} == {"dev"}
    assert [c["id"] for c in cases] == [f"p{i:03d}" for i in range(1, BATCH10_CASES + 1)]


def test_batch10_is_unchanged_since_it_was_written_but_for_its_split() -> None:
    as_written = [{**c, "split": "test"} for c in batch(10)]
    assert digest(as_written) == BATCH10_SHA256


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = batch(10)
    edited = json.loads(json.dumps(cases))
    edited[0]["text"] += "."
    assert digest(edited) != digest(cases)
