"""Pipelines as data: a pipeline is a named list of stages; a stage is a queue + a handler.

Pipelines register themselves when their module is imported;
``carepipe.pipelines.catalog`` lists the built-in ones and loads third-party modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from carepipe.core.errors import UnknownPipeline

if TYPE_CHECKING:
    from carepipe.pipelines.context import StageContext, StageOutput

Handler = Callable[["StageContext"], "StageOutput"]


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

    def accepts_media(self, content_type: str) -> bool:
        """Whether the pipeline takes input of ``content_type`` (ingestion and backfills).

        Parameters (``; charset=...``) and case are ignored; ``image/*`` in
        ``accepts`` takes every image type; an empty ``accepts`` takes anything.
        """
        if not self.accepts:
            return True
        base = content_type.split(";", 1)[0].strip().lower()
        return any(
            p == base or (p.endswith("/*") and base.startswith(p[:-1])) for p in self.accepts
        )

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
