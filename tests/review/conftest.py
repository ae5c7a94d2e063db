"""Clinician review through the front door: real scribe jobs (real ASR and note engines,
the real worker) held for review, then reviewed over HTTP as people with personal tokens.

Clinicians ``cara`` (clinic-a) and ``bob`` (clinic-b), the operator ``otto`` (role ops)
and the administrator ``ada``. The blob store is the one the settings name, so the CLI
(which opens its own stores from the environment) reads what the worker wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore, blob_store_from_settings
from carepipe.core.config import Settings
from carepipe.ops import users
from carepipe.ops.api_keys import create_key
from carepipe.review.service import assign_clinician
from tests.pipelines.conftest import run_jobs  # noqa: F401  (a fixture, used by the tests)
from tests.support.console import FAST_HASHER

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"
REVIEW_TENANTS = "clinic-a,clinic-b"


@pytest.fixture(autouse=True)
def _fast_passwords() -> Iterator[None]:
    previous = users.use_password_hasher(FAST_HASHER)
    yield
    users.use_password_hasher(previous)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Consultation audio is larger than the suite's default 64 KiB request limit. The ASR
    # runs greedy on one thread without the second (drug-biased) pass: the same model, a
    # few seconds a clip even on a loaded 2-core machine (two OpenMP threads competing
    # with other processes made a decode take minutes).
    return settings.model_copy(
        update={
            "review_tenants": REVIEW_TENANTS,
            "max_payload_bytes": 4 * 1024 * 1024,
            "asr_cpu_threads": 1,
            "asr_beam_size": 1,
            "asr_contextual_pass": False,
        }
    )


@pytest.fixture
def blobs(settings: Settings) -> BlobStore:
    return blob_store_from_settings(settings)


@pytest.fixture
def client(settings, db, blobs) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


@dataclass
class People:
    """Bearer headers of everyone in the tests."""

    cara: dict[str, str]  # clinician, clinic-a
    bob: dict[str, str]  # clinician, clinic-b
    otto: dict[str, str]  # ops
    ada: dict[str, str]  # admin
    partner_a: dict[str, str]  # clinic-a's API key


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def people(db) -> People:
    tokens: dict[str, dict[str, str]] = {}
    with db.transaction() as s:
        for name, role in (
            ("cara", "clinician"),
            ("bob", "clinician"),
            ("otto", "ops"),
            ("ada", "admin"),
        ):
            users.create_user(
                s, SYSTEM, username=name, roles=[role], password="a long test password 1"
            )
            tokens[name] = _bearer(users.issue_token(s, SYSTEM, name).plaintext)
        assign_clinician(s, SYSTEM, username="cara", tenant="clinic-a")
        assign_clinician(s, SYSTEM, username="bob", tenant="clinic-b")
        key = create_key(s, SYSTEM, tenant="clinic-a", name="emr", env="dev").plaintext
    return People(**tokens, partner_a=_bearer(key))


@pytest.fixture
def held(client, people, run_jobs, settings) -> Callable[..., tuple[str, str]]:  # noqa: F811
    """Submit a recording for clinic-a and run the real worker until the job waits for
    review; returns ``(job id, review id)``."""

    def hold(clip: str | bytes = "c01.wav") -> tuple[str, str]:
        # A file of tests/data/scribe by name, or a clip's bytes (made by the test).
        audio = clip if isinstance(clip, bytes) else (DATA / clip).read_bytes()
        r = client.post(
            "/v1/jobs",
            headers=people.partner_a,
            data={"pipeline": "scribe"},
            files={"file": ("visit.wav", audio, "audio/wav")},
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        (job,) = run_jobs([job_id], timeout=300, settings_override=settings)
        assert job.status == "waiting_review", job.error_message
        page = client.get("/v1/reviews", headers=people.ada).json()
        (review_id,) = [row["id"] for row in page["items"] if row["job_id"] == job_id]
        return job_id, review_id

    return hold


def accept_flagged_and_approve(
    client: TestClient, headers: dict[str, str], rid: str, version: int, items: list[dict]
) -> None:
    """Accept every flagged item of ``items`` still pending (each a new version), then
    approve the note; each step must succeed."""
    for item in items:
        if item["flagged"] and item["decision"] == "pending":
            r = client.post(
                f"/v1/reviews/{rid}/items/{item['id']}",
                headers=headers,
                json={"decision": "accept", "base_version": version},
            )
            assert r.status_code == 200, r.text
            version = r.json()["version"]
    r = client.post(f"/v1/reviews/{rid}/approve", headers=headers, json={"base_version": version})
    assert r.status_code == 200, r.text
