"""The house rules that a reader should not have to check by eye (docs/architecture.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "carepipe"
MAX_LINES = 600
# The one place a module is imported by its name as a string: third-party pipelines.
PLUGIN_LOADER = SRC / "pipelines" / "catalog.py"


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations/versions" not in p.as_posix())


def test_import_contracts_hold():
    """Layers point down and nothing imports in a circle (import-linter, pyproject.toml)."""
    exe = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def test_first_party_modules_are_imported_by_name_only_in_the_plugin_loader():
    by_string = re.compile(r"\bimport_module\(|\b__import__\(|find_spec\(\s*[\"']carepipe")
    offenders = [
        str(p.relative_to(ROOT))
        for p in _modules()
        if p != PLUGIN_LOADER and by_string.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_module_over_the_size_limit_without_a_reason():
    """A module over 600 lines says why at its top (``# size: <reason>``)."""
    offenders = []
    for path in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        head = "\n".join(lines[:3])
        if len(lines) > MAX_LINES and "# size:" not in head:
            offenders.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert offenders == []
