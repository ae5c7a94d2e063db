"""Console: the model registry (models, versions, aliases, promotion)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/models", include_in_schema=False)
