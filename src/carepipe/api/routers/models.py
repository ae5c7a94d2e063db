"""``/v1/models``: the model registry (register, search, show, aliases, promote, approve)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/models", tags=["models"])
