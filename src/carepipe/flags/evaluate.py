"""Evaluating a flag for one context: pure, no I/O, the same in every process.

Reasons and error codes are OpenFeature's (``STATIC``, ``TARGETING_MATCH``, ``SPLIT``,
``DEFAULT``, ``DISABLED``, ``ERROR``; ``FLAG_NOT_FOUND``, ``TARGETING_KEY_MISSING``...), so
the provider and the OFREP endpoints pass them through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mmh3

from carepipe.flags.definition import BUCKETS, Condition, FlagDefinition, Rule, Segment


@dataclass(frozen=True)
class Resolution:
    """What one evaluation gives: the value, the variant's name, and why."""

    value: Any
    variant: str | None
    reason: str
    error_code: str | None = None
    error_message: str | None = None


def bucket(flag_key: str, targeting_key: str) -> int:
    """The context's bucket in [0, 10000): MurmurHash3 (32-bit, seed 0) of flag key +
    targeting key. Keyed by the flag, so one tenant is not in every 10 % canary at once."""
    return mmh3.hash(f"{flag_key}{targeting_key}", signed=False) % BUCKETS


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _holds(cond: Condition, context: Mapping[str, Any]) -> bool:
    if cond.attribute not in context:
        # A missing attribute is in no list, so it does satisfy "not in"/"not equals".
        return cond.op in ("not_in", "not_equals")
    actual = context[cond.attribute]
    values = cond.values
    match cond.op:
        case "in" | "equals":
            return actual in values
        case "not_in" | "not_equals":
            return actual not in values
        case "starts_with":
            return isinstance(actual, str) and any(actual.startswith(str(v)) for v in values)
        case "ends_with":
            return isinstance(actual, str) and any(actual.endswith(str(v)) for v in values)
        case "gte" | "lte":
            a, b = _as_number(actual), _as_number(values[0])
            if a is None or b is None:
                return False
            return a >= b if cond.op == "gte" else a <= b
    return False  # pragma: no cover - the Operator literal is exhaustive


def _matches(rule: Rule, context: Mapping[str, Any], segments: Mapping[str, Segment]) -> bool:
    for name in rule.segments:
        segment = segments.get(name)
        # An unknown segment matches nobody: a deleted segment must not widen a rule.
        if segment is None or not all(_holds(c, context) for c in segment.conditions):
            return False
    return all(_holds(c, context) for c in rule.conditions)


def _split(flag_key: str, rule: Rule, targeting_key: str) -> str:
    b = bucket(flag_key, targeting_key)
    edge = 0.0
    assert rule.rollout is not None
    for split in rule.rollout:
        edge += split.weight * BUCKETS / 100
        if b < round(edge):
            return split.variant
    return rule.rollout[-1].variant  # rounding: the last bucket belongs to the last split


def evaluate(
    flag_key: str,
    definition: FlagDefinition,
    context: Mapping[str, Any],
    segments: Mapping[str, Segment] | None = None,
) -> Resolution:
    """Resolve ``definition`` for ``context``: the first matching rule wins; no match (or
    a killed flag) serves the default variant."""
    default = definition.default_variant
    if not definition.enabled:
        return Resolution(definition.variants[default], default, "DISABLED")
    segments = segments or {}
    for rule in definition.rules:
        if not _matches(rule, context, segments):
            continue
        if rule.variant is not None:
            return Resolution(definition.variants[rule.variant], rule.variant, "TARGETING_MATCH")
        key = context.get(rule.bucket_by)
        if key is None or key == "":
            return Resolution(
                definition.variants[default],
                default,
                "ERROR",
                "TARGETING_KEY_MISSING",
                f"rollout needs the context attribute {rule.bucket_by!r}",
            )
        variant = _split(flag_key, rule, str(key))
        return Resolution(definition.variants[variant], variant, "SPLIT")
    reason = "STATIC" if not definition.rules else "DEFAULT"
    return Resolution(definition.variants[default], default, reason)
