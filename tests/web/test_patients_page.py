"""The patient index page: lookup with masking, mapping with permission, CSRF and audit."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from carepipe.core.models import AuditEvent
from tests.support.console import make_user
from tests.support.console_http import sign_in


def test_ops_maps_and_clinician_sees_masked(app, db):
    make_user(db, "olga", "ops")
    make_user(db, "cleo", "clinician")
    with TestClient(app) as ops:
        token = sign_in(ops, "olga")
        page = ops.get("/console/patients")
        assert page.status_code == 200 and "Map an MRN" in page.text
        form = {
            "csrf_token": token,
            "tenant": "city",
            "mrn": "M-9",
            "abha_number": "12-3456-7890-1234",
            "reason": "INC-1",
        }
        r = ops.post("/console/patients", data=form)
        assert r.status_code == 200 and "Mapping saved" in r.text
        assert "12-3456-7890-1234" in r.text
        bad = ops.post("/console/patients", data={**form, "abha_number": "123"})
        assert bad.status_code == 422
        no_csrf = ops.post(
            "/console/patients", data={k: v for k, v in form.items() if k != "csrf_token"}
        )
        assert no_csrf.status_code == 403
    with TestClient(app) as clinician:
        token = sign_in(clinician, "cleo")
        seen = clinician.get("/console/patients", params={"tenant": "city", "mrn": "M-9"})
        assert seen.status_code == 200 and "12-3456-7890-1234" not in seen.text
        assert "1234" in seen.text and "Map an MRN" not in seen.text
        denied = clinician.post(
            "/console/patients",
            data={
                "csrf_token": token,
                "tenant": "city",
                "mrn": "M-9",
                "abha_number": "98-7654-3210-9876",
            },
        )
        assert denied.status_code == 403
    with db.session() as s:
        events = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "patient.map")).scalars().all()
        )
    assert len(events) == 1 and events[0].reason == "INC-1"
