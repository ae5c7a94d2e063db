"""``/v1/evaluations`` and ``/v1/model-reports``: evaluation, comparison, reports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["evaluations"])
