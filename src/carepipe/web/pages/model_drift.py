"""Console: drift of the deployed model versions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/model-drift", include_in_schema=False)
