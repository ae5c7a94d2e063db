"""Pipelines used only by tests: multi-stage, failing on demand, crashing on demand."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from carepipe.core.errors import EmrUnavailable, ValidationFailed
from carepipe.pipelines.context import ArtifactOut, StageContext, StageOutput
from carepipe.pipelines.registry import Pipeline, Stage, register


def _instructions(ctx: StageContext) -> dict:
    return json.loads(ctx.raw())


def first(ctx: StageContext) -> StageOutput:
    doc = _instructions(ctx)
    marker = doc.get("crash_marker")
    if marker and not Path(marker).exists():
        # Simulates a process dying mid-stage, after work was done but before the handoff.
        Path(marker).write_text(str(os.getpid()))
        os._exit(17)
    if doc.get("sleep"):
        time.sleep(float(doc["sleep"]))
    if doc.get("fail") == "permanent":
        raise ValidationFailed("told to fail permanently")
    if doc.get("fail") == "transient":
        raise EmrUnavailable("told to fail transiently")
    counter = doc.get("count_file")
    if counter:
        with open(counter, "a") as f:
            f.write(f"first {ctx.task.id}\n")
    return StageOutput(artifacts=[ArtifactOut(kind="first", data={"seen": True})])


def second(ctx: StageContext) -> StageOutput:
    doc = _instructions(ctx)
    counter = doc.get("count_file")
    if counter:
        with open(counter, "a") as f:
            f.write(f"second {ctx.task.id}\n")
    return StageOutput(
        artifacts=[ArtifactOut(kind="second", data={"done": True})], result={"stages": 2}
    )


register(
    Pipeline(
        "two_step",
        (Stage("t_first", first), Stage("t_second", second)),
        description="test pipeline: two stages",
    )
)
