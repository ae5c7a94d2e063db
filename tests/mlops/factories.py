"""Model versions for the mlops tests, registered through the registry service (format and
engine settings checked as for any user), then moved to the stage a test needs by an
admin's forced promotion (gates are the promotion tests' business, not these)."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import SYSTEM
from carepipe.core.blobs import BlobStore, LocalBlobStore
from carepipe.core.crypto import Cipher
from carepipe.mlops import promotion, registry
from carepipe.mlops.models import MlModel, MlModelVersion

#: Whisper tiny.en, greedy, one thread, no second pass: a few seconds a short clip.
TINY = {
    "asr_model": "tiny.en",
    "asr_beam_size": 1,
    "asr_cpu_threads": 1,
    "asr_contextual_pass": False,
}
RULES = {"note_engine": "rules"}
#: An uploaded CTranslate2 model whose files are all there but whose weights are not
#: weights: it registers (the format check reads files and config) and cannot load.
BROKEN = "broken-upload"
_PATHS = {"development": [], "staging": ["staging"], "production": ["staging", "production"]}


def broken_ctranslate2_tar() -> bytes:
    """A tar of a CTranslate2 Whisper directory with a garbage ``model.bin``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        files = {
            "model.bin": b"not a CTranslate2 model" * 64,
            "config.json": json.dumps({"alignment_heads": [], "lang_ids": []}).encode(),
            "tokenizer.json": b"{}",
        }
        for name, data in files.items():
            info = tarfile.TarInfo(f"whisper-broken/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _scratch_blobs() -> BlobStore:
    """Where a note config goes when the test has no blob store of its own (nothing reads
    a rules/openai note config back at serving time)."""
    root = Path(tempfile.mkdtemp(prefix="mlops-factory-"))
    return LocalBlobStore(root, Cipher(b"\0" * 32))


def register(
    session: Session,
    name: str,
    kind: str,
    engine_config: dict[str, Any] | str,
    *,
    stage: str = "development",
    blobs: BlobStore | None = None,
) -> MlModelVersion:
    """Register a version of ``name`` (the model is created if missing) and move it to
    ``stage``. ``engine_config``: the Settings fields it runs with, or :data:`BROKEN`."""
    if session.execute(select(MlModel.id).where(MlModel.name == name)).first() is None:
        registry.register_model(session, SYSTEM, name=name, kind=kind)
    if engine_config == BROKEN:
        if blobs is None:
            raise ValueError("an uploaded model needs the test's blob store")
        view = registry.register_version(
            session, blobs, SYSTEM, name, format="ctranslate2-whisper",
            artifact=broken_ctranslate2_tar(),
        )  # fmt: skip
    elif kind == "asr":
        config = dict(engine_config)
        packaged = str(config.pop("asr_model", "") or "base")
        view = registry.register_version(
            session, blobs or _scratch_blobs(), SYSTEM, name, format="packaged-whisper",
            packaged=packaged, engine_config=config,
        )  # fmt: skip
    else:
        config = dict(engine_config)
        fmt = (
            "rules-note-config"
            if config.get("note_engine") == "rules"
            else "openai-chat-note-config"
        )
        view = registry.register_version(
            session, blobs or _scratch_blobs(), SYSTEM, name, format=fmt,
            artifact=json.dumps(config).encode(),
        )  # fmt: skip
    for step in _PATHS[stage]:
        row = session.get(MlModelVersion, view.id)
        assert row is not None
        promotion.promote(
            session, SYSTEM, name, str(row.version), to_stage=step,
            expected_revision=row.revision, force=True, reason="test fixture",
        )  # fmt: skip
    row = session.get(MlModelVersion, view.id)
    assert row is not None
    return row


def make_version(
    session: Session,
    name: str,
    kind: str,
    engine_config: dict[str, Any] | str,
    *,
    stage: str = "development",
    blobs: BlobStore | None = None,
) -> MlModelVersion:
    """:func:`register`, returning the row (evaluation tests use its id)."""
    return register(session, name, kind, engine_config, stage=stage, blobs=blobs)


def make_ref(
    session: Session,
    name: str,
    kind: str,
    engine_config: dict[str, Any] | str,
    *,
    stage: str = "staging",
    blobs: BlobStore | None = None,
) -> str:
    """:func:`register`, returning ``name@N`` (what the serving doors take)."""
    row = register(session, name, kind, engine_config, stage=stage, blobs=blobs)
    return f"{name}@{row.version}"
