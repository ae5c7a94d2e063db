"""What a process needs to run a registered version: its engine settings and, for an
uploaded model, the artifact unpacked on local disk.

A packaged model (Whisper tiny.en, base) is named in ``engine_config`` (``asr_model``)
and found in its PyPI package. An uploaded CTranslate2 Whisper model lives as a tar in
the blob store: the first process that runs it unpacks it once under
``<data_dir>/models/registry-<sha256[:16]>`` (after checking the blob's sha256 against the
registry), and points ``asr_model`` at that directory. Without this, a deployed upload
would silently run the process's default model under the upload's name.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carepipe.core.blobs import BlobStore
from carepipe.core.errors import EngineUnavailable
from carepipe.mlops.models import MlModelVersion

UNPACKED_FORMATS = ("ctranslate2-whisper",)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Runnable:
    """The parts of a version row that running it needs (safe to keep after the session)."""

    format: str
    sha256: str
    blob_key: str | None
    engine_config: dict[str, Any] = field(default_factory=dict)


def runnable(version: MlModelVersion) -> Runnable:
    """The :class:`Runnable` of a version row."""
    return Runnable(
        format=version.format,
        sha256=version.artifact_sha256,
        blob_key=version.artifact_blob_key,
        engine_config=dict(version.engine_config or {}),
    )


def engine_settings(settings: Any, engine_config: dict[str, Any]) -> dict[str, Any]:
    """The part of a version's ``engine_config`` that names process settings (others are
    metadata for people and are ignored here)."""
    fields = getattr(type(settings), "model_fields", {})
    return {k: v for k, v in engine_config.items() if k in fields}


def settings_update(settings: Any, blobs: BlobStore | None, run: Runnable) -> dict[str, Any]:
    """The settings fields to lay over ``settings`` to run the version.

    Raises ``EngineUnavailable`` when an uploaded artifact is needed and cannot be had (no
    blob store given, blob missing, digest mismatch, unsafe archive).
    """
    update = engine_settings(settings, run.engine_config)
    if run.format in UNPACKED_FORMATS and run.blob_key:
        if blobs is None:
            raise EngineUnavailable("this process has no blob store to read the model from")
        cache = Path(getattr(settings, "data_dir", "var") or "var") / "models"
        update["asr_model"] = str(unpack(blobs, run, cache))
    return update


def _model_root(directory: Path) -> Path:
    """The directory holding ``model.bin`` (the tar may wrap it in one top-level folder)."""
    if (directory / "model.bin").is_file():
        return directory
    found = [p.parent for p in directory.rglob("model.bin")]
    if len(found) != 1:
        raise EngineUnavailable("the model archive holds no single model.bin")
    return found[0]


def unpack(blobs: BlobStore, run: Runnable, cache_dir: Path) -> Path:
    """The directory of the unpacked artifact of ``run``; unpacks it on first use."""
    target = Path(cache_dir) / f"registry-{run.sha256[:16]}"
    with _LOCK:
        if target.is_dir():
            return _model_root(target)
        try:
            data = blobs.get(run.blob_key or "")
        except Exception as exc:
            raise EngineUnavailable(f"model artifact unavailable ({type(exc).__name__})") from exc
        if hashlib.sha256(data).hexdigest() != run.sha256:
            raise EngineUnavailable("model artifact does not match its registered sha256")
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                # The "data" filter refuses absolute paths, links out of the tree and
                # device files: an uploaded archive cannot write outside ``work``.
                tar.extractall(work, filter="data")
            os.replace(work, target)
        except (tarfile.TarError, OSError) as exc:
            shutil.rmtree(work, ignore_errors=True)
            raise EngineUnavailable(f"model archive cannot be unpacked ({exc})") from exc
        return _model_root(target)
