"""Transaction Bundle helpers: deterministic ids, conditional creates, references.

Every resource we create gets

* a ``fullUrl`` ``urn:uuid:<uuid5(tenant, job key, kind, natural key)>``, so the
  same job always builds the same bundle;
* a CarePipe identifier ``urn:carepipe:<tenant>:<kind>`` whose value is that uuid;
* a ``request`` ``POST <Type>`` with ``ifNoneExist: identifier=<system>|<value>``
  (or a conditional ``PUT``), so pushing the bundle twice never makes a second copy.

Resources are built as plain dicts and passed through the ``fhir.resources`` R4B
models (structural validation), which return the JSON dicts that go in the bundle.
"""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir.inputs import BundleContext, DateLike, IdentifierInput

# Fixed namespace of CarePipe's uuid5 ids (never change it: replays depend on it).
CAREPIPE_NAMESPACE = uuid.UUID("6f1c8f3e-5b7a-5d2e-9c41-0a7e3c2b9d10")

# Resource types whose ``identifier`` is a single Identifier, not a list (R4).
_SINGLE_IDENTIFIER = frozenset({"Composition", "Bundle"})

_SEARCH_SAFE = ":/.-_~@"


def tenant_slug(tenant: str) -> str:
    """The tenant as it appears inside a URN (percent-encoded outside ``[A-Za-z0-9._-]``)."""
    return quote(tenant, safe="._-")


def carepipe_system(tenant: str, kind: str) -> str:
    """The CarePipe identifier system of one kind of resource of one tenant."""
    return f"urn:carepipe:{tenant_slug(tenant)}:{kind}"


def deterministic_uuid(ctx: BundleContext, kind: str, natural_key: str) -> uuid.UUID:
    """uuid5 over (tenant, job key, kind, natural key): same input, same id."""
    # The unit separator cannot occur in the parts, so ("a", "b:c") != ("a:b", "c").
    name = "\x1f".join((ctx.tenant, ctx.job_key, kind, natural_key))
    return uuid.uuid5(CAREPIPE_NAMESPACE, name)


def search_token(system: str, value: str) -> str:
    """``system|value`` for a FHIR token search, URL-encoded where it must be."""
    return f"{quote(system, safe=_SEARCH_SAFE)}|{quote(value, safe=_SEARCH_SAFE)}"


def identifier_query(identifier: IdentifierInput | dict[str, str]) -> str:
    """``identifier=<system>|<value>``: the query of a conditional create or reference."""
    if isinstance(identifier, IdentifierInput):
        return f"identifier={search_token(identifier.system, identifier.value)}"
    return f"identifier={search_token(identifier['system'], identifier['value'])}"


def conditional_reference(resource_type: str, identifier: IdentifierInput) -> dict[str, str]:
    """A reference the server resolves by searching: ``Patient?identifier=s|v``."""
    return {"reference": f"{resource_type}?{identifier_query(identifier)}"}


def server_reference(resource_type: str, server_id: str) -> dict[str, str]:
    """A literal reference to a resource the server already has: ``Patient/123``."""
    return {"reference": f"{resource_type}/{server_id}"}


# --- Formatting ----------------------------------------------------------------------------


def fhir_datetime(value: DateLike) -> str:
    """A FHIR ``dateTime``: a date stays a date; a naive datetime is read as UTC."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        text = value.isoformat(timespec="seconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def fhir_instant(value: DateLike) -> str:
    """A FHIR ``instant`` (date, time and zone): a bare date becomes midnight UTC."""
    if isinstance(value, datetime):
        return fhir_datetime(value)
    if isinstance(value, date):
        return fhir_datetime(datetime(value.year, value.month, value.day, tzinfo=UTC))
    if "T" not in value:
        return f"{value}T00:00:00Z"
    return value


def fhir_date(value: date | datetime | str) -> str:
    """A FHIR ``date`` (birthDate)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates, FFFE/FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters an xhtml narrative cannot hold."""
    return _NOT_XML.sub("", text)


def narrative(text: str, status: str = "generated") -> dict[str, str]:
    """A Narrative whose xhtml ``div`` holds ``text`` escaped, paragraph by paragraph.

    Characters XML cannot carry (ASR output may hold control characters) are dropped.
    """
    text = xml_safe(text)
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(
        "<p>" + "<br/>".join(html.escape(line, quote=False) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return {"status": status, "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


# --- Structural validation -----------------------------------------------------------------


def pydantic_problems(prefix: str, exc: ValidationError) -> list[str]:
    """PHI-free problems from a pydantic error: the path and the message, never the input."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        path = ".".join(str(part) for part in err["loc"])
        problems.append(f"{prefix}{'.' + path if path else ''}: {err['msg'][:200]}")
    return problems


def to_fhir(resource: dict[str, Any]) -> dict[str, Any]:
    """Parse ``resource`` with its fhir.resources R4B model and return its JSON dict.

    Raises :class:`FhirInvalid` (permanent) with the problems in ``details``.
    """
    resource_type = resource.get("resourceType", "")
    try:
        model = get_fhir_model_class(resource_type)
    except ValueError as exc:
        raise FhirInvalid("unknown FHIR resource type", details=[resource_type]) from exc
    try:
        parsed = model.model_validate(resource)
    except ValidationError as exc:
        problems = pydantic_problems(resource_type, exc)
        raise FhirInvalid(
            f"{resource_type} failed structural validation", details=problems
        ) from exc
    return parsed.model_dump(mode="json", exclude_none=True)


# --- The transaction -----------------------------------------------------------------------


class TransactionBuilder:
    """Collects the entries of one transaction Bundle."""

    def __init__(self, ctx: BundleContext) -> None:
        self.ctx = ctx
        self._entries: list[dict[str, Any]] = []
        self._full_urls: set[str] = set()

    def identifier(self, kind: str, natural_key: str) -> dict[str, str]:
        """The CarePipe identifier of the resource (kind, natural key) of this job."""
        return {
            "system": carepipe_system(self.ctx.tenant, kind),
            "value": str(deterministic_uuid(self.ctx, kind, natural_key)),
        }

    def add(
        self,
        resource: dict[str, Any],
        *,
        natural_key: str,
        kind: str | None = None,
        match_on: dict[str, str] | None = None,
        upsert: bool = False,
    ) -> dict[str, str]:
        """Add ``resource`` and return a reference to it (its fullUrl).

        ``kind`` defaults to the resource type in lower case. The entry is a
        ``POST`` with ``ifNoneExist`` on ``match_on`` (a business identifier that
        must be on the resource) or, by default, on the CarePipe identifier. With
        ``upsert`` it is a conditional ``PUT <Type>?identifier=...`` instead, which
        updates the match or creates it.
        """
        resource_type = resource["resourceType"]
        kind = kind or resource_type.lower()
        uid = deterministic_uuid(self.ctx, kind, natural_key)
        full_url = f"urn:uuid:{uid}"
        if full_url in self._full_urls:
            raise ValueError(f"two {kind} resources share the natural key of entry {full_url}")
        ours = {"system": carepipe_system(self.ctx.tenant, kind), "value": str(uid)}
        resource = dict(resource)
        if resource_type in _SINGLE_IDENTIFIER:
            resource.setdefault("identifier", ours)
        else:
            resource["identifier"] = [*resource.get("identifier", []), ours]
        query = identifier_query(match_on or ours)
        if upsert:
            request = {"method": "PUT", "url": f"{resource_type}?{query}"}
        else:
            request = {"method": "POST", "url": resource_type, "ifNoneExist": query}
        self._entries.append(
            {"fullUrl": full_url, "resource": to_fhir(resource), "request": request}
        )
        self._full_urls.add(full_url)
        return {"reference": full_url}

    @property
    def entries(self) -> list[dict[str, Any]]:
        return list(self._entries)

    def to_dict(self) -> dict[str, Any]:
        """The transaction Bundle as a JSON dict."""
        bundle = {
            "resourceType": "Bundle",
            "identifier": self.identifier("bundle", "bundle"),
            "type": "transaction",
            "entry": self._entries,
        }
        return to_fhir(bundle)
