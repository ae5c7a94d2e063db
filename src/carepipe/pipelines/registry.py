"""Pipelines as data: a pipeline is a named list of stages; a stage is a queue + a handler.

Pipelines register themselves when their module is imported. ``load_pipelines``
imports the built-in ones plus any listed in ``CAREPIPE_PIPELINE_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carepipe.core.errors import UnknownPipeline

if TYPE_CHECKING:
    from carepipe.pipelines.context import StageContext, StageOutput

Handler = Callable[["StageContext"], "StageOutput"]

BUILTIN_MODULES = (
    "carepipe.pipelines.echo",
    "carepipe.pipelines.scribe",
    "carepipe.pipelines.hl7",
    "carepipe.pipelines.ocr",
    "carepipe.pipelines.orders",
)


@dataclass(frozen=True)
class Stage:
    name: str
    handler: Handler
    queue: str = ""
    max_attempts: int | None = None

    @property
    def queue_name(self) -> str:
        return self.queue or self.name


@dataclass(frozen=True)
class Pipeline:
    name: str
    stages: tuple[Stage, ...]
    description: str = ""
    accepts: tuple[str, ...] = field(default=())  # media types; empty = anything

    def first(self) -> Stage:
        return self.stages[0]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def after(self, name: str) -> Stage | None:
        names = [s.name for s in self.stages]
        i = names.index(name)
        return self.stages[i + 1] if i + 1 < len(self.stages) else None


_PIPELINES: dict[str, Pipeline] = {}


def register(pipeline: Pipeline) -> Pipeline:
    _PIPELINES[pipeline.name] = pipeline
    return pipeline


def get_pipeline(name: str) -> Pipeline:
    try:
        return _PIPELINES[name]
    except KeyError:
        raise UnknownPipeline(
            f"unknown pipeline {name!r}", details={"known": sorted(_PIPELINES)}
        ) from None


def all_pipelines() -> list[Pipeline]:
    return [_PIPELINES[k] for k in sorted(_PIPELINES)]


def all_queues() -> list[str]:
    return sorted({s.queue_name for p in _PIPELINES.values() for s in p.stages})


def load_pipelines(extra_modules: str = "") -> None:
    """Import built-in pipeline modules (those present) and extra ones by dotted name."""
    for mod in BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if not (exc.name and mod.startswith(exc.name)):
                raise
    for mod in filter(None, (m.strip() for m in extra_modules.split(","))):
        importlib.import_module(mod)
