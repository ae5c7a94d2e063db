"""Front-door helpers for the HL7 tests: POST /v1/hl7, MLLP, jobs, bundles, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.core.models import Message
from carepipe.ops.dlq import DeadLetterFilter, list_dead
from tests.api.conftest import make_key
from tests.interop.hl7.samples import DATA

HL7 = "x-application/hl7-v2+er7"


def sample_bytes(folder: str, name: str) -> bytes:
    return (DATA / folder / name).read_bytes()


class Hl7Api:
    """A TestClient on the real app with a partner key of ``tenant``."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def post(self, raw: bytes, content_type: str = HL7) -> Any:
        return self.client.post(
            "/v1/hl7", content=raw, headers={**self.headers, "Content-Type": content_type}
        )

    def job(self, job_id: str) -> dict[str, Any]:
        resp = self.client.get(f"/v1/jobs/{job_id}", headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def bundle(self, job_id: str) -> dict[str, Any]:
        resp = self.client.get(f"/v1/jobs/{job_id}/bundle", headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()


@contextmanager
def hl7_api(db, blobs, settings, tenant: str = "city") -> Iterator[Hl7Api]:
    key = make_key(db, tenant=tenant)
    with TestClient(create_app(settings, db=db, blobs=blobs)) as client:
        yield Hl7Api(client, key)


def resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def dead_letters(db, error_code: str) -> list[dict[str, Any]]:
    """What the DLQ console lists for ``error_code``."""
    with db.session() as s:
        return list_dead(s, SYSTEM, DeadLetterFilter(error_code=error_code))


def messages(db, **where: Any) -> list[Message]:
    with db.session() as s:
        stmt = select(Message)
        for k, v in where.items():
            stmt = stmt.where(getattr(Message, k) == v)
        rows = list(s.execute(stmt.order_by(Message.received_at, Message.id)).scalars())
        for r in rows:
            s.expunge(r)
        return rows
