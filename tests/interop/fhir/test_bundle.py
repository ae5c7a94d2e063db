"""Transaction bundle helpers: ids, identifiers, requests, formatting."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest

from carepipe.core.errors import FhirInvalid
from carepipe.interop.fhir import BundleContext, TransactionBuilder, deterministic_uuid
from carepipe.interop.fhir.bundle import (
    carepipe_system,
    fhir_datetime,
    fhir_instant,
    narrative,
    to_fhir,
)


def test_deterministic_uuid_depends_on_every_part() -> None:
    ctx = BundleContext("acme", "job-1")
    base = deterministic_uuid(ctx, "observation", "vital:0")
    assert base == deterministic_uuid(BundleContext("acme", "job-1"), "observation", "vital:0")
    assert base.version == 5
    others = {
        deterministic_uuid(BundleContext("other", "job-1"), "observation", "vital:0"),
        deterministic_uuid(BundleContext("acme", "job-2"), "observation", "vital:0"),
        deterministic_uuid(ctx, "condition", "vital:0"),
        deterministic_uuid(ctx, "observation", "vital:1"),
    }
    assert base not in others
    assert len(others) == 4


def test_parts_cannot_run_into_each_other() -> None:
    a = deterministic_uuid(BundleContext("a", "b:c"), "k", "n")
    b = deterministic_uuid(BundleContext("a:b", "c"), "k", "n")
    assert a != b


def test_carepipe_system_encodes_the_tenant() -> None:
    assert carepipe_system("acme", "observation") == "urn:carepipe:acme:observation"
    assert carepipe_system("acme labs/x", "patient") == "urn:carepipe:acme%20labs%2Fx:patient"


def test_add_gives_identifier_fullurl_and_conditional_create() -> None:
    builder = TransactionBuilder(BundleContext("acme", "job-1"))
    ref = builder.add(
        {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
        natural_key="one",
    )
    entry = builder.entries[0]
    uid = uuid.UUID(ref["reference"].removeprefix("urn:uuid:"))
    assert entry["fullUrl"] == ref["reference"]
    assert entry["resource"]["identifier"] == [
        {"system": "urn:carepipe:acme:observation", "value": str(uid)}
    ]
    assert entry["request"] == {
        "method": "POST",
        "url": "Observation",
        "ifNoneExist": f"identifier=urn:carepipe:acme:observation|{uid}",
    }


def test_upsert_is_a_conditional_put_on_the_business_identifier() -> None:
    builder = TransactionBuilder(BundleContext("acme", "job-1"))
    builder.add(
        {"resourceType": "Patient", "identifier": [{"system": "urn:x:mrn", "value": "A 1"}]},
        natural_key="patient",
        match_on={"system": "urn:x:mrn", "value": "A 1"},
        upsert=True,
    )
    assert builder.entries[0]["request"] == {
        "method": "PUT",
        "url": "Patient?identifier=urn:x:mrn|A%201",
    }


def test_same_natural_key_twice_is_refused() -> None:
    builder = TransactionBuilder(BundleContext("acme", "job-1"))
    resource = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
    builder.add(resource, natural_key="k")
    with pytest.raises(ValueError, match="share the natural key"):
        builder.add(resource, natural_key="k")


def test_composition_gets_a_single_identifier() -> None:
    builder = TransactionBuilder(BundleContext("acme", "job-1"))
    builder.add(
        {
            "resourceType": "Composition",
            "status": "final",
            "type": {"text": "note"},
            "date": "2024-01-01",
            "author": [{"display": "x"}],
            "title": "t",
        },
        natural_key="note",
    )
    assert isinstance(builder.entries[0]["resource"]["identifier"], dict)


def test_structural_errors_raise_fhir_invalid_without_the_input_value() -> None:
    with pytest.raises(FhirInvalid) as caught:
        to_fhir(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "valueQuantity": {"value": "Ravi Sharma"},
            }
        )
    assert caught.value.retryable is False
    assert any("valueQuantity.value" in p for p in caught.value.details)
    assert "Ravi" not in repr(caught.value.details)


def test_narrative_escapes_text_into_valid_xhtml() -> None:
    div = narrative("Line <b>one</b> & more\nline two\n\nSecond paragraph")["div"]
    root = ET.fromstring(div)
    assert root.tag == "{http://www.w3.org/1999/xhtml}div"
    paragraphs = root.findall("{http://www.w3.org/1999/xhtml}p")
    assert len(paragraphs) == 2
    assert "".join(paragraphs[0].itertext()) == "Line <b>one</b> & moreline two"
    assert "<b>" not in div


def test_datetime_formatting() -> None:
    assert fhir_datetime(datetime(2024, 5, 1, 10, 30)) == "2024-05-01T10:30:00Z"
    assert fhir_datetime(date(2024, 5, 1)) == "2024-05-01"
    assert fhir_instant(date(2024, 5, 1)) == "2024-05-01T00:00:00Z"
    assert fhir_instant("2024-05-01") == "2024-05-01T00:00:00Z"
