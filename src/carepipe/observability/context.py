"""Request and job ids carried through a call, for logs and the audit log."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("carepipe_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("carepipe_job_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def current_job_id() -> str | None:
    return job_id_var.get()
