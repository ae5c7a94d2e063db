"""Console: deployments, the live canary view and rollbacks."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/deployments", include_in_schema=False)
