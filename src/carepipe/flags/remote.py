"""OFREP evaluations (the OpenFeature Remote Evaluation Protocol), behind the HTTP router.

Who may evaluate, and for whom: a partner API key (``flags.evaluate``) always evaluates for
its own tenant (the context's ``tenant`` is overwritten, so passing ``tenant=X`` cannot
read another tenant's targeting); staff need ``flags.read`` and may evaluate any context.
Answers are OFREP's JSON shapes; their ETag is the SHA-256 of the answer, so a client
polling the bulk endpoint with ``If-None-Match`` gets 304 until a flag it sees changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from carepipe.core.auth import Principal, require
from carepipe.flags.evaluate import Resolution
from carepipe.flags.provider import CarePipeProvider

# Context limits: a context is a handful of attributes; these bound the work one request
# can ask for (each attribute may be compared by every rule of every flag).
MAX_ATTRIBUTES = 100
MAX_NAME = 128
MAX_STRING = 1024
_SCALARS = (str, int, float, bool)


@dataclass(frozen=True)
class OfrepError(Exception):
    """An evaluation OFREP answers with an error body: ``status`` 400 or 404."""

    status: int
    code: str  # OFREP/OpenFeature error code: FLAG_NOT_FOUND, INVALID_CONTEXT ...
    details: str


@dataclass(frozen=True)
class Answer:
    """An OFREP response body and its ETag."""

    body: dict[str, Any]
    etag: str


def _valid_value(value: Any) -> bool:
    if value is None or isinstance(value, _SCALARS):
        return not (isinstance(value, str) and len(value) > MAX_STRING)
    if isinstance(value, list):
        return len(value) <= MAX_ATTRIBUTES and all(
            v is None or isinstance(v, _SCALARS) for v in value
        )
    return False


def evaluation_context(actor: Principal, context: Mapping[str, Any]) -> dict[str, Any]:
    """The context ``actor`` may evaluate: checked (``INVALID_CONTEXT``) and, for a
    partner, pinned to its tenant. Raises ``PermissionDenied`` without the permission."""
    if actor.kind == "api_key":
        require(actor, "flags.evaluate")
    else:
        require(actor, "flags.read")
    if len(context) > MAX_ATTRIBUTES:
        raise OfrepError(400, "INVALID_CONTEXT", f"at most {MAX_ATTRIBUTES} attributes")
    for name, value in context.items():
        if len(name) > MAX_NAME or not _valid_value(value):
            raise OfrepError(
                400,
                "INVALID_CONTEXT",
                f"attribute {name[:MAX_NAME]!r}: a string, number, boolean or list of them "
                f"(strings up to {MAX_STRING} characters)",
            )
    if "targetingKey" in context and not isinstance(context["targetingKey"], str):
        raise OfrepError(400, "INVALID_CONTEXT", "targetingKey must be a string")
    out = dict(context)
    if actor.kind == "api_key" or actor.tenant is not None:
        # Pinned, whatever was sent: a tenant's rules are visible only to that tenant.
        out["tenant"] = actor.tenant
    return out


def _success(key: str, version: int, resolution: Resolution) -> dict[str, Any]:
    return {
        "key": key,
        "value": resolution.value,
        "reason": resolution.reason,
        "variant": resolution.variant,
        "metadata": {"version": version},
    }


def _failure(key: str, resolution: Resolution) -> dict[str, Any]:
    return {
        "key": key,
        "errorCode": resolution.error_code or "GENERAL",
        "errorDetails": resolution.error_message or "",
    }


def _etag(body: Mapping[str, Any]) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'


def evaluate_one(
    provider: CarePipeProvider, actor: Principal, key: str, context: Mapping[str, Any]
) -> Answer:
    """One flag for one context (``POST /ofrep/v1/evaluate/flags/{key}``)."""
    ctx = evaluation_context(actor, context)
    resolution, live = provider.evaluate(key, ctx)
    if live is None:
        raise OfrepError(404, "FLAG_NOT_FOUND", resolution.error_message or "")
    if resolution.error_code is not None:
        raise OfrepError(400, resolution.error_code, resolution.error_message or "")
    body = _success(key, live.version, resolution)
    return Answer(body, _etag(body))


def evaluate_all(
    provider: CarePipeProvider, actor: Principal, context: Mapping[str, Any]
) -> Answer:
    """Every flag for one context (``POST /ofrep/v1/evaluate/flags``); a flag that cannot
    be evaluated for it is listed with its error code instead of a value."""
    ctx = evaluation_context(actor, context)
    snapshot = provider.source.snapshot()
    flags: list[dict[str, Any]] = []
    for key, live in sorted(snapshot.flags.items()):
        resolution, _ = provider.evaluate(key, ctx, snapshot)
        if resolution.error_code is None:
            flags.append(_success(key, live.version, resolution))
        else:
            flags.append(_failure(key, resolution))
    body = {"flags": flags}
    return Answer(body, _etag(body))


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (or ``*``); weak tags match too."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
