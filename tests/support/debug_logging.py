"""CarePipe's real logging set-up at DEBUG for one test, then the previous one back."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import structlog

from carepipe.observability.logging import configure_logging


@contextlib.contextmanager
def debug_logging() -> Iterator[None]:
    """``configure_logging("DEBUG")`` (JSON lines on stderr, the redaction hooks); the
    structlog configuration and the root logger's level are restored afterwards, so later
    tests in the process do not log at DEBUG. (Loggers first used inside keep their
    binding: structlog caches it, as it does for any ``configure_logging`` call.)"""
    saved = structlog.get_config()
    root = logging.getLogger()
    level = root.level
    configure_logging("DEBUG", json_output=True)
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.setLevel(level)
