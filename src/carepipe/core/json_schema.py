"""Small adjustments to the JSON Schemas pydantic writes for our API models."""

from __future__ import annotations

from typing import Any

# An identifier (an MRN, an authority, a patient id): printable, no space at either end.
# The server keeps it as given, never trimmed, so the document and the server agree on
# every string. Explicit ASCII classes, not \s: an OpenAPI pattern is read by ECMA,
# Python and Rust regex engines, which disagree on what \s is.
IDENTIFIER_PATTERN = r"^[^\x00-\x20\x7f]([^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?$"


def omit_null(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` for an optional field that may be left out but never be null.

    Pydantic documents ``x: str | None = None`` as "string or null"; where the
    server treats a key as given only when it has a value, the document must say
    null is not allowed, or clients (and fuzzers) send ``{"x": null}`` in good faith.
    """
    options = schema.pop("anyOf", None)
    if options is None:
        return
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) == 1:
        schema.update(kept[0])
    else:
        schema["anyOf"] = kept
    if schema.get("default", ...) is None:
        del schema["default"]
