"""Validation of the transaction bundles we send to an EMR.

Two layers:

1. Structure: every resource (and the Bundle shell) is parsed with its
   ``fhir.resources`` R4B model: cardinality, data types, choice types.
2. Our own rules, which the models do not check: the value sets of the codes we
   emit (statuses per resource type, gender, intents, categories, interpretation,
   ...), LOINC codes (check digit; in our table except for codes passed through
   from labs and orders) with the UCUM units we allow for each, SNOMED CT and
   ICD-10 code shapes, the transaction mechanics (``request`` on every entry,
   unique fullUrls, conditional identifiers present on their resource and not
   duplicated), references that resolve, xhtml narratives, attachments whose
   data, size and hash agree.

Problems are PHI-free strings (paths, codes and counts; never a name, an
identifier value or free text): they end up in the dead-letter queue.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator
from typing import Any
from urllib.parse import parse_qs

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import codes
from carepipe.interop.fhir.bundle import pydantic_problems

Json = dict[str, Any]

_LITERAL_REF = re.compile(
    r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$"
)
_CONDITIONAL_REF = re.compile(r"^([A-Z][A-Za-z]+)\?(.+)$")
_UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"

# Where a LOINC code may come from outside our table: lab result and order codes.
_PASS_THROUGH_TYPES = frozenset({"DiagnosticReport", "ServiceRequest"})


def _is_resource_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except ValueError:
        return False
    return True


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every (path, dict) under ``node``; list items are addressed as ``name[i]``."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]")


def _codes_in(concept: Any, system: str) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [
        c.get("code", "")
        for c in concept.get("coding", [])
        if isinstance(c, dict) and c.get("system") == system
    ]


def _category_codes(resource: Json) -> set[str]:
    found: set[str] = set()
    for category in resource.get("category", []) or []:
        found.update(_codes_in(category, codes.OBSERVATION_CATEGORY))
    return found


def _identifier_of_query(query: str) -> tuple[str | None, str] | None:
    """(system, value) of the ``identifier`` parameter of a search query, if any."""
    params = parse_qs(query, keep_blank_values=True)
    values = params.get("identifier")
    if not values:
        return None
    token = values[0]
    if "|" in token:
        system, value = token.split("|", 1)
        return (system or None), value
    return None, token


class _Checker:
    def __init__(self, bundle: Json, known_server_ids: Collection[str] | None) -> None:
        self.bundle = bundle
        self.known = known_server_ids
        self.problems: list[str] = []
        self.full_urls: dict[str, str] = {}

    def add(self, message: str) -> None:
        self.problems.append(message)

    # --- bundle and entries -----------------------------------------------------------

    def run(self) -> list[str]:
        bundle = self.bundle
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            return ["not a FHIR Bundle"]
        if bundle.get("type") != "transaction":
            self.add("Bundle.type must be 'transaction'")
        entries = bundle.get("entry")
        if not isinstance(entries, list) or not entries:
            self.add("Bundle has no entries")
            return self.problems
        self._structure_of_shell(bundle, entries)
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                self.add(f"entry[{i}]: not an object")
                continue
            full_url = entry.get("fullUrl")
            resource = entry.get("resource")
            rtype = resource.get("resourceType") if isinstance(resource, dict) else None
            if not full_url:
                self.add(f"entry[{i}]: no fullUrl")
            elif full_url in self.full_urls:
                self.add(f"entry[{i}]: fullUrl {full_url} is not unique")
            else:
                if full_url.startswith("urn:uuid:") and not _UUID_URN.match(full_url):
                    self.add(f"entry[{i}]: fullUrl is not a valid urn:uuid")
                self.full_urls[full_url] = rtype or ""
        conditionals: dict[tuple[str, str | None, str], int] = {}
        for i, entry in enumerate(entries):
            if isinstance(entry, dict):
                self._entry(i, entry, conditionals)
        return self.problems

    def _structure_of_shell(self, bundle: Json, entries: list[Any]) -> None:
        # Resources are parsed one by one (clearer paths); the shell without them.
        shell = dict(bundle)
        shell["entry"] = [
            {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
            for e in entries
        ]
        try:
            get_fhir_model_class("Bundle").model_validate(shell)
        except ValidationError as exc:
            self.problems.extend(pydantic_problems("Bundle", exc))

    def _entry(
        self, i: int, entry: Json, conditionals: dict[tuple[str, str | None, str], int]
    ) -> None:
        where = f"entry[{i}]"
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not resource.get("resourceType"):
            self.add(f"{where}: no resource")
            return
        rtype = resource["resourceType"]
        where = f"entry[{i}] {rtype}"
        if not _is_resource_type(rtype):
            self.add(f"{where}: unknown resource type")
            return
        try:
            get_fhir_model_class(rtype).model_validate(resource)
        except ValidationError as exc:
            self.problems.extend(pydantic_problems(f"{where}: ", exc))
        self._request(i, where, rtype, resource, entry.get("request"), conditionals)
        self._resource(where, rtype, resource)

    def _request(
        self,
        index: int,
        where: str,
        rtype: str,
        resource: Json,
        request: Any,
        conditionals: dict[tuple[str, str | None, str], int],
    ) -> None:
        if not isinstance(request, dict):
            self.add(f"{where}: no request (a transaction entry needs method and url)")
            return
        method, url = request.get("method"), request.get("url")
        if method not in codes.BUNDLE_METHODS:
            self.add(f"{where}: request.method {method!r} is not a valid HTTP verb")
        if not url:
            self.add(f"{where}: request.url is missing")
            return
        query = None
        if method == "POST":
            if url != rtype:
                self.add(f"{where}: POST url must be the resource type {rtype}")
            query = request.get("ifNoneExist")
        elif method == "PUT":
            conditional = _CONDITIONAL_REF.match(url)
            literal = _LITERAL_REF.match(url)
            target = conditional or literal
            if target is None or target.group(1) != rtype:
                self.add(f"{where}: PUT url must be {rtype}/<id> or {rtype}?<search>")
            if conditional is not None:
                query = conditional.group(2)
        if query is None:
            return
        ident = _identifier_of_query(query)
        if ident is None:
            return
        system, value = ident
        key = (rtype, system, value)
        if key in conditionals:
            self.add(
                f"{where}: conditional identifier (system {system}) duplicates "
                f"entry[{conditionals[key]}]"
            )
        else:
            conditionals[key] = index
        own = resource.get("identifier") or []
        if isinstance(own, dict):
            own = [own]
        if not any(
            isinstance(o, dict)
            and o.get("value") == value
            and (system is None or o.get("system") == system)
            for o in own
        ):
            self.add(
                f"{where}: the conditional identifier (system {system}) is not on the "
                "resource, so a replay would not find it"
            )

    # --- resources --------------------------------------------------------------------

    def _resource(self, where: str, rtype: str, resource: Json) -> None:
        status = resource.get("status")
        if rtype in codes.STATUS and status is not None and status not in codes.STATUS[rtype]:
            self.add(f"{where}: status {status!r} is not a valid {rtype}.status")
        check = getattr(self, f"_check_{rtype}", None)
        if check is not None:
            check(where, resource)
        contained = {
            c.get("id") for c in resource.get("contained", []) or [] if isinstance(c, dict)
        }
        categories = _category_codes(resource) if rtype == "Observation" else set()
        for path, node in _walk(resource, ""):
            if isinstance(node.get("reference"), str):
                self._reference(where, path, node["reference"], contained)
            if "system" in node and "code" in node:
                self._coding(where, rtype, path, node, categories)
            if path.endswith("text") and "div" in node:
                self._narrative(where, path, node)
            if "periodUnit" in node and node["periodUnit"] not in codes.PERIOD_UNITS:
                self.add(f"{where}.{path}: periodUnit {node['periodUnit']!r} is not a UCUM time")
            # (SampledData has "data" and "origin" too, but is not an attachment.)
            if "contentType" in node or ("data" in node and "origin" not in node):
                self._attachment(where, path, node)

    def _reference(self, where: str, path: str, ref: str, contained: set[Any]) -> None:
        if ref in self.full_urls:
            return
        if ref.startswith("#"):
            if ref[1:] not in contained:
                self.add(f"{where}.{path}: contained reference does not resolve")
            return
        if ref.startswith(("urn:uuid:", "urn:oid:")):
            self.add(f"{where}.{path}: reference {ref} does not resolve to an entry")
            return
        literal = _LITERAL_REF.match(ref)
        if literal is not None:
            if not _is_resource_type(literal.group(1)):
                self.add(f"{where}.{path}: reference to unknown type {literal.group(1)}")
            elif self.known is not None and f"{literal.group(1)}/{literal.group(2)}" not in (
                self.known
            ):
                self.add(f"{where}.{path}: reference {ref} is not a known server id")
            return
        conditional = _CONDITIONAL_REF.match(ref)
        if conditional is not None:
            if not _is_resource_type(conditional.group(1)):
                self.add(f"{where}.{path}: reference to unknown type {conditional.group(1)}")
            elif "=" not in conditional.group(2):
                self.add(f"{where}.{path}: conditional reference without search parameters")
            return
        self.add(f"{where}.{path}: reference does not resolve (not an entry, id or search)")

    def _coding(self, where: str, rtype: str, path: str, node: Json, categories: set[str]) -> None:
        system, code = node.get("system"), node.get("code")
        if not isinstance(code, str):
            return
        if system == codes.LOINC:
            if not codes.is_wellformed_loinc(code):
                self.add(f"{where}.{path}: {code!r} is not a well-formed LOINC code")
                return
            passthrough = (rtype in _PASS_THROUGH_TYPES and path.startswith("code")) or (
                rtype == "Observation"
                and "laboratory" in categories
                and path.startswith(("code", "component"))
            )
            if code not in codes.LOINC_TABLE and not passthrough:
                self.add(f"{where}.{path}: LOINC {code} is not in our table")
        elif system == codes.SNOMED:
            if not codes.is_wellformed_snomed(code):
                self.add(f"{where}.{path}: {code!r} is not a well-formed SNOMED CT id")
        elif system in (codes.ICD10, codes.ICD10CM):
            if not codes.is_wellformed_icd10(code):
                self.add(f"{where}.{path}: {code!r} is not a well-formed ICD-10 code")
        elif system == codes.UCUM:
            if code not in codes.UCUM_UNITS:
                self.add(f"{where}.{path}: unit {code!r} is not a UCUM unit we allow")
        elif system == codes.INTERPRETATION:
            if code not in codes.INTERPRETATION_CODES:
                self.add(f"{where}.{path}: interpretation {code!r} is not in our value set")
        elif system == codes.OBSERVATION_CATEGORY and code not in codes.OBSERVATION_CATEGORY_CODES:
            self.add(f"{where}.{path}: category {code!r} is not an observation category")

    def _narrative(self, where: str, path: str, node: Json) -> None:
        try:
            root = ET.fromstring(node["div"])  # noqa: S314 - our own generated xhtml
        except ET.ParseError:
            self.add(f"{where}.{path}.div: narrative is not well-formed xhtml")
            return
        if root.tag != _XHTML_DIV:
            self.add(f"{where}.{path}.div: narrative root must be an xhtml div")
        elif not "".join(root.itertext()).strip():
            self.add(f"{where}.{path}.div: narrative has no text (txt-2)")

    def _attachment(self, where: str, path: str, node: Json) -> None:
        data = node.get("data")
        if data is None:
            return
        if not node.get("contentType"):
            self.add(f"{where}.{path}: attachment data without contentType")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError, TypeError):
            self.add(f"{where}.{path}: attachment data is not base64")
            return
        if "size" in node and node["size"] != len(raw):
            self.add(f"{where}.{path}: attachment size does not match its data")
        if "hash" in node:
            digest = base64.b64encode(hashlib.sha1(raw, usedforsecurity=False).digest()).decode()
            if node["hash"] != digest:
                self.add(f"{where}.{path}: attachment hash does not match its data")

    # --- per resource type ------------------------------------------------------------

    def _check_units(self, where: str, path: str, concept: Any, qty: Any, strict: bool) -> None:
        loinc = [c for c in _codes_in(concept, codes.LOINC) if c in codes.LOINC_TABLE]
        if not loinc or not isinstance(qty, dict):
            return
        allowed = codes.LOINC_TABLE[loinc[0]].units
        if not allowed:
            self.add(f"{where}.{path}: LOINC {loinc[0]} takes no quantity")
            return
        unit = qty.get("code") if qty.get("system") == codes.UCUM else None
        if unit is None:
            if strict:
                self.add(f"{where}.{path}: LOINC {loinc[0]} needs a UCUM unit")
        elif unit not in allowed:
            self.add(
                f"{where}.{path}: unit {unit!r} is not allowed with LOINC {loinc[0]} "
                f"(allowed: {', '.join(allowed)})"
            )

    def _check_Observation(self, where: str, resource: Json) -> None:
        vital = "vital-signs" in _category_codes(resource)
        code = resource.get("code")
        if vital:
            uses = {
                codes.LOINC_TABLE[c].use
                for c in _codes_in(code, codes.LOINC)
                if c in codes.LOINC_TABLE
            }
            if "vital" not in uses:
                self.add(f"{where}: a vital-signs Observation needs a vital-sign LOINC code")
            if "effectiveDateTime" not in resource and "effectivePeriod" not in resource:
                self.add(f"{where}: a vital-signs Observation needs an effective time")
        self._check_units(where, "valueQuantity", code, resource.get("valueQuantity"), vital)
        for i, component in enumerate(resource.get("component", []) or []):
            if isinstance(component, dict):
                self._check_units(
                    where,
                    f"component[{i}].valueQuantity",
                    component.get("code"),
                    component.get("valueQuantity"),
                    vital,
                )
        if "subject" not in resource:
            self.add(f"{where}: Observation has no subject")

    def _check_Patient(self, where: str, resource: Json) -> None:
        gender = resource.get("gender")
        if gender is not None and gender not in codes.GENDERS:
            # The value itself is demographic data: it stays out of the message.
            self.add(f"{where}: gender is not one of male, female, other, unknown")
        for i, ident in enumerate(resource.get("identifier", []) or []):
            if (
                isinstance(ident, dict)
                and ident.get("system") in codes.ABHA_SYSTEMS
                and not codes.ABHA_PATTERN.match(str(ident.get("value", "")))
            ):
                self.add(f"{where}.identifier[{i}]: ABHA number is not 14 digits")

    def _check_Encounter(self, where: str, resource: Json) -> None:
        cls = resource.get("class") or {}
        if cls.get("system") != codes.ACT_CODE or cls.get("code") not in codes.ENCOUNTER_CLASSES:
            self.add(f"{where}: class must be a v3 ActCode encounter class")

    def _check_Composition(self, where: str, resource: Json) -> None:
        types = _codes_in(resource.get("type"), codes.LOINC)
        if not any(codes.LOINC_TABLE.get(c, codes.LoincEntry("")).use == "document" for c in types):
            self.add(f"{where}: type needs a LOINC document code from our table")

    def _check_DocumentReference(self, where: str, resource: Json) -> None:
        doc_status = resource.get("docStatus")
        if doc_status is not None and doc_status not in codes.DOC_STATUS:
            self.add(f"{where}: docStatus {doc_status!r} is not valid")

    def _check_Condition(self, where: str, resource: Json) -> None:
        self._value_set(
            where, "clinicalStatus", resource, codes.CONDITION_CLINICAL,
            codes.CONDITION_CLINICAL_CODES,
        )  # fmt: skip
        self._value_set(
            where, "verificationStatus", resource, codes.CONDITION_VER_STATUS,
            codes.CONDITION_VERIFICATION_CODES,
        )  # fmt: skip
        for category in resource.get("category", []) or []:
            for code in _codes_in(category, codes.CONDITION_CATEGORY):
                if code not in codes.CONDITION_CATEGORY_CODES:
                    self.add(f"{where}: category {code!r} is not a condition category")

    def _check_AllergyIntolerance(self, where: str, resource: Json) -> None:
        self._value_set(
            where, "clinicalStatus", resource, codes.ALLERGY_CLINICAL, codes.ALLERGY_CLINICAL_CODES
        )
        self._value_set(
            where, "verificationStatus", resource, codes.ALLERGY_VERIFICATION,
            codes.ALLERGY_VERIFICATION_CODES,
        )  # fmt: skip
        if resource.get("type") not in (None, *codes.ALLERGY_TYPE):
            self.add(f"{where}: type {resource['type']!r} is not allergy or intolerance")
        for category in resource.get("category", []) or []:
            if category not in codes.ALLERGY_CATEGORY:
                self.add(f"{where}: category {category!r} is not valid")
        if resource.get("criticality") not in (None, *codes.ALLERGY_CRITICALITY):
            self.add(f"{where}: criticality {resource['criticality']!r} is not valid")

    def _check_MedicationRequest(self, where: str, resource: Json) -> None:
        if resource.get("intent") not in codes.MEDICATION_REQUEST_INTENT:
            self.add(f"{where}: intent {resource.get('intent')!r} is not valid")

    def _check_ServiceRequest(self, where: str, resource: Json) -> None:
        if resource.get("intent") not in codes.SERVICE_REQUEST_INTENT:
            self.add(f"{where}: intent {resource.get('intent')!r} is not valid")
        if resource.get("priority") not in (None, *codes.REQUEST_PRIORITY):
            self.add(f"{where}: priority {resource['priority']!r} is not valid")

    def _check_Appointment(self, where: str, resource: Json) -> None:
        for i, participant in enumerate(resource.get("participant", []) or []):
            if participant.get("status") not in codes.PARTICIPANT_STATUS:
                self.add(f"{where}.participant[{i}]: status is not a participation status")

    def _value_set(
        self, where: str, field: str, resource: Json, system: str, allowed: frozenset[str]
    ) -> None:
        concept = resource.get(field)
        if concept is None:
            return
        found = _codes_in(concept, system)
        if not found:
            self.add(f"{where}: {field} has no coding from {system}")
        for code in found:
            if code not in allowed:
                self.add(f"{where}: {field} {code!r} is not in its value set")


def validate_bundle(bundle: Json, *, known_server_ids: Collection[str] | None = None) -> list[str]:
    """The problems of a transaction bundle; an empty list means it is valid.

    ``known_server_ids`` (``{"Patient/123", ...}``): literal references must be
    one of them. ``None`` accepts any well-formed ``Type/id`` of a known type.
    """
    return _Checker(bundle, known_server_ids).run()


def ensure_valid(bundle: Json, *, known_server_ids: Collection[str] | None = None) -> None:
    """Raise :class:`FhirInvalid` (permanent; ``details`` = the problems) unless valid."""
    problems = validate_bundle(bundle, known_server_ids=known_server_ids)
    if problems:
        raise FhirInvalid(
            f"FHIR bundle failed validation with {len(problems)} problem(s)", details=problems
        )
