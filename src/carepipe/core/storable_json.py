"""JSON that every database we run on can store, and that is safe to walk.

PostgreSQL's JSONB (and its text columns) cannot hold U+0000, and a lone UTF-16
surrogate is not Unicode at all; SQLite stores both. Deep nesting makes
recursive code (``json``, pydantic, our own walkers) raise ``RecursionError``.
Checking once at the door gives the same answer on both databases and a clear
error instead of a stage that fails on one of them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from carepipe.core.errors import MalformedJson, ValidationFailed

MAX_DEPTH = 64
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable(doc: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """``ValidationFailed`` if ``doc`` nests deeper than ``max_depth`` or holds unstorable text."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(doc, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, dict | list):
            if len(loc) >= max_depth:
                raise ValidationFailed(
                    f"JSON is nested deeper than {max_depth} levels",
                    details=[{"loc": list(loc[:8]), "msg": "too deep"}],
                )
            if isinstance(item, dict):
                for key, value in item.items():
                    _check_text(key, loc)
                    stack.append((value, (*loc, _safe_key(key))))
            else:
                stack.extend((value, (*loc, str(i))) for i, value in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, loc)


def _safe_key(key: str) -> str:
    return key if not _UNSTORABLE.search(key) else "?"


def _check_text(text: str, loc: tuple[str, ...]) -> None:
    if _UNSTORABLE.search(text):
        raise ValidationFailed(
            "JSON text may not contain U+0000 or unpaired surrogates (\\ud800-\\udfff)",
            details=[{"loc": list(loc), "msg": "unstorable character"}],
        )


def loads_storable(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse and check: ``MalformedJson`` if it is not JSON, ``ValidationFailed`` if unstorable."""
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise ValidationFailed(f"JSON is nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise MalformedJson("request body is not valid JSON") from None
    check_storable(doc, max_depth=max_depth)
    return doc
