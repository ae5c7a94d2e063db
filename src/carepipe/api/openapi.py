"""What ``/openapi.json`` says about errors and authentication, in one place.

Every error has the body ``{"error": {"code", "message", "details"?}}`` with a
stable code; each route lists the statuses it can answer with
(``error_responses``), and ``document_errors`` adds the ones every route of a
kind shares (401/403 where credentials are needed, 413/415 where a body is
read, 422 for invalid parameters, 503 when the platform sheds load).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

from carepipe.pipelines.registry import all_pipelines


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. validation_failed.")
    message: str = Field(description="For people; never contains PHI or secrets.")
    details: Any = Field(None, description="Structured details (e.g. the invalid fields).")


class ErrorBody(BaseModel):
    error: ErrorDetail


# Any JSON the server can store on every database (``carepipe.core.storable_json``);
# recursive, so it says the same at every depth.
_STORABLE_TEXT = "^[^\\u0000\\ud800-\\udfff]*$"
_STORABLE_REF = {"$ref": "#/components/schemas/StorableJson"}
# A model field marked with this key (``json_schema_extra``) is documented as StorableJson.
STORABLE_JSON_MARK = "x-carepipe-storable-json"
STORABLE_JSON: dict[str, Any] = {
    "description": "Any JSON whose text holds no U+0000 and no unpaired surrogate, "
    "nested at most 64 levels.",
    "anyOf": [
        {"type": "string", "pattern": _STORABLE_TEXT},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": _STORABLE_REF},
        {
            "type": "object",
            "propertyNames": {"pattern": _STORABLE_TEXT},
            "additionalProperties": _STORABLE_REF,
        },
    ],
}

_DESCRIPTIONS = {
    400: "Invalid request (invalid_request, invalid_cursor, ...)",
    401: "No or unknown credentials (auth_required, invalid_api_key, api_key_revoked)",
    403: "Not allowed (permission_denied, csrf_failed, password_change_required)",
    404: "Not found, or not visible to the caller (not_found)",
    409: "Conflicts with the current state (conflict, backfill_state_conflict, ...)",
    413: "Body over the size limit (payload_too_large); archived when the caller is known",
    415: "Unsupported content type (unsupported_media_type)",
    422: "Well-formed but invalid (validation_failed, unknown_pipeline, hl7_malformed, ...)",
    423: "Account locked (account_locked)",
    429: "Over a rate limit (rate_limited); see Retry-After",
    503: "Overloaded, not ready or fenced (overloaded, not_ready, maintenance); see Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }


_SCHEMES = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "Partner API key: cpk_<env>_<key id>_<secret><checksum> (older: cp_...)",
    },
    "staffToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A person's token (cpu_<id>_<secret>) from `carepipe users token`",
    },
    "consoleSession": {
        "type": "apiKey",
        "in": "cookie",
        "name": "carepipe_session",
        "description": "Console session; unsafe methods also need the X-CSRF-Token header",
    },
}
_STAFF_PREFIXES = ("/v1/dlq", "/v1/audit", "/v1/backfills", "/v1/archive", "/v1/queues")
_PUBLIC = ("/healthz", "/readyz", "/metrics")


def document_errors(app: FastAPI) -> None:
    """Install an OpenAPI generator that adds security schemes and shared error responses."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(_SCHEMES)
        schemas = components.setdefault("schemas", {})
        schemas.setdefault(
            "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        for name, sub in (
            ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            .get("$defs", {})
            .items()
        ):
            schemas.setdefault(name, sub)
        schemas["ErrorBody"].pop("$defs", None)
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                _decorate(path, method, op)
        _hoist_defs(schema)
        _enumerate_pipelines(schema)
        schemas.setdefault("StorableJson", STORABLE_JSON)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def _hoist_defs(schema: dict[str, Any]) -> None:
    """Move ``$defs`` of hand-written request schemas (``openapi_extra``) into components.

    ``Model.model_json_schema()`` nests the models it refers to under ``$defs`` with
    ``#/$defs/...`` references, which do not resolve once the schema sits inside
    the OpenAPI document.
    """
    schemas = schema["components"]["schemas"]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            for name, sub in node.pop("$defs", {}).items():
                schemas.setdefault(name, walk(sub))
            if node.pop(STORABLE_JSON_MARK, False):
                node["allOf"] = [_STORABLE_REF]
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        return node

    walk(schema.get("paths", {}))
    walk(schemas)


def _enumerate_pipelines(schema: dict[str, Any]) -> None:
    """Name the registered pipelines wherever a request body says ``pipeline``.

    Pipelines are registered at start-up (plugins too), so the enum is filled in
    here rather than written in the models.
    """
    names = [p.name for p in all_pipelines()]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            prop = node.get("properties", {}).get("pipeline")
            if isinstance(prop, dict) and prop.get("type") == "string":
                prop["enum"] = names
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema["components"]["schemas"])
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict):
                walk(op.get("requestBody", {}))


def _decorate(path: str, method: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    shared: list[int] = [400, 422, 503]
    if not path.startswith(_PUBLIC):
        shared += [401, 403]
        if path.startswith(_STAFF_PREFIXES):
            op["security"] = [{"staffToken": []}, {"consoleSession": []}]
        else:
            op["security"] = [{"apiKey": []}]
    if "requestBody" in op:
        shared += [413, 415]
    if method != "get":
        shared.append(409)  # a state change can conflict with the current state
    if "{" in path:
        shared.append(404)
    for status in shared:
        key = str(status)
        if key not in responses:
            responses[key] = {
                "description": _DESCRIPTIONS[status],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
                },
            }
        elif "content" not in responses[key]:
            responses[key]["content"] = {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
            }
    # FastAPI documents its own 422 with HTTPValidationError; ours answers ErrorBody.
    if "422" in responses:
        responses["422"]["content"] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
        }
