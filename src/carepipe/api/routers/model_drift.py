"""``/v1/drift``: drift checks and events of deployed model versions."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/drift", tags=["drift"])
