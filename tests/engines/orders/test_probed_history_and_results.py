"""Precision guards found by probing after the eighth pass (2026-11-28): a study done
elsewhere, a drug a relative takes, IV calcium with no salt. Each with near misses that
must keep their reading."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "text",
    [
        "CT abdomen done at outside hospital, report awaited",
        "Mother is on levothyroxine",
    ],
)
def test_what_was_done_or_someone_else_takes_orders_nothing(engine, text) -> None:
    r = engine.extract(text)
    assert (r.medications, r.services, r.follow_ups) == ([], [], [])
    assert r.not_understood  # listed, never dropped


def test_a_test_sent_is_an_order_being_carried_out(engine) -> None:
    # The corpus's convention (batches 6 and 7): "urine culture sent" orders the culture.
    r = engine.extract("Trimethoprim 200 mg BD 3/7; urine culture sent")
    assert [s.display for s in r.services] == ["Urine culture"]


def test_iv_calcium_with_no_salt_is_listed_not_read_as_the_oral_carbonate(engine) -> None:
    r = engine.extract("Calcium 1 g IV slowly")
    assert r.medications == []
    assert r.not_understood == ["Calcium 1 g IV slowly"]
    (oral,) = engine.extract("Calcium 500 mg OD").medications
    assert (oral.name, oral.dose) == ("calcium carbonate", 500.0)
    (iv,) = engine.extract("IV calcium gluconate 1 g").medications
    assert (iv.name, iv.dose, iv.dose_unit) == ("calcium gluconate", 1.0, "g")
