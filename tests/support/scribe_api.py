"""A consultation clip through the front door: the fixtures and the call that posts it.

Test modules import ``db_url`` and ``client`` from here to override the suite's own: SQLite
only (the model work dominates; the queue is covered on both databases elsewhere) and a
request limit large enough for consultation audio (the suite's default is 64 KiB).
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def client(settings, db, blobs):
    s = settings.model_copy(update={"max_payload_bytes": 4 * 1024 * 1024})
    with TestClient(create_app(s, db=db, blobs=blobs)) as c:
        yield c


def post_clip(
    client: TestClient, db: Any, run_jobs: Any, audio: bytes, tenant: str = "clinic"
) -> tuple[dict[str, str], str, dict[str, Any]]:
    """Post ``audio`` as a scribe job with a new API key, run the real worker until the job
    succeeds, and return the key's headers, the job id and the FHIR bundle."""
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant=tenant, name="test", env="dev").plaintext
    auth = {"Authorization": f"Bearer {key}"}
    r = client.post(
        "/v1/jobs",
        headers=auth,
        data={"pipeline": "scribe"},
        files={"file": ("visit.wav", audio, "audio/wav")},
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    (job,) = run_jobs([job_id], timeout=600)
    assert job.status == "succeeded", job.error_message
    return auth, job_id, client.get(f"/v1/jobs/{job_id}/bundle", headers=auth).json()
