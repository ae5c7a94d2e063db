"""The ``echo`` pipeline: one stage that stores its input. Used by tests and benchmarks."""

from __future__ import annotations

from typing import Any

from carepipe.core.errors import MalformedJson, ValidationFailed
from carepipe.core.storable_json import loads_storable
from carepipe.pipelines.context import ArtifactOut, StageContext, StageOutput
from carepipe.pipelines.registry import Pipeline, Stage, register


def echo(ctx: StageContext) -> StageOutput:
    raw = ctx.raw()
    data: dict[str, Any] = {"size": len(raw), "content_type": ctx.message.kind}
    if ctx.message.kind.startswith("application/json"):
        try:
            data["json"] = loads_storable(raw)
        except MalformedJson:
            raise ValidationFailed("payload is not valid JSON") from None
    return StageOutput(
        artifacts=[ArtifactOut(kind="echo", data=data, engine="echo", model_version="echo/1")],
        result={"echoed_bytes": len(raw)},
    )


PIPELINE = register(
    Pipeline(name="echo", stages=(Stage("echo", echo),), description="Stores its input (tests).")
)
