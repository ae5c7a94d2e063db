"""A TEST DOUBLE of an EMR's FHIR server. Not for production use.

It runs as its own process (``python fhir_test_server.py --port 0``; it prints
``PORT <n>`` once listening on 127.0.0.1) and answers like a FHIR R4 server does
for what CarePipe sends it:

* ``POST <base>`` with a transaction Bundle: ``POST`` entries honour
  ``ifNoneExist`` (identifier search: an existing match is answered ``200 OK``
  and nothing is created), ``PUT Type/id`` and conditional ``PUT Type?identifier=``
  create or update; ``urn:uuid`` references are rewritten to the assigned ids,
  conditional references (``Patient?identifier=s|v``) are resolved, literal
  references must exist. All or nothing: any failure stores nothing.
* ``GET /Type/id``, ``GET /Type?identifier=s|v`` (searchset).

Test controls (not FHIR):

* ``GET /_requests``: every non-control request received, with headers and body.
* ``GET /_resources``: everything stored, by type.
* ``POST /_fail {"status": 503, "count": 2, "body": {...}, "retry_after": "1"}``:
  the next ``count`` requests answer ``status`` (with an OperationOutcome, or
  ``body``); ``{"sleep": 3, "count": 1}`` makes them wait first (past a client's
  timeout), then answer normally unless a status is given too.
* ``POST /_reset``: forget resources, requests and failures.

:func:`start_fhir_test_server` starts it from a test and returns a handle.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Json = dict[str, Any]

_LITERAL = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})$")
_CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?(.*)$")


class FhirError(Exception):
    """Ends a request with an HTTP status and an OperationOutcome."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


def operation_outcome(code: str, diagnostics: str, severity: str = "error") -> Json:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


class Store:
    """Resources by type and id, the request log and the failure plan (one lock)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.resources: dict[str, dict[str, Json]] = {}
            self.requests: list[Json] = []
            self.failures: list[Json] = []
            self.next_id = 1

    # --- search -----------------------------------------------------------------------

    def search(self, rtype: str, query: str) -> list[Json]:
        params = parse_qs(query, keep_blank_values=True)
        if not params:
            raise FhirError(400, "invalid", "empty search")
        found = list(self.resources.get(rtype, {}).values())
        for name, values in params.items():
            if name == "_id":
                found = [r for r in found if r.get("id") in values]
            elif name == "identifier":
                for token in values:
                    found = [r for r in found if _has_identifier(r, token)]
            else:
                raise FhirError(400, "not-supported", f"search parameter {name} not supported")
        return found

    # --- transaction ------------------------------------------------------------------

    def transaction(self, bundle: Any) -> Json:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise FhirError(400, "invalid", "body is not a Bundle")
        if bundle.get("type") != "transaction":
            raise FhirError(400, "invalid", "only transaction bundles are supported")
        entries = bundle.get("entry") or []
        with self.lock:
            plan: list[Json] = []
            ids: dict[str, str] = {}
            next_id = self.next_id
            for i, entry in enumerate(entries):
                request = entry.get("request") or {}
                resource = entry.get("resource")
                method, url = request.get("method"), request.get("url", "")
                if not isinstance(resource, dict) or method not in ("POST", "PUT"):
                    raise FhirError(400, "not-supported", f"entry {i}: only POST/PUT of a resource")
                rtype = resource.get("resourceType")
                action: Json = {"entry": entry, "type": rtype}
                if method == "POST":
                    if url != rtype:
                        raise FhirError(400, "invalid", f"entry {i}: POST url must be {rtype}")
                    matches = []
                    if request.get("ifNoneExist"):
                        matches = self.search(rtype, request["ifNoneExist"])
                    if len(matches) > 1:
                        raise FhirError(412, "duplicate", f"entry {i}: ifNoneExist matches many")
                    if matches:
                        action.update(kind="match", id=matches[0]["id"])
                    else:
                        action.update(kind="create", id=str(next_id))
                        next_id += 1
                else:
                    literal, conditional = _LITERAL.match(url), _CONDITIONAL.match(url)
                    if literal and literal.group(1) == rtype:
                        exists = literal.group(2) in self.resources.get(rtype, {})
                        action.update(kind="update" if exists else "create", id=literal.group(2))
                    elif conditional and conditional.group(1) == rtype:
                        matches = self.search(rtype, conditional.group(2))
                        if len(matches) > 1:
                            raise FhirError(412, "duplicate", f"entry {i}: PUT matches many")
                        if matches:
                            action.update(kind="update", id=matches[0]["id"])
                        else:
                            action.update(kind="create", id=str(next_id))
                            next_id += 1
                    else:
                        raise FhirError(400, "invalid", f"entry {i}: bad PUT url")
                if entry.get("fullUrl"):
                    ids[entry["fullUrl"]] = f"{rtype}/{action['id']}"
                plan.append(action)

            staged: dict[str, dict[str, Json]] = {}
            for action in plan:
                if action["kind"] == "match":
                    continue
                resource = copy.deepcopy(action["entry"]["resource"])
                self._resolve(resource, ids, staged)
                old = self.resources.get(action["type"], {}).get(action["id"])
                version = int(old["meta"]["versionId"]) + 1 if old else 1
                resource["id"] = action["id"]
                resource["meta"] = {
                    "versionId": str(version),
                    "lastUpdated": datetime.now(UTC).isoformat(timespec="milliseconds"),
                }
                staged.setdefault(action["type"], {})[action["id"]] = resource
                action["version"] = version

            # Commit: nothing above raised, so the whole transaction applies.
            for rtype, by_id in staged.items():
                self.resources.setdefault(rtype, {}).update(by_id)
            self.next_id = next_id
            response_entries = []
            for action in plan:
                stored = self.resources[action["type"]][action["id"]]
                version = stored["meta"]["versionId"]
                status = {"create": "201 Created", "update": "200 OK", "match": "200 OK"}
                response_entries.append(
                    {
                        "fullUrl": f"{action['type']}/{action['id']}",
                        "resource": stored,
                        "response": {
                            "status": status[action["kind"]],
                            "location": f"{action['type']}/{action['id']}/_history/{version}",
                            "etag": f'W/"{version}"',
                        },
                    }
                )
            return {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": response_entries,
            }

    def _resolve(self, node: Any, ids: dict[str, str], staged: dict[str, dict[str, Json]]) -> None:
        if isinstance(node, list):
            for item in node:
                self._resolve(item, ids, staged)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("reference")
        if isinstance(ref, str):
            node["reference"] = self._target(ref, ids, staged)
        for key, value in node.items():
            if key != "reference":
                self._resolve(value, ids, staged)

    def _target(self, ref: str, ids: dict[str, str], staged: dict[str, dict[str, Json]]) -> str:
        if ref in ids:
            return ids[ref]
        if ref.startswith("urn:"):
            raise FhirError(400, "processing", f"reference {ref} is not an entry of the bundle")
        literal = _LITERAL.match(ref)
        if literal is not None:
            rtype, rid = literal.groups()
            if rid not in self.resources.get(rtype, {}) and rid not in staged.get(rtype, {}):
                raise FhirError(404, "not-found", f"reference target {ref} does not exist")
            return ref
        conditional = _CONDITIONAL.match(ref)
        if conditional is not None:
            matches = self.search(conditional.group(1), conditional.group(2))
            if len(matches) != 1:
                raise FhirError(
                    412 if matches else 404,
                    "duplicate" if matches else "not-found",
                    f"conditional reference matched {len(matches)} resources",
                )
            return f"{conditional.group(1)}/{matches[0]['id']}"
        return ref


def _has_identifier(resource: Json, token: str) -> bool:
    system, value = token.split("|", 1) if "|" in token else (None, token)
    own = resource.get("identifier") or []
    if isinstance(own, dict):
        own = [own]
    return any(
        i.get("value") == value and (not system or i.get("system") == system)
        for i in own
        if isinstance(i, dict)
    )


STORE = Store()


class Handler(BaseHTTPRequestHandler):
    server_version = "CarePipeFhirTestDouble/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the request log is at /_requests

    def _body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return raw, json.loads(raw) if raw else None
        except ValueError:
            return raw, None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path).strip("/")
        raw, body = self._body()
        if path.startswith("_"):
            self._control(method, path, body)
            return
        record: Json = {
            "method": method,
            "path": "/" + path,
            "query": url.query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
            "received_at": time.time(),
        }
        failure = None
        with STORE.lock:
            STORE.requests.append(record)
            if STORE.failures:
                failure = STORE.failures[0]
                failure["count"] -= 1
                if failure["count"] <= 0:
                    STORE.failures.pop(0)
        if failure is not None:
            if failure.get("sleep"):
                time.sleep(float(failure["sleep"]))
            if failure.get("status"):
                status = int(failure["status"])
                out = failure.get("body") or operation_outcome(
                    "transient" if status >= 500 else "invalid", "injected failure"
                )
                headers = (
                    {"Retry-After": str(failure["retry_after"])}
                    if failure.get("retry_after")
                    else None
                )
                record["status"] = status
                self._send(status, out, headers)
                return
        try:
            status, out = self._fhir(method, path, url.query, body, raw)
        except FhirError as exc:
            status, out = exc.status, operation_outcome(exc.code, exc.diagnostics)
        record["status"] = status
        self._send(status, out)

    def _fhir(self, method: str, path: str, query: str, body: Any, raw: bytes) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if method == "POST" and not parts:
            if raw and body is None:
                raise FhirError(400, "structure", "body is not JSON")
            return 200, STORE.transaction(body)
        if method == "GET" and len(parts) == 1:
            with STORE.lock:
                found = STORE.search(parts[0], query)
            return 200, {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(found),
                "entry": [{"resource": r} for r in found],
            }
        if method == "GET" and len(parts) == 2:
            with STORE.lock:
                resource = STORE.resources.get(parts[0], {}).get(parts[1])
            if resource is None:
                raise FhirError(404, "not-found", f"{parts[0]}/{parts[1]} not found")
            return 200, resource
        if method == "PUT" and len(parts) == 2 and isinstance(body, dict):
            bundle = {
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [{"resource": body, "request": {"method": "PUT", "url": "/".join(parts)}}],
            }
            response = STORE.transaction(bundle)["entry"][0]
            return int(response["response"]["status"][:3]), response["resource"]
        raise FhirError(400, "not-supported", f"{method} /{path} is not supported")

    def _control(self, method: str, path: str, body: Any) -> None:
        if method == "GET" and path == "_requests":
            with STORE.lock:
                self._send(200, STORE.requests)
        elif method == "GET" and path == "_resources":
            with STORE.lock:
                self._send(200, {t: list(r.values()) for t, r in STORE.resources.items()})
        elif method == "POST" and path == "_fail" and isinstance(body, dict):
            with STORE.lock:
                STORE.failures.append({**body, "count": int(body.get("count", 1))})
            self._send(200, {"ok": True})
        elif method == "POST" and path == "_reset":
            STORE.reset()
            self._send(200, {"ok": True})
        else:
            self._send(404, operation_outcome("not-found", "unknown control endpoint"))


def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


# --- Starting it from tests -------------------------------------------------------------


class FhirTestServer:
    """A running test double process and its controls."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        import httpx

        response = httpx.request(method, self.base_url + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def requests(self) -> list[Json]:
        """Every FHIR request received so far (method, path, headers, body, status)."""
        return self._call("GET", "/_requests")

    def resources(self, resource_type: str | None = None) -> Any:
        """All stored resources by type, or the list of one type."""
        stored = self._call("GET", "/_resources")
        return stored.get(resource_type, []) if resource_type else stored

    def fail(
        self,
        status: int = 503,
        *,
        count: int = 1,
        body: Json | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests with ``status``."""
        plan: Json = {"status": status, "count": count}
        if body is not None:
            plan["body"] = body
        if retry_after is not None:
            plan["retry_after"] = retry_after
        self._call("POST", "/_fail", plan)

    def delay(self, seconds: float, *, count: int = 1) -> None:
        """Make the next ``count`` requests wait ``seconds`` before answering."""
        self._call("POST", "/_fail", {"sleep": seconds, "count": count})

    def reset(self) -> None:
        self._call("POST", "/_reset")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_fhir_test_server(startup_timeout: float = 15.0) -> FhirTestServer:
    """Start the test double on a free port of 127.0.0.1 and wait until it listens."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    port: list[int] = []

    def read_port() -> None:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.startswith("PORT "):
            port.append(int(line.split()[1]))

    reader = threading.Thread(target=read_port, daemon=True)
    reader.start()
    reader.join(startup_timeout)
    if not port:
        process.kill()
        process.wait(timeout=5)
        raise RuntimeError("the FHIR test double did not start")
    return FhirTestServer(process, port[0])


@contextlib.contextmanager
def running_fhir_test_server() -> Iterator[FhirTestServer]:
    """``with running_fhir_test_server() as emr: ...``: started, then stopped."""
    server = start_fhir_test_server()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    serve(parser.parse_args().port)
