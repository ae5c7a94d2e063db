"""Issue 9 item 8: a fresh platform exports ``carepipe_queue_depth`` 0 for every known
queue and status (and ``carepipe_dead_letters`` 0 per queue), before any work arrives.

Dashboards need a line at 0, and the "dead letters growing" alert needs a baseline:
a series that only appears with its first dead letter never shows the jump from none.
Checked through the API's ``/metrics`` (the app ``carepipe up`` serves, on a freshly
migrated SQLite and PostgreSQL database) and through a real ``carepipe up`` process.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from carepipe.core.auth import Principal
from carepipe.ops.queue_metrics import DEPTH_STATUSES
from carepipe.pipelines.registry import all_queues
from tests.support.up_process import carepipe_up

ROOT = Path(__file__).resolve().parents[2]
OPS = Principal(kind="user", id="olga", roles=("ops",))
# The stage queues of the pipelines CarePipe ships (README, "The pipelines").
SHIPPED_QUEUES = {"asr", "note", "review", "fhir", "emr", "hl7", "match", "ocr", "extract"}


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def _depth(text: str) -> dict[tuple[str, str], float]:
    return {
        (dict(k)["queue"], dict(k)["status"]): v
        for k, v in _samples(text, "carepipe_queue_depth").items()
    }


def _dead(text: str) -> dict[str, float]:
    return {dict(k)["queue"]: v for k, v in _samples(text, "carepipe_dead_letters").items()}


@pytest.fixture
def client(settings, db, blobs):
    from carepipe.app import create_app

    with TestClient(create_app(settings, db=db, blobs=blobs)) as c:
        yield c


def test_fresh_platform_exports_zero_for_every_queue_and_status(client):
    text = client.get("/metrics").text
    queues = set(all_queues())
    assert queues >= SHIPPED_QUEUES
    depth = _depth(text)
    expected = {(q, s): 0.0 for q in queues for s in DEPTH_STATUSES}
    assert depth == expected
    assert _dead(text) == dict.fromkeys(queues, 0.0)
    oldest = _samples(text, "carepipe_queue_oldest_ready_seconds")
    assert {dict(k)["queue"] for k in oldest} == queues and set(oldest.values()) == {0.0}


def test_counts_replace_the_zeros_and_backfill_queues_get_theirs(client, db, blobs, clock):
    from carepipe.ops.archive import ArchiveFilter
    from carepipe.ops.backfill import start_backfill
    from tests.support.console import make_dead

    task_id = make_dead(db, blobs, pipeline="two_step")
    # A backfill whose selection is empty: its queue exists (and is unfinished) with no task.
    now = clock.now()
    bf = start_backfill(
        db,
        OPS,
        archive_filter=ArchiveFilter(
            since=now - timedelta(days=30), until=now - timedelta(days=29)
        ),
        pipeline="two_step",
        rate_per_minute=100,
        reason="metrics test",
    )
    text = client.get("/metrics").text
    depth = _depth(text)
    dead = _dead(text)
    from carepipe.core.models import Task

    with db.session() as s:
        queue = s.get(Task, task_id).queue
    assert dead[queue] == 1.0 and depth[(queue, "dead")] == 1.0
    assert all(v == 0.0 for q, v in dead.items() if q != queue)
    assert bf["queue"].startswith("backfill-")
    for status in DEPTH_STATUSES:
        assert depth[(bf["queue"], status)] == 0.0
    assert dead[bf["queue"]] == 0.0


def test_carepipe_up_exports_zeros_before_any_work(tmp_path):
    """The real thing: ``carepipe up`` on an empty data directory, scraped at once."""
    with carepipe_up(
        tmp_path, ready_path="/metrics", keep_env=("CAREPIPE_TEST_DATABASE_URL",)
    ) as up:
        text = httpx.get(f"{up.base_url}/metrics", timeout=5).text
    depth = _depth(text)
    for queue in SHIPPED_QUEUES:
        for status in DEPTH_STATUSES:
            assert depth.get((queue, status)) == 0.0, (queue, status)
    dead = _dead(text)
    assert all(dead.get(q) == 0.0 for q in SHIPPED_QUEUES)


def test_depth_statuses_are_task_statuses():
    from carepipe.core.queue.states import TaskStatus

    assert set(DEPTH_STATUSES) <= {s.value for s in TaskStatus}
