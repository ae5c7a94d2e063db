"""What the dead-letter services return (``carepipe.ops.dlq``): the typed views the API,
console and CLI render."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from carepipe.ops.views import View


class DeadLetterRow(View):
    """One dead task in a list."""

    task_id: int
    job_id: str
    tenant: str
    pipeline: str
    queue: str
    stage: str
    attempts: int
    replayed: bool = Field(description="The task was replayed before (and died again).")
    error_code: str | None
    error_message: str | None
    died_at: datetime
    message_id: str
    url: str


class DeadLetterPage(View):
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[DeadLetterRow]
    next_cursor: str | None


class DeadLetterFacets(View):
    """Distinct values among dead tasks, for the filter drop-downs."""

    pipeline: list[str]
    queue: list[str]
    tenant: list[str]


class AttemptView(View):
    """One attempt of the task (replays included)."""

    attempt: int
    worker_id: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str = Field(description="done, retry, dead, expired or released")
    error_code: str | None
    error_message: str | None
    replay: bool


class DeadLetterJob(View):
    """The job the dead task belongs to."""

    id: str
    tenant: str
    pipeline: str
    status: str
    replay: bool
    idempotency_key_set: bool
    created_at: datetime


class ArchivedMessageRef(View):
    """The archived message the job started from (metadata only, no file name)."""

    id: str
    source: str
    content_type: str
    size_bytes: int
    sha256: str
    received_at: datetime


class StageView(View):
    """Another task of the same job."""

    task_id: int
    stage: str
    status: str
    attempts: int


class DeadLetterDetail(View):
    """A dead letter: the error, every attempt, the job's stages and what the caller may do."""

    task_id: int
    status: str
    queue: str
    stage: str
    attempts: int = Field(
        description="Attempts of the current run (a replay starts again from 0, with "
        "max_attempts more); attempts_in_all counts every run, as history does."
    )
    max_attempts: int
    attempts_in_all: int
    replayed: bool
    replay_requested_at: datetime | None
    error_code: str | None
    error_message: str | None
    died_at: datetime | None = Field(description="When it died (null once it is not dead).")
    created_at: datetime
    job: DeadLetterJob
    message: ArchivedMessageRef | None
    history: list[AttemptView]
    stages: list[StageView]
    can_replay: bool
    can_reveal: bool
    can_map_patient: bool


class MrnHint(View):
    """The MRN of an HL7 dead letter (PID-3), to prefill the mapping form."""

    mrn: str
    assigning_authority: str


class MappingHint(MrnHint):
    mapped: bool = Field(description="The patient index maps this MRN by now.")


class ReplayedTask(View):
    """A dead task put back on its queue."""

    task_id: int
    status: str
    queue: str
    replay: bool


class DeadLetterMapped(View):
    """A ``patient_not_found`` dead letter fixed: the link made, and the task replayed."""

    link_id: str
    created: bool = Field(description="A new link (false: an existing one was changed).")
    abha_masked: str
    replayed: bool
    task_status: str
