"""``/v1/deployments``: which model version serves, canary rollouts and rollbacks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/deployments", tags=["deployments"])
