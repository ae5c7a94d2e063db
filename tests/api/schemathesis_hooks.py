"""Schemathesis hooks for tests/api/test_openapi_fuzz.py.

A job's ``payload`` is any JSON document, so the OpenAPI document cannot say that
no string anywhere inside it may hold U+0000 or an unpaired surrogate, nor that it
may not nest deeper than 64 levels (PostgreSQL cannot store the first, and the
second would make every walker recurse without end). The server answers such a
body 422 ``validation_failed`` (tests/api/test_refusals.py drives that rule).
Here we only keep schemathesis from counting those bodies as "schema-valid input
refused": every other 4xx on ``POST /v1/jobs`` still fails the run.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from carepipe.core.errors import ValidationFailed
from carepipe.core.storable_json import check_storable


@schemathesis.hook
def filter_body(ctx: schemathesis.HookContext, body: Any) -> bool:
    """Drop a ``POST /v1/jobs`` body that breaks the storable-JSON rule."""
    operation = ctx.operation
    if operation is None or operation.method.upper() != "POST" or operation.path != "/v1/jobs":
        return True
    try:
        check_storable(body)
    except ValidationFailed:
        return False
    return True


# Multipart parts other than the JSON-encoded `context` and the file are text on the
# wire: a boolean or number the fuzzer draws to break `type: string` arrives as the text
# "true" or "12", which is a valid string. Such a case tests nothing, so it is left out.
_FORM_TEXT = frozenset({"pipeline", "priority", "idempotency_key"})


@schemathesis.hook
def filter_case(ctx: schemathesis.HookContext, case: Any) -> bool:
    """Drop a multipart case whose only "violation" cannot be told apart on the wire."""
    media_type = case.media_type or ""
    if not media_type.startswith("multipart/") or not isinstance(case.body, dict):
        return True
    return all(isinstance(case.body[k], str) for k in _FORM_TEXT & case.body.keys())
