"""The model registry through its front doors: the API with staff personal tokens.

People: ``dana`` (data_scientist: registers), ``eve`` and ``ian`` (ml_engineer: promote,
approve as ml_engineer), ``cleo`` (compliance: approves), ``otto`` (ops: reads only),
``ada`` (admin).
"""

from __future__ import annotations

import base64
import io
import json
import tarfile
from dataclasses import dataclass
from datetime import timedelta

import pytest

from carepipe.core.clock import utcnow
from carepipe.mlops.models import MlEvaluation
from carepipe.mlops.refs import resolve_version
from tests.mlops.conftest import staff_tokens

ROLES = {
    "dana": "data_scientist",
    "eve": "ml_engineer",
    "ian": "ml_engineer",
    "cleo": "compliance",
    "otto": "ops",
    "ada": "admin",
}


@dataclass
class People:
    dana: dict[str, str]
    eve: dict[str, str]
    ian: dict[str, str]
    cleo: dict[str, str]
    otto: dict[str, str]
    ada: dict[str, str]


@pytest.fixture
def people(db) -> People:
    tokens = staff_tokens(db, ROLES)
    return People(**tokens)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def note_config(**config: object) -> str:
    return b64(json.dumps(config).encode())


def ct2_tar(files: dict[str, bytes] | None = None) -> bytes:
    """A tar of a (tiny, not loadable) CTranslate2 Whisper directory's files."""
    files = files or {
        "model.bin": b"\x00" * 64,
        "config.json": json.dumps({"suppress_ids": [1], "lang_ids": []}).encode(),
        "tokenizer.json": b"{}",
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"whisper-x/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def add_evaluation(db, ref: str, metrics: dict, *, minutes_ago: int = 0) -> None:
    """An evaluation row as the evaluation service leaves a finished one (the registry
    only reads it: the evaluation itself is H3's, tested there)."""
    with db.transaction() as s:
        version = resolve_version(s, ref)
        s.add(
            MlEvaluation(
                version_id=version.id,
                eval_set="scribe-clips@1",
                status="done",
                metrics=metrics,
                created_at=utcnow() - timedelta(minutes=minutes_ago),
                created_by="user:dana",
            )
        )
