"""Process-wide redaction of secrets from every log line (issue 16, docs/secrets.md).

Two kinds of things are removed from log output:

* every secret value this process has loaded: the secrets store
  (``carepipe.core.secrets``) calls :func:`register` with each value it decrypts, before
  handing it to anyone;
* secret-shaped strings whose value no one registered: partner API keys (``cp_...`` and
  ``cpk_...``), console users' tokens (``cpu_...``) and ``Bearer`` credentials.

``carepipe.observability.logging`` applies :func:`redact_text` to structlog events (a
processor) and to stdlib ``logging`` records (a record factory, so every handler,
uvicorn's included, gets the redacted text). This module imports nothing of CarePipe:
it sits in the leaf layer so that anyone may log, and anyone may register.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"
# Shorter values would blank out ordinary words in log lines; the store refuses them.
MIN_REDACTED_LENGTH = 8

# Partner keys: ``cp_<env>_<key id>_<secret>`` and the checksummed ``cpk_...`` format;
# users' personal tokens ``cpu_<id>_<secret>``; and anything sent as a bearer credential.
SECRET_SHAPES = re.compile(
    r"\bcp(?:k|u)?_[A-Za-z0-9]+_[A-Za-z0-9_\-]{16,}"
    r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/\-]{8,}=*"
)

_lock = threading.Lock()
_values: frozenset[str] = frozenset()
_pattern: re.Pattern[str] | None = None


def register(value: str) -> None:
    """Remember ``value`` so that no later log line of this process shows it."""
    global _values, _pattern
    if len(value) < MIN_REDACTED_LENGTH or value in _values:
        return
    with _lock:
        values = _values | {value}
        # Longest first, so a value that contains another is removed whole.
        ordered = sorted(values, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(v) for v in ordered))
        _values = values


def registered_count() -> int:
    """How many secret values are being redacted (the docs' figures, tests)."""
    return len(_values)


def redact_text(text: str) -> str:
    """``text`` with every registered value and every secret-shaped string replaced."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return SECRET_SHAPES.sub(REDACTED, text)


def redact_value(value: Any) -> Any:
    """A log field's value with secrets redacted: strings, containers, and the text of
    other objects when it shows a secret (an exception, a settings object)."""
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    text = repr(value)
    cleaned = redact_text(text)
    return value if cleaned == text else cleaned


def structlog_processor(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: redact every field (place it after ``format_exc_info``)."""
    for key, value in event.items():
        event[key] = redact_value(value)
    return event


_installed = False


def install_stdlib_redaction() -> None:
    """Make every stdlib ``LogRecord`` carry redacted text (message, args and traceback).

    A record factory rather than a handler filter: filters on the root logger do not
    see records of child loggers, and handlers added later (pytest's, uvicorn's) would
    miss a filter installed on today's handlers.
    """
    global _installed
    if _installed:
        return
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it itself later
            return record
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
