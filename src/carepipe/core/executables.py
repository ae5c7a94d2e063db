"""Finding the tools CarePipe runs as processes (``carepipe``, ``litestream``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_executable(name: str) -> str | None:
    """``name`` beside this interpreter (what pip installed in this environment, which
    wins over another version elsewhere), else on PATH; None when neither has it."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    return shutil.which(name)
