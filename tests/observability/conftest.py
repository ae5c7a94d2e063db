"""Fixtures of the model quality tests: the app, a real worker, /metrics samples."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from carepipe.app import create_app
from tests.pipelines.conftest import run_jobs  # noqa: F401  (the real in-process worker)


@pytest.fixture
def client(settings, db, blobs) -> Iterator[TestClient]:
    # Consultation audio is larger than the suite's default 64 KiB request limit.
    s = settings.model_copy(update={"max_payload_bytes": 4 * 1024 * 1024})
    with TestClient(create_app(s, db=db, blobs=blobs)) as c:
        yield c


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample called ``name`` in a /metrics page: sorted label pairs -> value."""
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the one sample ``name{labels}`` (exactly those labels), or None."""
    return samples(text, name).get(tuple(sorted(labels.items())))
