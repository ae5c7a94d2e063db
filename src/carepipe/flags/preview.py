"""Who gets what: a flag definition (proposed or live) evaluated over synthetic contexts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal, require
from carepipe.core.errors import FlagNotFound, ValidationFailed
from carepipe.core.models import Tenant
from carepipe.flags.checks import DefinitionIn, checked_key, parse_definition
from carepipe.flags.definition import FlagDefinition, Rule, Segment
from carepipe.flags.evaluate import evaluate
from carepipe.flags.models import FeatureFlag, FlagSegment
from carepipe.flags.views import PreviewRow

MAX_PREVIEW_SAMPLE = 10_000
MAX_PREVIEW_TENANTS = 50
# Attributes that name who is asking rather than which tenant: a preview per tenant
# cannot give their share, so rules on them are listed instead.
_PERSON_ATTRIBUTES = frozenset({"role", "user"})


def _rule_label(index: int, rule: Rule) -> str:
    return rule.name or f"rule {index + 1}"


def _person_rules(definition: FlagDefinition, segments: Mapping[str, Segment]) -> list[str]:
    out = []
    for i, rule in enumerate(definition.rules):
        conds = list(rule.conditions)
        for name in rule.segments:
            if name in segments:
                conds.extend(segments[name].conditions)
        person = [c for c in conds if c.attribute in _PERSON_ATTRIBUTES]
        if person:
            tests = "; ".join(
                f"{c.attribute} {c.op} {', '.join(map(str, c.values))}" for c in person
            )
            serves = rule.variant or ", ".join(
                f"{s.variant} {s.weight:g}%" for s in rule.rollout or []
            )
            out.append(f"{_rule_label(i, rule)}: {tests} -> {serves}")
    return out


def preview(
    session: Session,
    actor: Principal,
    key: str,
    definition: DefinitionIn | None,
    *,
    tenants: list[str] | None = None,
    sample: int = 1000,
) -> list[PreviewRow]:
    """Who gets what under ``definition`` (None: the live one) per tenant: the share of
    each variant over ``sample`` synthetic targeting keys. Rules on roles or users are
    listed, since their share depends on who asks, not on the tenant."""
    require(actor, "flags.read")
    checked_key(key)
    if definition is None:
        live = session.get(FeatureFlag, key)
        if live is None:
            raise FlagNotFound(f"no flag {key!r}", details={"key": key})
        parsed = FlagDefinition.model_validate(live.definition)
    else:
        parsed = parse_definition(definition)
    if not 1 <= sample <= MAX_PREVIEW_SAMPLE:
        raise ValidationFailed(f"sample must be 1..{MAX_PREVIEW_SAMPLE}")
    segments = {
        row.key: Segment.model_validate(row.definition)
        for row in session.execute(select(FlagSegment)).scalars()
    }
    if tenants is None:
        tenants = list(
            session.execute(
                select(Tenant.id).order_by(Tenant.id).limit(MAX_PREVIEW_TENANTS)
            ).scalars()
        )
    role_rules = _person_rules(parsed, segments)
    # No tenant configured yet (a fresh install): one row for contexts without a tenant.
    contexts: list[dict[str, Any]] = (
        [{"tenant": t} for t in tenants[:MAX_PREVIEW_TENANTS]] if tenants else [{}]
    )
    rows = []
    for context in contexts:
        label = str(context.get("tenant", "(no tenant)"))
        counts: Counter[str] = Counter()
        for i in range(sample):
            res = evaluate(key, parsed, {**context, "targetingKey": f"{label}:{i}"}, segments)
            counts[res.variant or ""] += 1
        shares = {v: counts[v] / sample for v in parsed.variants if counts[v]}
        rows.append(
            PreviewRow(
                label=label, context=context, sample=sample, shares=shares,
                role_rules=role_rules,
            )
        )  # fmt: skip
    return rows
