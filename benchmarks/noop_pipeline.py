"""A benchmark-only pipeline: one stage whose handler does nothing.

Loaded by the queue benchmark's worker processes with
``CAREPIPE_PIPELINE_MODULES=benchmarks.noop_pipeline`` (PYTHONPATH = repo root),
so what is measured is the queue itself: claim, handler call, handoff commit.
"""

from __future__ import annotations

from carepipe.pipelines.context import StageContext, StageOutput
from carepipe.pipelines.registry import Pipeline, Stage, register

PIPELINE_NAME = "bench_noop"
QUEUE = "bench_noop"


def noop(_ctx: StageContext) -> StageOutput:
    """Do nothing: no artifact, no result; the job simply succeeds."""
    return StageOutput()


PIPELINE = register(
    Pipeline(
        name=PIPELINE_NAME,
        stages=(Stage("bench_noop", noop, queue=QUEUE),),
        description="No-op stage for the queue benchmark.",
    )
)
