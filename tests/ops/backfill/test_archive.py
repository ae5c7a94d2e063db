"""Querying the raw-message archive: filters, counts, keyset paging, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest, PermissionDenied
from carepipe.ops.archive import ArchiveFilter, count_by, count_messages, query_messages
from tests.ops.backfill.helpers import CLINICIAN, COMPLIANCE, OPS, accepted, drain, rejected


@pytest.fixture
def archive(db, blobs, settings, clock):
    """Seven messages over three days: two tenants, three sources, a dead job, two rejections."""
    t0 = clock.now()
    ids = {}
    ids["ok1"] = accepted(db, blobs, {"n": 1}).message_id
    clock.advance(hours=1)
    ids["dead"] = accepted(db, blobs, {"fail": "permanent"}, source="mllp").message_id
    clock.advance(days=1)
    ids["other_tenant"] = accepted(db, blobs, {"n": 3}, tenant="globex").message_id
    ids["rej1"] = rejected(db, blobs)
    clock.advance(days=1)
    ids["rej2"] = rejected(db, blobs, pipeline="echo")
    ids["ok2"] = accepted(db, blobs, {"n": 4}, source="console").message_id
    ids["dup"] = accepted(db, blobs, {"n": 5}, key="same").message_id
    drain(db, blobs, settings, clock)
    return t0, ids


def test_date_range_pipeline_tenant_source(db, archive):
    t0, ids = archive
    day1 = ArchiveFilter(since=t0, until=t0 + timedelta(days=1))
    with db.session() as s:
        page = query_messages(s, OPS, day1)
        assert {m["id"] for m in page.items} == {ids["ok1"], ids["dead"]}
        assert count_messages(s, OPS, day1) == 2
        everything = ArchiveFilter(since=t0, until=t0 + timedelta(days=3), pipeline="two_step")
        assert count_messages(s, OPS, everything) == 6  # rej2 was for echo
        acme = ArchiveFilter(since=t0, until=t0 + timedelta(days=3), tenant="globex")
        assert [m["id"] for m in query_messages(s, OPS, acme).items] == [ids["other_tenant"]]
        mllp = ArchiveFilter(source="mllp")
        assert {m["id"] for m in query_messages(s, OPS, mllp).items} == {
            ids["dead"],
            ids["rej1"],
            ids["rej2"],
        }
        by_status = count_by(s, OPS, ArchiveFilter(), "status")
        assert by_status == {"accepted": 5, "rejected": 2}


def test_error_code_matches_rejections_and_dead_jobs(db, archive):
    _, ids = archive
    with db.session() as s:
        dead = query_messages(s, OPS, ArchiveFilter(error_code="validation_failed")).items
        assert [m["id"] for m in dead] == [ids["dead"]]
        assert dead[0]["job_status"] == "dead"
        assert dead[0]["job_error_code"] == "validation_failed"
        rej = query_messages(s, OPS, ArchiveFilter(error_code="unknown_pipeline")).items
        assert {m["id"] for m in rej} == {ids["rej1"], ids["rej2"]}
        assert all(m["job_id"] is None for m in rej)
        nojob = query_messages(s, OPS, ArchiveFilter(job_status="none")).items
        assert {m["id"] for m in nojob} == {ids["rej1"], ids["rej2"]}


def test_keyset_pages_cover_everything_once_newest_first(db, archive):
    _, ids = archive
    seen: list[str] = []
    times = []
    cursor = None
    with db.session() as s:
        while True:
            page = query_messages(s, OPS, ArchiveFilter(), cursor=cursor, limit=2)
            seen += [m["id"] for m in page.items]
            times += [m["received_at"] for m in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert sorted(seen) == sorted(ids.values())
    assert len(seen) == len(set(seen))
    assert times == sorted(times, reverse=True)


def test_no_payload_or_file_name_in_rows(db, archive):
    with db.session() as s:
        row = query_messages(s, OPS, ArchiveFilter()).items[0]
    assert "filename" not in row and "blob_key" not in row and "meta" not in row


def test_permissions_and_tenant_scope(db, archive):
    _, ids = archive
    with db.session() as s:
        with pytest.raises(PermissionDenied):
            query_messages(s, CLINICIAN, ArchiveFilter())
        assert count_messages(s, COMPLIANCE, ArchiveFilter()) == 7
        # A principal bound to one tenant never sees another's archive, whatever it asks for.
        scoped = Principal(kind="user", id="x", roles=("ops",), tenant="globex")
        assert [m["id"] for m in query_messages(s, scoped, ArchiveFilter()).items] == [
            ids["other_tenant"]
        ]
        assert count_messages(s, scoped, ArchiveFilter(tenant="acme")) == 0


def test_filter_validation(clock):
    now = clock.now()
    with pytest.raises(InvalidRequest):
        ArchiveFilter(since=now, until=now)
    with pytest.raises(InvalidRequest):
        ArchiveFilter(since=now.replace(tzinfo=None))
    with pytest.raises(InvalidRequest):
        ArchiveFilter(job_status="exploded")
    f = ArchiveFilter.from_dict({"since": "2026-03-01T00:00:00Z", "pipeline": "", "tenant": "a"})
    assert f.pipeline is None and f.tenant == "a" and f.since is not None
    assert ArchiveFilter.from_dict(f.to_dict()) == f
