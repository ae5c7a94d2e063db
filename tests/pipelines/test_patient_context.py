"""The patient named in ``context`` reaches every pipeline's bundle, through the public API.

Issue 9 item 1: ``POST /v1/jobs`` validated ``context`` and dropped it, so every
scribe, OCR and orders bundle named a placeholder patient. These tests submit
the way a partner does (HTTP, API key), run a real worker, and read the bundle
the way a partner does (``GET /v1/jobs/{id}/bundle``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key
from carepipe.ops.tenants import set_tenant_settings
from tests.support.fhir_test_server import running_fhir_test_server

DATA = Path(__file__).resolve().parents[1] / "data"
ORDER = "Start metformin 500 mg twice daily"
MRN_REF = "Patient?identifier=urn:carepipe:clinic:mrn:HOSP|12345"


@pytest.fixture
def client(settings, db, blobs):
    big = settings.model_copy(update={"max_payload_bytes": 8 * 1024 * 1024})  # audio, scans
    with TestClient(create_app(big, db=db, blobs=blobs)) as c:
        with db.transaction() as s:
            key = create_key(s, SYSTEM, tenant="clinic", name="t", env="dev").plaintext
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def _patient_refs(bundle: dict[str, Any]) -> set[str]:
    """Every reference to a Patient in the bundle (subject, patient, ...)."""
    found: set[str] = set()
    stack: list[Any] = [bundle]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str) and ref.startswith("Patient"):
                found.add(ref)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _run(client: TestClient, run_jobs, body: dict[str, Any], **kw: Any) -> tuple[dict, dict]:
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    run_jobs([job_id], timeout=300, **kw)
    job = client.get(f"/v1/jobs/{job_id}").json()
    bundle = client.get(f"/v1/jobs/{job_id}/bundle")
    return job, (bundle.json() if bundle.status_code == 200 else {})


def test_orders_bundle_names_the_patient_in_context(client, run_jobs):
    body = {
        "pipeline": "orders",
        "payload": ORDER,
        "context": {"mrn": "12345", "assigning_authority": "HOSP"},
    }
    job, bundle = _run(client, run_jobs, body)
    assert job["status"] == "succeeded", job["error"]
    assert job["patient_context"] is True
    assert job["result"]["patient"] == {"identified": True}
    (med,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "MedicationRequest"
    ]
    assert med["subject"] == {"reference": MRN_REF}
    assert _patient_refs(bundle) == {MRN_REF}


def test_an_mrn_in_the_patient_index_resolves_to_its_abha(client, run_jobs):
    r = client.put("/v1/patients/12345", json={"abha_number": "12-3456-7890-1234"})
    assert r.status_code == 200, r.text
    body = {"pipeline": "orders", "payload": ORDER, "context": {"mrn": "12345"}}
    _, bundle = _run(client, run_jobs, body)
    (ref,) = _patient_refs(bundle)
    assert ref.startswith("Patient?identifier=") and ref.endswith("|12345678901234")


@pytest.mark.parametrize("mrn", ["%20%20", "%20123"])
def test_an_mrn_with_spaces_at_its_ends_is_refused_by_the_patient_index(client, mrn):
    r = client.put(f"/v1/patients/{mrn}", json={"abha_number": "12-3456-7890-1234"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"


def test_a_no_break_space_is_part_of_an_mrn_not_trimmed(client):
    r = client.put("/v1/patients/%C2%A0", json={"abha_number": "12-3456-7890-1234"})
    assert r.status_code == 200, r.text
    assert client.get("/v1/patients/%C2%A0").json()["abha_number"].endswith("1234")
    assert client.get("/v1/patients/x").status_code == 404


def test_scribe_and_ocr_bundles_name_the_patient_in_context(client, run_jobs):
    submissions = {
        "scribe": ("scribe/c01.wav", "audio/wav"),
        "ocr": ("ocr/lab_cbc_clean.png", "image/png"),
    }
    for pipeline, (name, ctype) in submissions.items():
        # Multipart, as an upload from a partner's system would come.
        r = client.post(
            "/v1/jobs",
            data={"pipeline": pipeline, "context": json.dumps({"patient_id": "p-77"})},
            files={"file": (Path(name).name, (DATA / name).read_bytes(), ctype)},
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        run_jobs([job_id], timeout=300)
        job = client.get(f"/v1/jobs/{job_id}").json()
        assert job["status"] == "succeeded", (pipeline, job["error"])
        bundle = client.get(f"/v1/jobs/{job_id}/bundle").json()
        assert _patient_refs(bundle) == {"Patient/p-77"}, pipeline


def test_context_is_not_stored_in_clear(client, db, run_jobs):
    from sqlalchemy import select

    from carepipe.core.models import Message

    body = {"pipeline": "orders", "payload": ORDER, "context": {"mrn": "MRN-SECRET-9"}}
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 202
    with db.session() as s:
        meta = s.execute(select(Message.meta)).scalar_one()
    assert "MRN-SECRET-9" not in json.dumps(meta)


def test_without_context_the_job_says_so_and_is_kept_not_pushed(client, db, settings, run_jobs):
    # No EMR configured: the bundle is kept, and the result says its patient is a stand-in.
    job, bundle = _run(client, run_jobs, {"pipeline": "orders", "payload": ORDER})
    assert job["status"] == "succeeded" and job["patient_context"] is False
    # The stand-in is a Patient the EMR would create, named by this job only.
    (patient,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert patient["resource"]["identifier"][0]["system"] == "urn:carepipe:clinic:job-patient"
    assert job["result"]["patient"]["identified"] is False
    assert job["result"]["emr"]["status"] == "kept"
    with running_fhir_test_server() as emr:
        s = settings.model_copy(update={"emr_fhir_url": emr.base_url})
        # With an EMR: a dead letter that says why, and nothing sent.
        job, _ = _run(
            client, run_jobs, {"pipeline": "orders", "payload": ORDER}, settings_override=s
        )
        assert job["status"] == "dead"
        assert job["error"]["code"] == "patient_unidentified"
        assert emr.requests() == []
        # The tenant may allow it; then the same kind of job is pushed.
        with db.transaction() as session:
            set_tenant_settings(
                session, SYSTEM, "clinic", {"allow_unidentified_patients": True}, reason="T-1"
            )
        job, _ = _run(
            client,
            run_jobs,
            {"pipeline": "orders", "payload": ORDER, "idempotency_key": "allowed"},
            settings_override=s,
        )
        assert job["status"] == "succeeded", job["error"]
        assert job["result"]["emr"]["status"] == "pushed"


@pytest.mark.parametrize(
    ("context", "problem"),
    [
        ({}, "at least one of"),
        ({"abha": "123"}, "abha"),
        ({"mrn": "12\u00003"}, "U+0000"),
        ({"assigning_authority": "HOSP", "patient_id": "p-1"}, "assigning_authority"),
        ({"mrn": "1", "ward": "3B"}, "ward"),
        ({"patient_id": "p/../1"}, "patient_id"),
        # Kept as given, never trimmed: the OpenAPI pattern and the server agree.
        ({"mrn": " "}, "mrn"),
        ({"mrn": " 12345"}, "mrn"),
        ({"abha": "\u0967\u0968-3456-7890-1234"}, "abha"),  # Devanagari digits
    ],
)
def test_invalid_context_is_refused_and_archived(client, db, context, problem):
    from sqlalchemy import select

    from carepipe.core.models import Message

    r = client.post("/v1/jobs", json={"pipeline": "orders", "payload": ORDER, "context": context})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_failed" and problem in json.dumps(err)
    with db.session() as s:
        (msg,) = s.execute(select(Message)).scalars().all()
    assert msg.status == "rejected" and msg.error_code == "validation_failed"


def test_abha_with_spaces_between_groups_is_accepted(client):
    body = {"pipeline": "orders", "payload": ORDER, "context": {"abha": " 12 3456 7890 1234\n"}}
    r = client.post("/v1/jobs", json=body)
    assert r.status_code == 202, r.text


def test_cli_submit_takes_context(settings, db, blobs, tmp_path, monkeypatch, run_jobs):
    from typer.testing import CliRunner

    from carepipe.cli import app
    from carepipe.core.config import get_settings

    order = tmp_path / "order.txt"
    order.write_text(ORDER)
    monkeypatch.setenv("CAREPIPE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CAREPIPE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv(
        "CAREPIPE_BLOB_ENCRYPTION_KEY", base64.b64encode(b"k" * 32).decode()
    )  # the same key as the blobs fixture
    monkeypatch.setenv("CAREPIPE_BLOB_URL", (tmp_path / "blobs").as_uri())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            [
                "submit",
                str(order),
                "--pipeline",
                "orders",
                "--tenant",
                "clinic",
                "--context",
                '{"patient_id": "p-9"}',
            ],
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    job_id = json.loads(result.output.strip().splitlines()[-1])["id"]
    run_jobs([job_id])
    from tests.pipelines.conftest import artifacts_of

    bundle = json.loads(blobs.get(artifacts_of(db, job_id)["fhir_bundle"].blob_key))
    assert _patient_refs(bundle) == {"Patient/p-9"}
