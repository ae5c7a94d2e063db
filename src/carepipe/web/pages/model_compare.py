"""Console: evaluations and the comparison of two model versions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/console/model-compare", include_in_schema=False)
