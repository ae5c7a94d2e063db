"""Imports every module that defines ORM tables, so ``metadata`` is complete (migrations, tests)."""

from __future__ import annotations

import importlib

from carepipe.core.models import Base

TABLE_MODULES = (
    "carepipe.core.models",
    "carepipe.interop.identity.models",
    "carepipe.ops.user_models",
    "carepipe.ops.backfill_models",
    "carepipe.review.models",
)

for _mod in TABLE_MODULES:
    try:
        importlib.import_module(_mod)
    except ModuleNotFoundError as exc:
        if not (exc.name and _mod.startswith(exc.name)):
            raise

metadata = Base.metadata
