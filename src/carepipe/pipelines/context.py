"""What a stage handler gets (``StageContext``) and gives back (``StageOutput``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.models import Artifact, Message
from carepipe.core.queue import ClaimedTask

END = "__end__"


@dataclass
class ArtifactOut:
    """A stage output to record. ``content`` goes to the blob store, ``data`` into the row."""

    kind: str
    data: dict[str, Any] | None = None
    content: bytes | None = None
    content_type: str = "application/json"
    engine: str | None = None
    model_version: str | None = None
    confidence: float | None = None


def phi_artifact(
    kind: str,
    value: Any,
    *,
    summary: dict[str, Any] | None = None,
    engine: str | None = None,
    model_version: str | None = None,
    confidence: float | None = None,
) -> ArtifactOut:
    """An artifact whose JSON carries PHI: stored encrypted in the blob store, not in the row.

    ``summary`` (counts, confidences, codes: nothing identifying) stays queryable in the row.
    """
    return ArtifactOut(
        kind=kind,
        data=summary,
        content=json.dumps(value, separators=(",", ":"), default=str).encode(),
        content_type="application/json",
        engine=engine,
        model_version=model_version,
        confidence=confidence,
    )


@dataclass
class StageOutput:
    artifacts: list[ArtifactOut] = field(default_factory=list)
    # Merged into the job's result (shown by GET /v1/jobs/{id}).
    result: dict[str, Any] | None = None
    # None: the pipeline's next stage. A stage name: jump there. END: the job is done.
    next_stage: str | None = None
    # Stop here until a person acts (clinician review); the job waits.
    wait: bool = False
    # Database writes committed in the same transaction as the handoff.
    effects: list[Callable[[Session], None]] = field(default_factory=list)


@dataclass(frozen=True)
class StoredArtifact:
    id: str
    stage: str
    kind: str
    data: dict[str, Any] | None
    blob_key: str | None
    content_type: str
    engine: str | None
    model_version: str | None


class StageContext:
    """Read access to the job's raw message and earlier artifacts, plus engines' settings."""

    def __init__(
        self, *, db: Database, blobs: BlobStore, settings: Settings, task: ClaimedTask
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.task = task

    @property
    def job_id(self) -> str:
        return self.task.job_id

    @property
    def tenant(self) -> str:
        return self.task.tenant

    @property
    def replay(self) -> bool:
        return self.task.replay or self.task.job_replay

    @cached_property
    def message(self) -> Message:
        with self.db.session() as s:
            msg = s.get(Message, self.task.message_id)
            assert msg is not None, "job without archived message"
            s.expunge(msg)
            return msg

    def raw(self) -> bytes:
        """The archived raw message bytes (decrypted)."""
        return self.blobs.get(self.message.blob_key)

    def artifact(self, kind: str) -> StoredArtifact | None:
        """The newest artifact of ``kind`` recorded for this job by an earlier stage."""
        with self.db.session() as s:
            a = s.execute(
                select(Artifact)
                .where(Artifact.job_id == self.task.job_id, Artifact.kind == kind)
                .order_by(Artifact.created_at.desc(), Artifact.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if a is None:
                return None
            return StoredArtifact(
                a.id, a.stage, a.kind, a.data, a.blob_key, a.content_type, a.engine, a.model_version
            )

    def load_json(self, kind: str) -> Any:
        """The JSON of the newest ``kind`` artifact: its (encrypted) content, else its data."""
        art = self.artifact(kind)
        if art is None:
            return None
        if art.blob_key:
            return json.loads(self.blobs.get(art.blob_key))
        return art.data

    def artifact_bytes(self, artifact: StoredArtifact) -> bytes:
        assert artifact.blob_key is not None
        return self.blobs.get(artifact.blob_key)

    def read(self, fn: Callable[[Session], Any]) -> Any:
        """Run a read-only query (e.g. the patient index) in a short session."""
        with self.db.session() as s:
            return fn(s)
