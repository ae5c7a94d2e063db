"""structlog JSON logs carrying request and job ids; never payload content."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from carepipe.observability.context import job_id_var, request_id_var
from carepipe.observability.redaction import install_stdlib_redaction, structlog_processor

# Keys whose values must never reach a log line, whatever a caller passes.
_REDACT = {"payload", "body", "content", "secret", "password", "api_key", "authorization", "token"}


def _add_context(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    rid = request_id_var.get()
    jid = job_id_var.get()
    if rid and "request_id" not in event:
        event["request_id"] = rid
    if jid and "job_id" not in event:
        event["job_id"] = jid
    return event


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _REDACT:
            event[key] = "[redacted]"
    return event


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is now (test runners swap and close streams)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def stderr_logger_factory(*_args: Any) -> _StderrLogger:
    """A structlog logger factory writing to the stderr of the moment."""
    return _StderrLogger()


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    """Configure structlog (and stdlib logging through it) once per process."""
    lvl = getattr(logging, level.upper(), logging.INFO)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _add_context,
            _redact,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            # Secrets (loaded values, key-shaped strings) leave no log line (issue 16).
            structlog_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=stderr_logger_factory,
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=lvl, stream=sys.stderr, format="%(message)s")
    install_stdlib_redaction()
    # Access logs print raw paths (query strings may carry identifiers); our middleware logs routes.
    logging.getLogger("uvicorn.access").disabled = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
