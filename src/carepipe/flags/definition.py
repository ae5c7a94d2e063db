"""What a flag is: its variants, targeting rules, percentage rollouts and kill switch.

A definition is data (JSON in the database, pydantic here), so a version of it can be
stored, diffed and restored exactly. The shape follows what OpenFeature backends share:
typed variants, a default variant, ordered rules, and fractional splits.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FlagKind = Literal["boolean", "string", "number", "object"]
Operator = Literal["in", "not_in", "equals", "not_equals", "starts_with", "ends_with", "gte", "lte"]
Scalar = str | int | float | bool

KEY_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
_KEY_RE = re.compile(KEY_PATTERN)
# Weights are percentages with two decimals; buckets are hundredths of a percent.
BUCKETS = 10_000

_KIND_TYPES: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "string": (str,),
    "number": (int, float),
    "object": (dict,),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test of a context attribute (``tenant``, ``role``, ``user``, ``pipeline``,
    ``environment``, ``targetingKey`` or any other key the caller passes)."""

    attribute: str = Field(min_length=1, max_length=64)
    op: Operator = "in"
    values: list[Scalar] = Field(min_length=1, max_length=1000)


class Segment(_Strict):
    """A named, reusable group of contexts: all its conditions must hold."""

    conditions: list[Condition] = Field(min_length=1, max_length=50)


class Split(_Strict):
    """A share of a rollout. Splits are laid out in order over 10,000 buckets, so raising
    the first split's weight (10 -> 20) keeps everyone it already held."""

    variant: str
    weight: float = Field(ge=0, le=100)


class Rule(_Strict):
    """Matches when the context is in every named segment and meets every condition; it
    then serves ``variant``, or splits by ``rollout`` hashed on ``bucket_by``."""

    name: str = Field(default="", max_length=128)
    segments: list[str] = Field(default_factory=list, max_length=10)
    conditions: list[Condition] = Field(default_factory=list, max_length=50)
    variant: str | None = None
    rollout: list[Split] | None = Field(default=None, min_length=1, max_length=20)
    bucket_by: str = Field(default="targetingKey", min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_outcome(self) -> Rule:
        if (self.variant is None) == (self.rollout is None):
            raise ValueError("a rule serves either a variant or a rollout, not both or neither")
        if self.rollout is not None and abs(sum(s.weight for s in self.rollout) - 100) > 1e-6:
            raise ValueError("rollout weights must add up to 100")
        return self


class FlagDefinition(_Strict):
    """A flag's whole behaviour. ``enabled`` False is the kill switch: every evaluation
    returns ``default_variant`` with reason ``DISABLED``."""

    kind: FlagKind
    variants: dict[str, Any] = Field(min_length=1, max_length=50)
    default_variant: str
    rules: list[Rule] = Field(default_factory=list, max_length=100)
    enabled: bool = True
    description: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _consistent(self) -> FlagDefinition:
        types = _KIND_TYPES[self.kind]
        for name, value in self.variants.items():
            # bool is an int in Python: a number flag must not take true/false.
            wrong_bool = self.kind == "number" and isinstance(value, bool)
            if not isinstance(value, types) or wrong_bool:
                raise ValueError(f"variant {name!r} is not a {self.kind}")
        named = {self.default_variant}
        for rule in self.rules:
            if rule.variant is not None:
                named.add(rule.variant)
            named.update(s.variant for s in rule.rollout or [])
        unknown = sorted(named - set(self.variants))
        if unknown:
            raise ValueError(f"unknown variants: {', '.join(unknown)}")
        return self

    def segment_names(self) -> set[str]:
        """Every segment the rules refer to (checked against the stored segments)."""
        return {name for rule in self.rules for name in rule.segments}


def valid_key(key: str) -> bool:
    """Flag and segment keys: lower-case letters, digits, ``.``, ``_``, ``-``; <= 64."""
    return bool(_KEY_RE.match(key))
