"""What the API needs at hand: settings, the database, the blob store."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from carepipe.api.tenant_rate import TenantRateLimiter
from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database


@dataclass
class AppState:
    settings: Settings
    db: Database
    blobs: BlobStore
    tenant_rates: TenantRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.tenant_rates = TenantRateLimiter(self.db)


def get_state(request: Request) -> AppState:
    return request.app.state.carepipe  # type: ignore[no-any-return]
