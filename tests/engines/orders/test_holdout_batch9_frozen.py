"""Batch 9 of the orders corpus: a blind holdout scored once, then retired to dev.

Batch 9 (ids n001...n200) was written on 2026-11-28 by a helper who had seen only batches 1-4
and the corpus conventions (not the engine, its tables, its tests, docs/orders.md or batches
5-8), while another helper tuned the engine on batch 8 without seeing it. It was merged into
the corpus after that tuning was committed and scored as a holdout once on 2026-11-28
(docs/orders.md, "The blind batch 9, scored once"), then retired to dev on 2026-11-28 and
tuned on (docs/orders.md, "Seventh pass"); a new blind batch is the holdout now. Its texts
and labels are still pinned: the hash below is the one its author recorded before the engine
ever ran on it, so the only edit since is its split.
"""

from __future__ import annotations

import json

from tests.support.orders_batches import batch, digest

BATCH9_CASES = 200
BATCH9_SHA256 = "f579a7f7fa4c5b2894c4dcb3085559866c52c10d47f09da81212f9f339c544ad"


def test_batch9_is_a_dev_batch_with_its_own_ids() -> None:
    cases = batch(9)
    assert len(cases) == BATCH9_CASES
    assert {c["split"] for c in cases} == {"dev"}
    assert [c["id"] for c in cases] == [f"n{i:03d}" for i in range(1, BATCH9_CASES + 1)]


def test_batch9_is_unchanged_since_it_was_written_but_for_its_split() -> None:
    as_written = [{**c, "split": "test"} for c in batch(9)]
    assert digest(as_written) == BATCH9_SHA256


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = batch(9)
    edited = json.loads(json.dumps(cases))
    edited[0]["text"] += "."
    assert digest(edited) != digest(cases)
