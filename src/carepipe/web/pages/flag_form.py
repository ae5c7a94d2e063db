"""The flag editor's form: a definition from its JSON, or from the simple form.

The simple form covers the common case (serve variant X to a share of some tenants'
targeting keys, everyone else the default); it writes an ordinary ``FlagDefinition``, so
what is saved, previewed and diffed is always the JSON. A definition the simple form can
describe is read back into it (``simple_fields``); any other is edited as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from carepipe.flags.definition import Condition, FlagDefinition, Rule, Split

DEFAULT_VARIANTS: dict[str, Any] = {"on": True, "off": False}
RULE_NAME = "rollout"


class FormError(ValueError):
    """The form does not make a valid definition (the message says what to fix)."""


@dataclass
class FlagForm:
    """What the editor posted (every field as typed, so a refused form comes back intact)."""

    mode: str = "simple"  # "simple" or "json"
    definition_json: str = ""
    kind: str = "boolean"
    variants: str = json.dumps(DEFAULT_VARIANTS)
    default_variant: str = "off"
    rollout_variant: str = "on"
    percent: str = "10"
    tenants: str = ""
    bucket_by: str = "targetingKey"
    description: str = ""
    enabled: str = "true"  # the simple form keeps a killed flag killed
    preview_tenants: str = ""


def split_list(text: str) -> list[str]:
    """``"a, b c"`` -> ``["a", "b", "c"]`` (tenants are typed comma- or space-separated)."""
    return [t for t in text.replace(",", " ").split() if t]


def _readable(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"{where}: {err['msg']}" if where else str(err["msg"]))
    return "; ".join(parts)


def _simple(form: FlagForm) -> FlagDefinition:
    try:
        variants = json.loads(form.variants)
    except json.JSONDecodeError as exc:
        raise FormError(f"variants are not JSON: {exc.msg}") from exc
    if not isinstance(variants, dict):
        raise FormError('variants must be a JSON object, e.g. {"on": true, "off": false}')
    try:
        percent = float(form.percent)
    except ValueError as exc:
        raise FormError("the rollout share must be a number from 0 to 100") from exc
    if not 0 <= percent <= 100:
        raise FormError("the rollout share must be a number from 0 to 100")
    tenants = split_list(form.tenants)
    x, default = form.rollout_variant.strip(), form.default_variant.strip()
    try:
        rules = []
        conditions = [Condition(attribute="tenant", values=list(tenants))] if tenants else []
        if percent >= 100:
            rules.append(Rule(name=RULE_NAME, conditions=conditions, variant=x))
        elif percent > 0:
            if x == default:
                raise FormError("the rolled-out variant must differ from the default")
            rollout = [
                Split(variant=x, weight=percent),
                Split(variant=default, weight=100 - percent),
            ]
            rules.append(
                Rule(
                    name=RULE_NAME,
                    conditions=conditions,
                    rollout=rollout,
                    bucket_by=form.bucket_by.strip() or "targetingKey",
                )
            )
        return FlagDefinition(
            kind=form.kind,  # type: ignore[arg-type]  (checked by the model)
            variants=variants,
            default_variant=default,
            rules=rules,
            description=form.description.strip(),
            enabled=form.enabled != "false",
        )
    except ValidationError as exc:
        raise FormError(_readable(exc)) from exc


def definition_from(form: FlagForm) -> FlagDefinition:
    """The definition the form describes (``FormError`` if it is not a valid one)."""
    if form.mode != "json":
        return _simple(form)
    try:
        return FlagDefinition.model_validate_json(form.definition_json or "{}")
    except ValidationError as exc:
        raise FormError(_readable(exc)) from exc


def pretty(definition: FlagDefinition) -> str:
    """The JSON the editor and the page show: sorted keys, two-space indent."""
    return json.dumps(definition.model_dump(mode="json"), indent=2, sort_keys=True)


def simple_fields(definition: FlagDefinition) -> dict[str, str] | None:
    """The simple form's fields for ``definition``, or None if it does not fit the form
    (more than one rule, segments, other conditions...)."""
    d = definition
    base = {
        "kind": d.kind,
        "variants": json.dumps(d.variants),
        "default_variant": d.default_variant,
        "description": d.description,
        "tenants": "",
        "bucket_by": "targetingKey",
    }
    if not d.rules:
        other = next((v for v in d.variants if v != d.default_variant), d.default_variant)
        return {**base, "rollout_variant": other, "percent": "0"}
    if len(d.rules) > 1:
        return None
    rule = d.rules[0]
    if rule.segments or len(rule.conditions) > 1:
        return None
    if rule.conditions:
        cond = rule.conditions[0]
        if cond.attribute != "tenant" or cond.op != "in":
            return None
        base["tenants"] = ", ".join(str(v) for v in cond.values)
    if rule.variant is not None:
        return {**base, "rollout_variant": rule.variant, "percent": "100"}
    splits = rule.rollout or []
    if len(splits) != 2 or splits[1].variant != d.default_variant:
        return None
    return {
        **base,
        "rollout_variant": splits[0].variant,
        "percent": f"{splits[0].weight:g}",
        "bucket_by": rule.bucket_by,
    }


def form_for(definition: FlagDefinition) -> FlagForm:
    """The editor prefilled with ``definition``: simple when it fits, else JSON."""
    fields = simple_fields(definition)
    form = FlagForm(
        mode="simple" if fields else "json",
        definition_json=pretty(definition),
        enabled="true" if definition.enabled else "false",
    )
    for name, value in (fields or {}).items():
        setattr(form, name, value)
    return form
