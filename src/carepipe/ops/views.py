"""The base of every typed view a service returns (and the API, console and CLI render).

A view says exactly what a caller gets: unknown fields are refused when one is
built (``extra="forbid"``, documented as ``additionalProperties: false``), and
every field is listed as ``required`` in the response schema, because the API
always sends every field (``null`` when it has no value). Clients can rely on
the OpenAPI document, and the contract test can hold the server to it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    """A service's answer: read-only, no unknown fields, every field always present."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_serialization_defaults_required=True,
    )

    def __getitem__(self, name: str) -> Any:
        # Read access by key as well as by attribute: a view reads like the JSON it is
        # sent as (templates, tests, and callers written against the dicts services
        # used to return). A missing field raises KeyError, as a dict does.
        if name not in type(self).model_fields and name not in type(self).model_computed_fields:
            raise KeyError(name)
        return getattr(self, name)
