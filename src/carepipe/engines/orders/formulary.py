"""A tenant's formulary: the codes a hospital uses for the medications it stocks.

A formulary file is ``<tenant>.json`` (a list of objects) or ``<tenant>.csv`` (a header
row) with the fields ``name`` (a generic, a combination "a / b", or a brand as written),
``code``, and optionally ``system`` (a URI; default a local system of the tenant) and
``display``. Where the formulary knows a medication, its code goes on the
MedicationRequest instead of RxNorm's; the RxNorm code, when known, is kept beside it.
Brands are looked up first ("Crocin" may be stocked under its own code), then the
generic. Files are read once per process and re-read when they change.
"""

from __future__ import annotations

import csv
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from carepipe.core.errors import FormularyInvalid


@dataclass(frozen=True)
class FormularyEntry:
    """One stocked medication."""

    name: str
    code: str
    system: str | None = None
    display: str | None = None


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", " ", name.strip().lower())


class Formulary:
    """Entries by lower-cased name."""

    def __init__(self, entries: list[FormularyEntry]) -> None:
        self.entries = {_key(e.name): e for e in entries}

    def lookup(self, generic: str, brand: str | None = None) -> FormularyEntry | None:
        """The entry for ``brand`` if stocked as a brand, else for ``generic``."""
        if brand:
            hit = self.entries.get(_key(brand))
            if hit is not None:
                return hit
        return self.entries.get(_key(generic))

    def __len__(self) -> int:
        return len(self.entries)


def parse_formulary(path: Path) -> Formulary:
    """Read one formulary file; a malformed file raises ``ValidationFailed``."""
    try:
        if path.suffix.lower() == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(rows, list):
                raise ValueError("a JSON formulary is a list of objects")
        else:
            with path.open(newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        entries = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("name") or not row.get("code"):
                raise ValueError("every formulary row needs a name and a code")
            entries.append(
                FormularyEntry(
                    name=str(row["name"]),
                    code=str(row["code"]).strip(),
                    system=(str(row["system"]).strip() or None) if row.get("system") else None,
                    display=(str(row["display"]).strip() or None) if row.get("display") else None,
                )
            )
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise FormularyInvalid(
            f"formulary file {path.name} is not valid", details={"error": type(exc).__name__}
        ) from None
    return Formulary(entries)


_lock = threading.Lock()
_cache: dict[Path, tuple[float, Formulary]] = {}
_SAFE_TENANT = re.compile(r"^[A-Za-z0-9_.-]+$")


def tenant_formulary(directory: Path | None, tenant: str) -> Formulary | None:
    """The formulary of ``tenant`` in ``directory`` (``<tenant>.json`` or ``.csv``), if any."""
    if directory is None or not _SAFE_TENANT.match(tenant) or tenant.startswith("."):
        return None
    for suffix in (".json", ".csv"):
        path = directory / f"{tenant}{suffix}"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        with _lock:
            cached = _cache.get(path)
            if cached is not None and cached[0] == mtime:
                return cached[1]
        formulary = parse_formulary(path)
        with _lock:
            _cache[path] = (mtime, formulary)
        return formulary
    return None
