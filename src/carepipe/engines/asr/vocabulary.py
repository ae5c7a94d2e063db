"""Per-tenant ASR vocabulary: the words a clinic wants Whisper to favour.

``<asr_vocabulary_dir>/<tenant>.txt`` holds one term per line (drug brands the clinic
prescribes, local place names, clinicians' names); ``#`` starts a comment. The terms go
first into the hotwords of every recording of that tenant (before the built-in and
contextual candidates, so the length limit never drops them). Files are re-read when they
change; a missing directory or file means no tenant words.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

_TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
#: A tenant list longer than this is cut (hotwords hold ~220 tokens in all).
MAX_TERMS = 60


@lru_cache(maxsize=256)
def _read(path: str, mtime_ns: int) -> tuple[str, ...]:
    terms: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        term = line.split("#", 1)[0].strip()
        if term and term.lower() not in (t.lower() for t in terms):
            terms.append(term)
    return tuple(terms[:MAX_TERMS])


def tenant_vocabulary(settings: Any, tenant: str) -> tuple[str, ...]:
    """The tenant's terms from ``settings.asr_vocabulary_dir`` (empty when none)."""
    root = getattr(settings, "asr_vocabulary_dir", None)
    if not root or not _TENANT_RE.match(tenant or ""):
        return ()
    path = Path(root) / f"{tenant}.txt"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return ()
    return _read(str(path), mtime)
