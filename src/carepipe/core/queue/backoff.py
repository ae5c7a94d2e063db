"""Exponential backoff with jitter."""

from __future__ import annotations

import random


def backoff_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt ``attempt + 1``.

    "Equal jitter": half the exponential step is kept, the other half drawn at
    random, so retries of many tasks that failed together spread out while each
    one still waits at least ``base * 2**(attempt-1) / 2``.
    """
    step = min(cap, base * (2 ** max(0, attempt - 1)))
    r = (rng or random).random()
    return step / 2 + r * step / 2
