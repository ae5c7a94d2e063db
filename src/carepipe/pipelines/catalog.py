"""The pipelines CarePipe ships, listed in code, and the loader for third-party ones.

Importing a pipeline module registers it (``carepipe.pipelines.registry``). The
built-in ones are imported here by name, so a missing or misspelt module fails at
start-up with an ``ImportError``, never silently. Modules named in
``CAREPIPE_PIPELINE_MODULES`` (a partner's own pipelines) are the only ones
imported by string; they fail just as loudly.
"""

from __future__ import annotations

import importlib

from carepipe.pipelines import echo, hl7, ocr, orders, scribe
from carepipe.pipelines.registry import Pipeline, register

BUILTIN: tuple[Pipeline, ...] = (
    echo.PIPELINE,
    scribe.PIPELINE,
    hl7.PIPELINE,
    ocr.PIPELINE,
    orders.PIPELINE,
)


def load_pipelines(extra_modules: str = "") -> None:
    """Register the built-in pipelines and import the extra modules (comma-separated)."""
    for pipeline in BUILTIN:
        register(pipeline)
    for name in filter(None, (m.strip() for m in extra_modules.split(","))):
        importlib.import_module(name)
