"""One rule for the tenant of a call, the same in every service (``carepipe.ops.tenancy``).

A partner's key acts in and sees only its own tenant; staff name the tenant they
act in and see all tenants unless they name one.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest, PermissionDenied, ValidationFailed
from carepipe.core.models import Job, Message
from carepipe.ops import dlq, jobs, patients
from carepipe.ops.archive import ArchiveFilter, count_messages
from carepipe.ops.intake import receive_hl7
from tests.support.console import insert_dead

STAFF = Principal(kind="user", id="olga", roles=("ops",))
ACME = Principal(kind="api_key", id="k1", roles=("partner",), tenant="acme")
ACME_OPS = Principal(kind="user", id="x", roles=("ops",), tenant="acme")


def _submit(db, blobs, principal, **kw):
    return jobs.submit_job(
        db,
        blobs,
        principal,
        pipeline="two_step",
        payload=b'{"n": 1}',
        content_type="application/json",
        **kw,
    )


def test_submit_acts_in_one_tenant(db, blobs):
    with pytest.raises(InvalidRequest, match="tenant is required"):
        _submit(db, blobs, STAFF)
    staff_job = _submit(db, blobs, STAFF, tenant="globex")
    own = _submit(db, blobs, ACME)
    with pytest.raises(PermissionDenied):
        _submit(db, blobs, ACME, tenant="globex")
    with db.session() as s:
        assert s.get(Job, staff_job.job_id).tenant == "globex"
        assert s.get(Job, own.job_id).tenant == "acme"
    # The partner's list holds its own job only; staff see both, or the tenant they name.
    assert [j.id for j in jobs.list_jobs(db, ACME).items] == [own.job_id]
    assert {j.id for j in jobs.list_jobs(db, STAFF).items} == {own.job_id, staff_job.job_id}
    assert [j.id for j in jobs.list_jobs(db, STAFF, tenant="globex").items] == [staff_job.job_id]
    assert jobs.list_jobs(db, ACME, tenant="globex").items == []


def test_priority_is_a_name_checked_once(db, blobs):
    with pytest.raises(ValidationFailed, match="priority"):
        _submit(db, blobs, ACME, priority="asap")
    sub = _submit(db, blobs, ACME, priority="urgent")
    assert jobs.job_view(db, ACME, sub.job_id).priority == "urgent"


def test_lists_show_the_tenant_asked_for_within_what_the_caller_sees(db, blobs):
    insert_dead(db, 2, tenant="acme")
    insert_dead(db, 3, tenant="globex")
    with db.session() as s:
        assert {r.tenant for r in dlq.list_dead(s, STAFF)} == {"acme", "globex"}
        globex = dlq.list_dead(s, STAFF, dlq.DeadLetterFilter(tenant="globex"))
        assert len(globex) == 3
        assert {r.tenant for r in dlq.list_dead(s, ACME_OPS)} == {"acme"}
        # Asking for another tenant than one's own finds nothing (and says nothing).
        assert dlq.list_dead(s, ACME_OPS, dlq.DeadLetterFilter(tenant="globex")) == []
        assert count_messages(s, ACME_OPS, ArchiveFilter(tenant="globex")) == 0
        assert count_messages(s, ACME_OPS, ArchiveFilter()) == 2


def test_patient_lookup_needs_one_tenant(db):
    with db.transaction() as s:
        mapped = patients.map_patient(s, ACME, "M-1", abha_number="12-3456-7890-1234")
    assert mapped.created and mapped.abha_number == "12-3456-7890-1234"
    with db.session() as s, pytest.raises(InvalidRequest, match="tenant is required"):
        patients.get_patient(s, STAFF, "M-1")
    with db.session() as s:
        seen = patients.get_patient(s, STAFF, "M-1", tenant="acme")
        assert seen.abha_number == "12-3456-7890-1234"  # ops may read PHI
        clinician = Principal(kind="user", id="c", roles=("clinician",))
        assert patients.get_patient(s, clinician, "M-1", tenant="acme").abha_number.startswith(
            "XX-"
        )


def test_hl7_intake_checks_permission_then_archives_refusals_in_the_callers_tenant(db, blobs):
    reader = Principal(kind="user", id="r", roles=("compliance",), tenant="acme")
    with pytest.raises(PermissionDenied):
        receive_hl7(db, blobs, reader, raw=b"MSH|", content_type="text/plain")
    with pytest.raises(InvalidRequest, match="tenant is required"):
        receive_hl7(db, blobs, STAFF, raw=b"MSH|", content_type="text/plain")
    with db.session() as s:
        assert s.execute(select(Message)).first() is None  # nothing kept for either
    from carepipe.core.errors import UnsupportedMediaType

    with pytest.raises(UnsupportedMediaType):
        receive_hl7(db, blobs, ACME, raw=b"MSH|^~\\&|", content_type="application/pdf")
    with db.session() as s:
        (kept,) = s.execute(select(Message)).scalars()
    assert (kept.tenant, kept.status, kept.error_code) == (
        "acme",
        "rejected",
        "unsupported_media_type",
    )
