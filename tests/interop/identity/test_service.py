"""The patient index service on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from carepipe.core.db import Database
from carepipe.core.errors import InvalidAbha, ValidationFailed
from carepipe.interop.identity import PatientLink, link_snapshot, list_links, lookup, upsert

ABHA_1 = "12-3456-7890-1234"
ABHA_2 = "98 7654 3210 9876"


def _count(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(PatientLink)) or 0


def _upsert(db: Database, **kw):
    args = {
        "tenant": "t1",
        "mrn": "MRN1",
        "assigning_authority": "HOSP",
        "abha_number": ABHA_1,
        "source": "adt",
        "actor": "mllp",
    }
    args.update(kw)
    with db.transaction() as s:
        link, before = upsert(s, **args)
        return link_snapshot(link), before


def test_create_then_lookup(index_db: Database, clock) -> None:
    after, before = _upsert(index_db, fhir_patient_id="pat-1")
    assert before is None
    assert after["abha_number"] == "12345678901234"  # stored normalized
    assert after["created_at"] == after["updated_at"] == clock.now().isoformat()
    with index_db.session() as s:
        link = lookup(s, "t1", "MRN1", "HOSP")
        assert link is not None
        assert (link.abha_number, link.fhir_patient_id, link.source, link.updated_by) == (
            "12345678901234",
            "pat-1",
            "adt",
            "mllp",
        )
        assert link.created_at == clock.now()
        assert lookup(s, "t1", "MRN1") is not None  # unique by MRN
        assert lookup(s, "t2", "MRN1", "HOSP") is None  # other tenant
        assert lookup(s, "t1", "MRN2", "HOSP") is None


def test_update_returns_previous_state_and_keeps_fhir_id(index_db: Database, clock) -> None:
    first, _ = _upsert(index_db, fhir_patient_id="pat-1")
    clock.advance(60)
    after, before = _upsert(index_db, abha_number=ABHA_2, source="console", actor="ops@example.org")
    assert before == first
    assert after["id"] == first["id"]
    assert after["abha_number"] == "98765432109876"
    assert after["fhir_patient_id"] == "pat-1"  # None keeps the stored id
    assert (after["source"], after["updated_by"]) == ("console", "ops@example.org")
    assert after["created_at"] == first["created_at"]
    assert after["updated_at"] == (clock.now()).isoformat()
    assert _count(index_db) == 1


def test_same_mrn_under_other_authorities_are_separate_links(index_db: Database) -> None:
    _upsert(index_db, assigning_authority="HOSP_A", abha_number=ABHA_1)
    _upsert(index_db, assigning_authority="HOSP_B", abha_number=ABHA_2)
    assert _count(index_db) == 2
    with index_db.session() as s:
        a = lookup(s, "t1", "MRN1", "HOSP_A")
        b = lookup(s, "t1", "MRN1", "HOSP_B")
        assert a is not None and b is not None
        assert (a.abha_number, b.abha_number) == ("12345678901234", "98765432109876")
        # Without an authority the MRN is ambiguous: no guess.
        assert lookup(s, "t1", "MRN1") is None


def test_unscoped_link_is_the_fallback_for_any_authority(index_db: Database) -> None:
    _upsert(index_db, assigning_authority=None, source="console")
    with index_db.session() as s:
        link = lookup(s, "t1", "MRN1", "SOME_HOSP")
        assert link is not None and link.assigning_authority == ""
        assert lookup(s, "t1", "MRN1", "SOME_HOSP", fallback_to_unscoped=False) is None
    # An exact authority match wins over the unscoped link.
    _upsert(index_db, assigning_authority="SOME_HOSP", abha_number=ABHA_2)
    with index_db.session() as s:
        link = lookup(s, "t1", "MRN1", "SOME_HOSP")
        assert link is not None and link.abha_number == "98765432109876"


def test_invalid_abha_writes_nothing(index_db: Database) -> None:
    with pytest.raises(InvalidAbha):
        _upsert(index_db, abha_number="priya@abdm")
    with pytest.raises(InvalidAbha):
        _upsert(index_db, abha_number="1234")
    assert _count(index_db) == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"source": "email"},
        {"mrn": "  "},
        {"tenant": ""},
        {"actor": ""},
        {"mrn": "x" * 65},
        {"fhir_patient_id": "p" * 65},
    ],
)
def test_validation(index_db: Database, bad: dict) -> None:
    with pytest.raises(ValidationFailed):
        _upsert(index_db, **bad)
    assert _count(index_db) == 0


def test_whitespace_around_keys_is_ignored(index_db: Database) -> None:
    _upsert(index_db, mrn=" MRN1 ", assigning_authority=" HOSP ")
    with index_db.session() as s:
        assert lookup(s, "t1", "MRN1", "HOSP") is not None
        assert lookup(s, " t1 ", " MRN1", " HOSP ") is not None


def test_unique_constraint_holds_in_the_database(index_db: Database, clock) -> None:
    _upsert(index_db)
    with pytest.raises(IntegrityError), index_db.transaction() as s:
        now = clock.now()
        s.add(
            PatientLink(
                tenant="t1",
                assigning_authority="HOSP",
                mrn="MRN1",
                abha_number="11111111111111",
                source="api",
                created_at=now,
                updated_at=now,
            )
        )
        s.flush()


def test_list_links_filters_and_orders(index_db: Database, clock) -> None:
    for i in range(5):
        clock.advance(1)
        _upsert(index_db, mrn=f"M{i}", abha_number=ABHA_2 if i % 2 else ABHA_1)
    _upsert(index_db, tenant="t2", mrn="M0")
    with index_db.session() as s:
        links = list_links(s, "t1")
        assert [link.mrn for link in links] == ["M4", "M3", "M2", "M1", "M0"]
        assert [link.mrn for link in list_links(s, "t1", limit=2, offset=1)] == ["M3", "M2"]
        assert [link.mrn for link in list_links(s, "t1", abha_number="98-7654-3210-9876")] == [
            "M3",
            "M1",
        ]
        assert [link.mrn for link in list_links(s, "t1", mrn="M2")] == ["M2"]
        assert list_links(s, "t1", assigning_authority="") == []
        assert len(list_links(s, "t1", assigning_authority="HOSP")) == 5
        with pytest.raises(InvalidAbha):
            list_links(s, "t1", abha_number="nope")
        with pytest.raises(ValidationFailed):
            list_links(s, "t1", limit=0)


def test_upsert_does_not_commit(index_db: Database) -> None:
    with index_db.session() as s:
        upsert(
            s,
            tenant="t1",
            mrn="MRN1",
            assigning_authority="HOSP",
            abha_number=ABHA_1,
            source="api",
            actor="partner",
        )
        s.rollback()
    assert _count(index_db) == 0


def test_concurrent_upserts_of_one_key_leave_one_row(index_db: Database, clock) -> None:
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait(5)
            _upsert(index_db, abha_number=f"{n:014d}", actor=f"w{n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert _count(index_db) == 1
    with index_db.session() as s:
        link = lookup(s, "t1", "MRN1", "HOSP")
        assert link is not None
        assert link.abha_number == f"{int(link.updated_by[1:]):014d}"  # last writer's values


def test_repr_hides_phi(index_db: Database) -> None:
    _upsert(index_db)
    with index_db.session() as s:
        link = lookup(s, "t1", "MRN1", "HOSP")
        assert "MRN1" not in repr(link) and "1234" not in repr(link)


def test_timestamps_are_aware_utc(index_db: Database, clock) -> None:
    _upsert(index_db)
    with index_db.session() as s:
        link = lookup(s, "t1", "MRN1", "HOSP")
        assert link is not None and link.updated_at.utcoffset() == timedelta(0)
