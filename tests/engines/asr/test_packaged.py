"""Whisper models published in parts on PyPI: assembled, verified by sha256, cached."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from carepipe.core.errors import AsrModelNotFound
from carepipe.engines.asr import packaged
from carepipe.engines.asr.faster_whisper_engine import resolve_model
from carepipe.engines.asr.packaged import PACKAGED, PackagedModel, assemble, packages_installed


def _fake_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: list[bytes]) -> None:
    roots = {}
    for i, body in enumerate(parts, start=1):
        data = tmp_path / f"pkg{i}" / "data"
        data.mkdir(parents=True)
        (data / f"model.bin.part{i}").write_bytes(body)
        if i == len(parts):
            (data / "config.json").write_text("{}")
            (data / "tokenizer.json").write_text("{}")
        roots[f"fake_pkg_{i}"] = data
    monkeypatch.setattr(packaged, "package_data_dir", lambda name: roots.get(name))


def _model(parts: list[bytes], digest: str | None = None) -> PackagedModel:
    whole = b"".join(parts)
    return PackagedModel(
        name="fake",
        parts=tuple((f"fake_pkg_{i}", f"model.bin.part{i}") for i in range(1, len(parts) + 1)),
        sha256=digest or hashlib.sha256(whole).hexdigest(),
        size=len(whole),
        licence="MIT",
        source="fake-1, fake-2",
    )


def test_parts_are_joined_in_order_verified_and_reused(tmp_path, monkeypatch):
    parts = [b"A" * 1000, b"B" * 10]
    _fake_packages(tmp_path, monkeypatch, parts)
    model = _model(parts)
    target = assemble(model, tmp_path / "cache")
    assert (target / "model.bin").read_bytes() == b"".join(parts)
    assert (target / "config.json").is_file() and (target / "tokenizer.json").is_file()
    assert not list(target.glob("*.partial"))
    # Second call: the assembled file is reused, the parts are not read again.
    monkeypatch.setattr(packaged, "_part_paths", lambda m: pytest.fail("re-assembled"))
    assert assemble(model, tmp_path / "cache") == target


def test_a_wrong_digest_is_refused_and_nothing_is_left(tmp_path, monkeypatch):
    parts = [b"A" * 1000, b"B" * 10]
    _fake_packages(tmp_path, monkeypatch, parts)
    with pytest.raises(AsrModelNotFound, match="sha256"):
        assemble(_model(parts, digest="0" * 64), tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("model.bin*"))


def test_a_missing_package_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(packaged, "package_data_dir", lambda name: None)
    with pytest.raises(AsrModelNotFound, match="not installed: fake-pkg-1"):
        assemble(_model([b"x", b"y"]), tmp_path / "cache")


@pytest.mark.skipif(
    not packages_installed(PACKAGED["base"]), reason="Whisper base packages not installed"
)
def test_the_real_base_model_assembles_to_its_recorded_digest(tmp_path):
    resolved = resolve_model("base", cache_dir=tmp_path)
    assert resolved.source == "packaged"
    body = (resolved.path / "model.bin").read_bytes()
    assert hashlib.sha256(body).hexdigest() == PACKAGED["base"].sha256
    # An empty CAREPIPE_ASR_MODEL picks it too when its packages are installed.
    assert resolve_model("", cache_dir=tmp_path).path == resolved.path
