"""``/v1/patients``: the patient index (MRN -> ABHA), scoped to the caller's tenant."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from carepipe.api.auth import api_key_principal
from carepipe.api.openapi import error_responses
from carepipe.api.params import PRINTABLE, PROSE, Text
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.json_schema import IDENTIFIER_PATTERN
from carepipe.interop.identity.abha import ABHA_PATTERN
from carepipe.ops import patients as service

router = APIRouter(prefix="/v1/patients", tags=["patients"])


class PatientMapping(BaseModel):
    abha_number: str = Field(
        pattern=ABHA_PATTERN,
        description="14 digits, with or without dashes or spaces (XX-XXXX-XXXX-XXXX).",
    )
    assigning_authority: str | None = Field(None, max_length=128, pattern=PRINTABLE)
    fhir_patient_id: str | None = Field(None, pattern=r"^[A-Za-z0-9\-.]{1,64}$")
    reason: str | None = Field(
        None, max_length=500, pattern=PROSE, description="Ticket or justification."
    )


MRN = Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN, description="The MRN.")


@router.get(
    "/{mrn}",
    operation_id="getPatient",
    response_model=service.PatientLinkView,
    responses=error_responses(404),
)
def get_patient(
    mrn: str = MRN,
    assigning_authority: Text | None = None,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> service.PatientLinkView:
    """The ABHA number and FHIR id linked to an MRN."""
    with state.db.session() as s:
        return service.get_patient(s, principal, mrn, assigning_authority=assigning_authority)


@router.put(
    "/{mrn}",
    operation_id="mapPatient",
    response_model=service.PatientMapped,
    responses=error_responses(422),
)
def put_patient(
    body: PatientMapping,
    mrn: str = MRN,
    principal: Principal = Depends(api_key_principal),
    state: AppState = Depends(get_state),
) -> service.PatientMapped:
    """Create or change the link (audited); then replay jobs that died of patient_not_found."""
    with state.db.transaction() as s:
        return service.map_patient(
            s,
            principal,
            mrn,
            abha_number=body.abha_number,
            assigning_authority=body.assigning_authority,
            fhir_patient_id=body.fhir_patient_id,
            reason=body.reason,
        )
