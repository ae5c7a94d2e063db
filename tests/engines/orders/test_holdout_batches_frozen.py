"""The blind holdout batches of the orders corpus are frozen: texts and labels never edited.

From batch 6 on, each holdout was written by a helper who had seen only batches 1-4 and the
corpus conventions (never the engine, its tables, its tests or docs/orders.md), while another
helper tuned the engine on the batch before. Its author hashed it before the engine ever ran
on it; it was merged after that tuning was committed and scored as a holdout (docs/orders.md,
"The blind batch N, scored once", and the corpus description in
``tests/data/orders/cases.json``). A retired batch became dev and was tuned on; its split is
the only edit it may have had since.

A batch's value as a holdout depends on nobody editing it or tuning on its misses, so each
one's content is pinned here by the hash its author recorded. Retiring a batch is one edit
to its row: ``split`` becomes ``"dev"``; batches are retired oldest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.support.orders_batches import batch, digest


@dataclass(frozen=True)
class Holdout:
    """One blind batch: its ids, its author's hash, and its split now."""

    number: int
    id_prefix: str
    cases: int
    sha256: str  # of the cases as written, that is with split "test"
    split: str  # "test" while it is the holdout, "dev" once retired and tuned on


HOLDOUTS = [
    Holdout(6, "h", 156, "b2fca42dcb7d9588b028cf5d04f883a27ac145a6c39c8ac60afb469817942b34", "dev"),
    Holdout(7, "k", 200, "ed7b0560d0ef529dd648af421b558a58f6a2fdb186440deaea21c0433308baef", "dev"),
    Holdout(8, "m", 200, "f18a18867a4b9402022d57fa990b3a74203ad79e6b4afc3efd3be74fa8a2f936", "dev"),
    Holdout(9, "n", 200, "f579a7f7fa4c5b2894c4dcb3085559866c52c10d47f09da81212f9f339c544ad", "dev"),
    Holdout(
        10, "p", 200, "6554fb2a6275c7fc7a770032f950109465917c4c4549276d0d4a6fbfcaf0afad", "dev"
    ),
    Holdout(
        11, "q", 200, "90f89e49ccd8775e290605af1e8f34fad8de49e0337e22c411243848be0edc66", "dev"
    ),
    Holdout(
        12, "r", 200, "1c8b74b44a217ff2cebea98379919a95f18b4d8039857026ed8dcd6cf6bff4bc", "dev"
    ),
    Holdout(
        13, "s", 200, "dde71562c86fb592277f31ba4daea4bad61b438829d0f8d0d8c115ed4e4297c3", "dev"
    ),
    Holdout(
        14, "v", 200, "2aaac96358e82ee3195145da35c8662bf60a586e7a0bfe3034b311d68946e465", "dev"
    ),
    # Batch 15's author hashed the file it wrote (sha256 42463c7e...); this is the digest of
    # its cases as merged (unchanged, split "test" added), taken before the engine ran on them.
    Holdout(
        15, "b", 200, "23c5362932824144396d6c0264332e101db019390b44d4855d8d5a17cff92779", "dev"
    ),
    # Batch 16 the same way (its author's file: sha256 a865480f...).
    Holdout(
        16, "c", 200, "f1cc298d9bd77d7be306cafcac1cd2ed407fd5eae865b5a4f122712d2b5422b4", "dev"
    ),
    # Batch 17 the same way (its author's file: sha256 b3af380e...; split "test" and batch 17
    # added).
    Holdout(
        17, "a", 200, "30b3ae7dcc35ceb0965b8a005db7a70a2c4a47b891b1a03c6205e543af2593f0", "dev"
    ),
    # Batch 18 the same way (its author's file: sha256 172734b2...).
    Holdout(
        18, "e", 200, "bbb5f9aea767f4742f06e2c2289f645e2c6a0d8892658f3d6cc8ca16061ac984", "dev"
    ),
    # Batch 19 the same way (its author's file: sha256 94ef66ce...).
    Holdout(
        19, "f", 200, "dfa83d0d0f100b81e2354ff3f0e3dc3a595d5a73a70fbf56e1edc8b36d254de1", "dev"
    ),
    # Batch 20 the same way (its author's file: sha256 ffb611a0...).
    Holdout(
        20, "g", 200, "836a23d1ec5652c30a6e1102ac03468157da9adfb15bb6001fb50aa4df9d3724", "dev"
    ),
    # Batch 21 the same way (its author's file: sha256 a6077a4f...).
    Holdout(
        21, "j", 200, "d5fdb014bd6d625f0b73cc952be0a13163ae3bf70f8db2862d9c9571d6acc4d2", "dev"
    ),
    # Batch 22 the same way (its author's file: sha256 50cf8a10...; its author wrote batch 22
    # in, the lead added split "test").
    Holdout(
        22, "i", 200, "2ae6930b5c53b6e2c92c02dc206a6955ebbb360013bf03d9fbc8fac7c7db0207", "dev"
    ),
    # Batch 23 the same way (its author's file: sha256 b9447cbf...; its author wrote batch 23
    # in, the lead added split "test").
    Holdout(
        23, "l", 200, "3e2a15078d213937314f16cefcd7dd061c3607e28d78f8fc343370f00928a3a4", "dev"
    ),
    # Batch 24 the same way (its author's file: sha256 872a31e8...; its author wrote batch 24
    # in, the lead added split "test").
    Holdout(
        24, "o", 200, "4a370b1fb965aa349da96433ab105d997aa451f091a26a7e9410b8cfa0360efe", "test"
    ),
    # Batches 25 and 26 were written at the same time by two helpers, each from the kit
    # alone, while batch 22 was tuned on (their authors' files: sha256 f7157f41... and
    # f7b701ce...; each author wrote its batch number in, the lead added split "test").
    Holdout(
        25, "aa", 200, "9a709c4cac6162309f6415dd10ea5770e88ca6ca5e9a7c4099cd370e3cd83f26", "test"
    ),
    Holdout(
        26, "ab", 200, "34697bff2663a4ac312ab79075b186f4e1d3eed8feb707c32ea34322dc1f2fab", "test"
    ),
    # Batches 27 and 28 the same way, while batch 23 was tuned on (their authors' files:
    # sha256 99229887... and 76ec3626...).
    Holdout(
        27, "ac", 200, "e19694b162d140be833f250a191afdd071f9c9f78d7708ec230f3b8155d67508", "test"
    ),
    Holdout(
        28, "ad", 200, "c11d167f9a08ca5b9d61fc8d3f5d4366f2d4213f3ee4b18f688a3094c4d46456", "test"
    ),
]


def _name(h: Holdout) -> str:
    return f"batch{h.number}"


@pytest.mark.parametrize("holdout", HOLDOUTS, ids=_name)
def test_the_batch_has_its_own_ids_and_its_split(holdout: Holdout) -> None:
    cases = batch(holdout.number)
    assert len(cases) == holdout.cases
    assert {c["split"] for c in cases} == {holdout.split}
    expected_ids = [f"{holdout.id_prefix}{i:03d}" for i in range(1, holdout.cases + 1)]
    assert [c["id"] for c in cases] == expected_ids


@pytest.mark.parametrize("holdout", HOLDOUTS, ids=_name)
def test_the_batch_is_unchanged_since_it_was_written_but_for_its_split(
    holdout: Holdout,
) -> None:
    as_written = [{**c, "split": "test"} for c in batch(holdout.number)]
    assert digest(as_written) == holdout.sha256


def test_the_holdouts_are_the_newest_blind_batches() -> None:
    # Batches are retired oldest first: a batch tuned on is never newer than a holdout, so
    # no holdout was written by someone who could have seen the tuning it is scored after.
    # Two batches are holdouts together when no tuning pass came between them (13 and 14;
    # 15 and 16).
    splits = [h.split for h in HOLDOUTS]
    assert "test" in splits
    assert splits == sorted(splits)  # every "dev" before every "test"


def test_the_digest_sees_a_one_character_edit() -> None:
    cases = batch(HOLDOUTS[-1].number)
    edited = json.loads(json.dumps(cases))
    edited[0]["text"] += "."
    assert digest(edited) != digest(cases)
