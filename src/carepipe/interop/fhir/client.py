"""The EMR client: pushes a transaction bundle to a FHIR REST server.

One attempt per call: the queue owns retries (backoff, attempts, dead letters),
so this maps each outcome to the error type that tells it what to do:

* timeout, connection failure, 5xx, 408, 409, 429 -> :class:`EmrUnavailable`
  (retryable; a replay is safe because every entry is a conditional create);
* any other 4xx -> :class:`EmrRejected` (permanent), with the server's
  OperationOutcome kept in ``details`` and only its severities/codes in the message;
* 2xx -> :class:`PushResult` with the location of every resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from carepipe.core.errors import EmrRejected, EmrUnavailable

Json = dict[str, Any]

FHIR_JSON = "application/fhir+json"
# 409: FHIR servers answer it to concurrent conditional creates; a retry succeeds.
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_LOCATION = re.compile(
    r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]{1,64}))?/?$"
)


@dataclass(frozen=True)
class PushedEntry:
    """The outcome of one entry of the transaction, from ``entry.response``."""

    status: str
    location: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    version_id: str | None = None

    @property
    def created(self) -> bool:
        """True when this push created the resource (201), not matched an existing one."""
        return self.status.strip().startswith("201")

    @property
    def reference(self) -> str | None:
        """``Type/id`` of the resource on the server."""
        if self.resource_type and self.resource_id:
            return f"{self.resource_type}/{self.resource_id}"
        return None


@dataclass(frozen=True)
class PushResult:
    """A transaction the EMR accepted."""

    status_code: int
    entries: list[PushedEntry] = field(default_factory=list)
    response: Json | None = None

    @property
    def references(self) -> list[str]:
        """``Type/id`` of every resource of the bundle, in entry order."""
        return [e.reference for e in self.entries if e.reference]

    @property
    def created(self) -> list[str]:
        """``Type/id`` of the resources this push created (a replay creates none)."""
        return [e.reference for e in self.entries if e.created and e.reference]


@runtime_checkable
class EmrClient(Protocol):
    """Something that delivers a transaction bundle to an EMR."""

    def push(self, bundle: Json, *, idempotency_key: str) -> PushResult: ...


def parse_location(location: str | None) -> tuple[str | None, str | None, str | None]:
    """(type, id, version) of ``Patient/1/_history/2`` or an absolute URL ending so."""
    if not location:
        return None, None, None
    match = _LOCATION.search(location.split("?", 1)[0])
    if match is None:
        return None, None, None
    return match.group(1), match.group(2), match.group(3)


def _entries_of(response: Json | None) -> list[PushedEntry]:
    if not isinstance(response, dict) or response.get("resourceType") != "Bundle":
        return []
    out = []
    for entry in response.get("entry", []) or []:
        outcome = (entry.get("response") or {}) if isinstance(entry, dict) else {}
        location = outcome.get("location")
        rtype, rid, version = parse_location(location)
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if rid is None and isinstance(resource, dict):
            rtype, rid = resource.get("resourceType"), resource.get("id")
        out.append(
            PushedEntry(
                status=str(outcome.get("status", "")),
                location=location,
                resource_type=rtype,
                resource_id=rid,
                version_id=version,
            )
        )
    return out


def _issues(body: Any) -> list[Json]:
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return []
    keep = ("severity", "code", "details", "diagnostics", "expression", "location")
    return [
        {k: issue[k] for k in keep if k in issue}
        for issue in body.get("issue", []) or []
        if isinstance(issue, dict)
    ]


def _summary(issues: list[Json]) -> str:
    # Severity and code are from fixed value sets; diagnostics may quote the payload.
    labels = sorted({f"{i.get('severity', '?')}/{i.get('code', '?')}" for i in issues})
    return f"{len(issues)} issue(s): {', '.join(labels)}" if issues else "no OperationOutcome"


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class FhirRestClient:
    """Posts transaction bundles to ``base_url`` (the FHIR server's base).

    ``headers`` carries authentication (``Authorization: Bearer ...``); it is
    never logged or put in an error. ``transport`` is for tests.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(
            timeout=timeout,
            headers={"Accept": FHIR_JSON, **dict(headers or {})},
            transport=transport,
        )

    def push(self, bundle: Json, *, idempotency_key: str) -> PushResult:
        """POST ``bundle`` as one transaction; see the module doc for the outcomes."""
        try:
            response = self._http.post(
                self.base_url,
                json=bundle,
                headers={"Content-Type": FHIR_JSON, "Idempotency-Key": idempotency_key},
            )
        except httpx.TimeoutException as exc:
            raise EmrUnavailable(
                f"EMR did not answer within {self.timeout:g}s",
                details={"reason": "timeout", "timeout_s": self.timeout},
            ) from exc
        except httpx.TransportError as exc:
            raise EmrUnavailable(
                f"EMR unreachable ({type(exc).__name__})",
                details={"reason": "connection", "error": type(exc).__name__},
            ) from exc

        status = response.status_code
        body = _json_or_none(response)
        if 200 <= status < 300:
            return PushResult(status_code=status, entries=_entries_of(body), response=body)
        issues = _issues(body)
        details: Json = {"status": status, "issues": issues}
        if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
            details["operation_outcome"] = body
        if status >= 500 or status in _RETRYABLE_4XX:
            if "Retry-After" in response.headers:
                details["retry_after"] = response.headers["Retry-After"]
            raise EmrUnavailable(
                f"EMR answered HTTP {status} ({_summary(issues)})", details=details
            )
        raise EmrRejected(
            f"EMR rejected the bundle: HTTP {status}, {_summary(issues)}", details=details
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FhirRestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
