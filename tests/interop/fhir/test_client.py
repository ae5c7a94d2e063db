"""FhirRestClient against the FHIR test double (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from typing import Any

import pytest

from carepipe.core.errors import EmrRejected, EmrUnavailable
from carepipe.interop.fhir import (
    BundleContext,
    EmrClient,
    FhirRestClient,
    PatientRef,
    build_adt_bundle,
    build_oru_bundle,
    build_scribe_bundle,
)

Json = dict[str, Any]


def counts(emr) -> dict[str, int]:
    return {rtype: len(items) for rtype, items in emr.resources().items()}


@pytest.fixture
def client(emr):
    with FhirRestClient(emr.base_url, timeout=5, headers={"Authorization": "Bearer t0ken"}) as c:
        yield c


def test_fhir_rest_client_is_an_emr_client(client) -> None:
    assert isinstance(client, EmrClient)


def test_push_creates_every_resource_and_resolves_references(
    emr, client, ctx, patient_input, encounter_input, scribe_input
) -> None:
    adt = build_adt_bundle(ctx, patient_input, encounter_input)
    result = client.push(adt, idempotency_key="job-0001")
    assert result.status_code == 200
    assert [e.status for e in result.entries] == ["201 Created", "201 Created"]
    patient_ref, _ = result.references
    assert patient_ref.startswith("Patient/")
    assert result.created == result.references
    stored_encounter = emr.resources("Encounter")[0]
    assert stored_encounter["subject"] == {"reference": patient_ref}

    # The scribe bundle names the patient by MRN: the server resolves it.
    scribe = build_scribe_bundle(BundleContext("acme", "job-0002"), scribe_input)
    result = client.push(scribe, idempotency_key="job-0002")
    assert len(result.created) == len(scribe["entry"])
    composition = emr.resources("Composition")[0]
    assert composition["subject"] == {"reference": patient_ref}
    assert all(r["subject"] == {"reference": patient_ref} for r in emr.resources("Observation"))
    # Section entries point at the created Observations, not at urn:uuid ids.
    observation_refs = {f"Observation/{o['id']}" for o in emr.resources("Observation")}
    objective = next(s for s in composition["section"] if s["title"] == "Objective")
    assert {e["reference"] for e in objective["entry"]} == observation_refs


def test_request_headers(emr, client, ctx, patient_input) -> None:
    client.push(build_adt_bundle(ctx, patient_input), idempotency_key="key-123")
    (request,) = emr.requests()
    assert request["method"] == "POST"
    assert request["path"] == "/"
    assert request["headers"]["content-type"] == "application/fhir+json"
    assert request["headers"]["accept"] == "application/fhir+json"
    assert request["headers"]["idempotency-key"] == "key-123"
    assert request["headers"]["authorization"] == "Bearer t0ken"
    assert request["body"]["type"] == "transaction"


def test_replaying_the_same_bundle_creates_nothing_new(
    emr, client, ctx, patient_input, encounter_input, scribe_input
) -> None:
    client.push(build_adt_bundle(ctx, patient_input, encounter_input), idempotency_key="a")
    scribe = build_scribe_bundle(BundleContext("acme", "job-9"), scribe_input)
    first = client.push(scribe, idempotency_key="job-9")
    before = counts(emr)
    # A replay rebuilds the bundle from the same job key: same ids, same conditions.
    again = client.push(
        build_scribe_bundle(BundleContext("acme", "job-9"), scribe_input), idempotency_key="job-9"
    )
    assert counts(emr) == before
    assert again.created == []
    assert {e.status for e in again.entries} == {"200 OK"}
    assert again.references == first.references


def test_same_patient_from_another_message_is_not_duplicated(
    emr, client, patient_input, encounter_input
) -> None:
    client.push(
        build_adt_bundle(BundleContext("acme", "msg-1"), patient_input, encounter_input),
        idempotency_key="msg-1",
    )
    result = client.push(
        build_adt_bundle(BundleContext("acme", "msg-2"), patient_input, encounter_input),
        idempotency_key="msg-2",
    )
    assert counts(emr) == {"Patient": 1, "Encounter": 1}
    assert result.created == []


def test_adt_update_replaces_the_record_in_place(
    emr, client, patient_input, encounter_input
) -> None:
    client.push(
        build_adt_bundle(BundleContext("acme", "a01"), patient_input, encounter_input),
        idempotency_key="a01",
    )
    discharged = replace(encounter_input, status="finished")
    moved = replace(patient_input, phone="+91-80-0000-0000")
    result = client.push(
        build_adt_bundle(BundleContext("acme", "a08"), moved, discharged, update=True),
        idempotency_key="a08",
    )
    assert counts(emr) == {"Patient": 1, "Encounter": 1}
    assert [e.version_id for e in result.entries] == ["2", "2"]
    assert emr.resources("Encounter")[0]["status"] == "finished"
    assert emr.resources("Patient")[0]["telecom"][0]["value"] == "+91-80-0000-0000"


def test_oru_preliminary_then_final_updates_the_same_results(
    emr, client, oru_report, patient_input
) -> None:
    adt = client.push(
        build_adt_bundle(BundleContext("acme", "adt"), patient_input), idempotency_key="adt"
    )
    patient = PatientRef.by_id(adt.entries[0].resource_id)
    preliminary = replace(
        oru_report, status="P", results=[replace(r, status="P") for r in oru_report.results]
    )
    client.push(
        build_oru_bundle(BundleContext("acme", "oru-1"), patient, preliminary),
        idempotency_key="oru-1",
    )
    client.push(
        build_oru_bundle(BundleContext("acme", "oru-2"), patient, oru_report),
        idempotency_key="oru-2",
    )
    assert counts(emr)["Observation"] == len(oru_report.results)
    assert counts(emr)["DiagnosticReport"] == 1
    assert emr.resources("DiagnosticReport")[0]["status"] == "final"
    assert emr.resources("DiagnosticReport")[0]["meta"]["versionId"] == "2"


def test_unknown_patient_is_rejected_and_nothing_is_stored(emr, client, ctx, scribe_input) -> None:
    bundle = build_scribe_bundle(
        ctx, replace(scribe_input, patient=PatientRef.by_abha("12-3456-7890-1234"))
    )
    with pytest.raises(EmrRejected) as caught:
        client.push(bundle, idempotency_key="k")
    assert caught.value.retryable is False
    assert caught.value.details["status"] == 404
    assert caught.value.details["issues"][0]["code"] == "not-found"
    assert emr.resources() == {}  # all or nothing


def test_4xx_keeps_the_operation_outcome_out_of_the_message(
    emr, client, ctx, patient_input
) -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invalid",
                "diagnostics": "Patient Ravi Sharma: bad birthDate",
                "expression": ["Patient.birthDate"],
            },
            {"severity": "warning", "code": "code-invalid", "diagnostics": "MRN-7781 unknown"},
        ],
    }
    emr.fail(422, body=outcome)
    with pytest.raises(EmrRejected) as caught:
        client.push(build_adt_bundle(ctx, patient_input), idempotency_key="k")
    error = caught.value
    assert error.code == "emr_rejected"
    assert error.details["status"] == 422
    assert error.details["operation_outcome"] == outcome
    assert [i["code"] for i in error.details["issues"]] == ["invalid", "code-invalid"]
    assert "HTTP 422" in error.message
    assert "error/invalid" in error.message
    assert "Ravi" not in error.message and "MRN-7781" not in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_5xx_and_429_are_retryable(emr, client, ctx, patient_input, status: int) -> None:
    emr.fail(status, count=2, retry_after="7")
    bundle = build_adt_bundle(ctx, patient_input)
    for _ in range(2):
        with pytest.raises(EmrUnavailable) as caught:
            client.push(bundle, idempotency_key="k")
        assert caught.value.retryable is True
        assert caught.value.details["status"] == status
        assert caught.value.details["retry_after"] == "7"
    assert emr.resources() == {}
    # The failures are used up: the queue's next attempt goes through.
    assert len(client.push(bundle, idempotency_key="k").created) == 1


def test_timeout_then_retry_creates_each_resource_once(
    emr, ctx, patient_input, encounter_input
) -> None:
    bundle = build_adt_bundle(ctx, patient_input, encounter_input)
    emr.delay(1.5)  # the server is slow, then commits anyway
    with FhirRestClient(emr.base_url, timeout=0.3) as impatient:
        started = time.monotonic()
        with pytest.raises(EmrUnavailable) as caught:
            impatient.push(bundle, idempotency_key="k")
        assert time.monotonic() - started < 1.4
        assert caught.value.details["reason"] == "timeout"
    with FhirRestClient(emr.base_url, timeout=5) as patient_client:
        patient_client.push(bundle, idempotency_key="k")  # the queue's retry
    deadline = time.monotonic() + 5
    while len(emr.requests()) < 2 or any("status" not in r for r in emr.requests()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert counts(emr) == {"Patient": 1, "Encounter": 1}


def test_connection_refused_is_retryable(ctx, patient_input) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        FhirRestClient(f"http://127.0.0.1:{port}", timeout=2) as client,
        pytest.raises(EmrUnavailable) as caught,
    ):
        client.push(build_adt_bundle(ctx, patient_input), idempotency_key="k")
    assert caught.value.details["reason"] == "connection"


def test_server_rejects_a_non_transaction(emr, client) -> None:
    with pytest.raises(EmrRejected) as caught:
        client.push({"resourceType": "Bundle", "type": "batch", "entry": []}, idempotency_key="k")
    assert caught.value.details["issues"][0]["code"] == "invalid"
