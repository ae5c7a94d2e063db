"""Patient index (``patients.read``, ``patients.map``): look up an MRN, map it to ABHA."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from carepipe.core.auth import Principal
from carepipe.core.errors import CarePipeError, NotFound
from carepipe.ops import patients
from carepipe.web.auth import app_state, require_permission
from carepipe.web.csrf import verify_csrf
from carepipe.web.templating import render

router = APIRouter(prefix="/console/patients", include_in_schema=False)
read = require_permission("patients.read")
mapper = require_permission("patients.map")


@router.get("")
def lookup_page(
    request: Request,
    mrn: str = "",
    authority: str = "",
    tenant: str = "",
    principal: Principal = Depends(read),
) -> Response:
    """Find the link for an MRN (ABHA masked unless the viewer may read PHI)."""
    link, flashes = None, []
    if mrn:
        try:
            with app_state(request).db.session() as s:
                link = patients.get_patient(
                    s, principal, mrn, assigning_authority=authority or None, tenant=tenant or None
                )
        except NotFound:
            flashes.append(("info", "No patient index entry for this MRN."))
        except CarePipeError as exc:
            flashes.append(("error", exc.message))
    return render(
        request,
        "patients/lookup.html",
        {"link": link, "mrn": mrn, "authority": authority, "tenant": tenant, "flashes": flashes},
    )


@router.post("", dependencies=[Depends(verify_csrf)])
async def map_patient(request: Request, principal: Principal = Depends(mapper)) -> Response:
    """Create or change a link (audited); dead letters waiting for it can then be replayed."""
    form = await request.form()
    values = {
        k: str(form.get(k) or "").strip()
        for k in ("mrn", "authority", "tenant", "abha_number", "reason")
    }
    try:
        with app_state(request).db.transaction() as s:
            link = patients.map_patient(
                s,
                principal,
                values["mrn"],
                abha_number=values["abha_number"],
                assigning_authority=values["authority"] or None,
                tenant=values["tenant"] or None,
                source="console",
                reason=values["reason"] or None,
            )
    except CarePipeError as exc:
        return render(
            request,
            "patients/lookup.html",
            {**values, "link": None, "flashes": [("error", exc.message)]},
            status=exc.http_status,
        )
    return render(
        request,
        "patients/lookup.html",
        {**values, "link": link, "flashes": [("ok", "Mapping saved.")]},
    )
