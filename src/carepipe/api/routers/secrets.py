"""``/v1/secrets``: the encrypted store of outbound credentials (``secrets.manage``, admin).

Values go in (``PUT``, write-only) and never come out: lists are masked, and there is no
route that returns a value (docs/secrets.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from carepipe.api.openapi import error_responses
from carepipe.api.params import PROSE
from carepipe.api.staff_auth import staff_principal
from carepipe.api.state import AppState, get_state
from carepipe.core.auth import Principal
from carepipe.core.secrets import kek_from_settings, keyring_from_settings
from carepipe.ops import secrets as service
from carepipe.ops.views import View

router = APIRouter(prefix="/v1/secrets", tags=["secrets"])
NAME = Path(
    min_length=1,
    max_length=128,
    pattern=r"^[a-z0-9][a-z0-9._-]{0,127}$",
    description="Secret name: lower-case letters, digits and . _ - (e.g. emr.token).",
)


class SecretPut(BaseModel):
    """A new version's value (write-only: no response ever contains it)."""

    model_config = ConfigDict(extra="forbid")

    # The service checks the same rules (for the CLI); a 422 here names the field and the
    # rule, never the input (``carepipe.api.errors`` drops it).
    value: str = Field(
        min_length=8,
        max_length=8192,
        pattern=r"^\S(?:[\s\S]*\S)?$",
        description="8-8192 characters, no leading or trailing white space.",
    )
    reason: str | None = Field(
        None, max_length=500, pattern=PROSE, description="Ticket or justification (audited)."
    )


class SecretRollback(BaseModel):
    """Which earlier version's value becomes current again."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1, description="The version to restore.")
    reason: str | None = Field(
        None, max_length=500, pattern=PROSE, description="Ticket or justification (audited)."
    )


class SecretDeleted(View):
    """How many versions a delete removed."""

    name: str
    deleted: int


@router.get("", response_model=list[service.SecretView])
def list_secrets(
    principal: Principal = Depends(staff_principal), state: AppState = Depends(get_state)
) -> list[service.SecretView]:
    """Every secret's version in use, masked (``••••`` and the last 4 if 12 or longer)."""
    with state.db.session() as s:
        return service.list_secrets(s, principal)


@router.put("/{name}", response_model=service.SecretView, responses=error_responses(400, 409))
def put_secret(
    body: SecretPut,
    name: str = NAME,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.SecretView:
    """Store a new version of the secret (the first is 1); earlier versions are kept."""
    kek = kek_from_settings(state.settings)
    with state.db.transaction() as s:
        return service.put_secret(s, principal, kek, name, body.value, reason=body.reason)


@router.post(
    "/{name}/rollback", response_model=service.SecretView, responses=error_responses(404, 409)
)
def rollback_secret(
    body: SecretRollback,
    name: str = NAME,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> service.SecretView:
    """Store an earlier version's value again as the newest version (the value stays inside)."""
    keys = keyring_from_settings(state.settings)
    with state.db.transaction() as s:
        return service.rollback_secret(s, principal, keys, name, body.version, reason=body.reason)


@router.delete("/{name}", response_model=SecretDeleted, responses=error_responses(404))
def delete_secret(
    name: str = NAME,
    principal: Principal = Depends(staff_principal),
    state: AppState = Depends(get_state),
) -> SecretDeleted:
    """Delete the secret with every kept version (audited)."""
    with state.db.transaction() as s:
        return SecretDeleted(name=name, deleted=service.delete_secret(s, principal, name))
