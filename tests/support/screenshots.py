"""Where browser tests save screenshots.

``CAREPIPE_SCREENSHOTS=docs/screenshots`` (as ``make screenshots`` does) refreshes the
ones the README shows; otherwise they go to a temporary folder, so a test run
never rewrites tracked files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def screenshot_dir() -> Path:
    target = os.environ.get("CAREPIPE_SCREENSHOTS")
    path = Path(target) if target else Path(tempfile.gettempdir()) / "carepipe-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
