"""The one rule for which tenant a service call is about.

A principal bound to a tenant (a partner's API key) acts in and sees only its
own tenant; staff (no tenant) act in the tenant they name and see every tenant
unless they name one. Services call these two functions; the API, console and
CLI never fill in a tenant themselves.
"""

from __future__ import annotations

from typing import Any

from carepipe.core.auth import Principal
from carepipe.core.errors import InvalidRequest, PermissionDenied


def resolve_tenant(principal: Principal, requested: str | None = None) -> str:
    """The one tenant a call acts in (or looks a single record up in).

    A tenant-bound principal's own tenant (naming another one is refused); for
    staff, the tenant they name (``InvalidRequest`` when they name none).
    """
    if principal.tenant is not None:
        if requested and requested != principal.tenant:
            raise PermissionDenied(
                "this principal acts only for its own tenant", details={"tenant": requested}
            )
        return principal.tenant
    if not requested:
        raise InvalidRequest("tenant is required")
    return requested


def tenant_conditions(principal: Principal, requested: str | None, column: Any) -> list[Any]:
    """SQL conditions for a list: the tenant asked for, within what the principal may see.

    A tenant-bound principal asking for another tenant gets both conditions, which
    no row meets: an empty list, saying nothing about the other tenant.
    """
    conds: list[Any] = []
    if principal.tenant is not None:
        conds.append(column == principal.tenant)
    if requested and requested != principal.tenant:
        conds.append(column == requested)
    return conds
