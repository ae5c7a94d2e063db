"""Pick the ASR engine named in the settings; one instance per worker process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from carepipe.core.errors import EngineUnavailable
from carepipe.engines.asr.types import AsrEngine

ENGINES = ("faster-whisper", "openai")

# Least recently used first; at most ``model_cache_size`` engines (a model is hundreds of
# MB: a worker serving a stable and a canary version holds two, not every one it ever ran).
_CACHE: OrderedDict[tuple[Any, ...], AsrEngine] = OrderedDict()
# Held while building, so two threads asking at once load the model once, not twice.
_LOCK = threading.Lock()


def load_asr_engine(settings: Any) -> AsrEngine:
    """The engine for ``settings.asr_engine`` ("faster-whisper" | "openai"), loaded once.

    Reads ``asr_engine``, ``asr_model`` (model directory or name; for "openai" the remote
    model name, default ``whisper-1``), ``asr_url`` and ``asr_api_key`` (for "openai").
    Optional, if the settings have them: ``asr_cpu_threads`` (default 2), ``asr_beam_size``
    (default 2), ``asr_prompt`` ("" none, "clinical" the built-in outpatient vocabulary,
    or any text as Whisper's initial prompt), ``asr_timeout_seconds`` (default 120),
    ``asr_hotwords`` (comma-separated words favoured in every recording, beside the
    built-in units), ``asr_contextual_pass`` (default True: a second, drug-biased decode,
    see :mod:`carepipe.engines.asr.biasing`), ``asr_device`` (auto | cpu | cuda, default
    auto: :mod:`carepipe.engines.asr.device`) and ``data_dir`` (packaged models are
    assembled under ``<data_dir>/models``).

    The same settings values return the same engine object while it stays among the
    ``model_cache_size`` (default 2) most recently used; older ones are dropped (LRU).
    Raises :class:`EngineUnavailable` (or its subclass ``AsrModelNotFound``) for an unknown
    engine, a missing model or a missing URL; failures are not cached.
    """
    name = str(getattr(settings, "asr_engine", "faster-whisper") or "faster-whisper")
    name = name.strip().lower()
    model = str(getattr(settings, "asr_model", "") or "")
    url = getattr(settings, "asr_url", None) or ""
    secret = getattr(settings, "asr_api_key", None)
    api_key = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
    threads = int(getattr(settings, "asr_cpu_threads", 2) or 2)
    beam = int(getattr(settings, "asr_beam_size", 2) or 2)
    timeout = float(getattr(settings, "asr_timeout_seconds", 120.0) or 120.0)
    prompt = str(getattr(settings, "asr_prompt", "") or "").strip()
    hotwords = tuple(
        w.strip() for w in str(getattr(settings, "asr_hotwords", "") or "").split(",") if w.strip()
    )
    contextual = bool(getattr(settings, "asr_contextual_pass", True))
    device = str(getattr(settings, "asr_device", "auto") or "auto").strip().lower()
    cache_dir = Path(getattr(settings, "data_dir", "var") or "var") / "models"
    key: tuple[Any, ...]
    if name == "faster-whisper":
        # The cache directory is not part of the key: a model is identified by its sha256.
        key = (name, model, threads, beam, prompt, hotwords, contextual, device)
    else:
        # The key is part of the cache key so a rotated key gets a new client; it is
        # held only in memory, as the settings object holds it anyway.
        key = (name, model, url, api_key, timeout)
    size = max(1, int(getattr(settings, "model_cache_size", 2) or 2))
    with _LOCK:
        engine = _CACHE.get(key)
        if engine is not None:
            _CACHE.move_to_end(key)
        else:
            engine = _build(
                name,
                model=model,
                url=url,
                api_key=api_key,
                threads=threads,
                beam=beam,
                timeout=timeout,
                prompt=prompt,
                hotwords=hotwords,
                contextual=contextual,
                cache_dir=cache_dir,
                device=device,
            )
            _CACHE[key] = engine
            while len(_CACHE) > size:
                _CACHE.popitem(last=False)
        return engine


def _build(
    name: str,
    *,
    model: str,
    url: str,
    api_key: str | None,
    threads: int,
    beam: int,
    timeout: float,
    prompt: str = "",
    hotwords: tuple[str, ...] = (),
    contextual: bool = True,
    cache_dir: Path | None = None,
    device: str = "auto",
) -> AsrEngine:
    if name == "faster-whisper":
        from carepipe.engines.asr.biasing import STATIC_VOCABULARY
        from carepipe.engines.asr.faster_whisper_engine import (
            CLINICAL_PROMPT,
            FasterWhisperEngine,
        )

        return FasterWhisperEngine(
            model,
            cpu_threads=threads,
            beam_size=beam,
            initial_prompt=CLINICAL_PROMPT if prompt == "clinical" else prompt or None,
            hotwords=(*hotwords, *STATIC_VOCABULARY),
            contextual_pass=contextual,
            cache_dir=cache_dir,
            device=device,
        )
    if name == "openai":
        from carepipe.engines.asr.openai_engine import DEFAULT_MODEL, OpenAiCompatibleAsrEngine

        return OpenAiCompatibleAsrEngine(
            url, model=model or DEFAULT_MODEL, api_key=api_key, timeout_seconds=timeout
        )
    raise EngineUnavailable(f"unknown ASR engine {name!r}; expected one of {', '.join(ENGINES)}")


def clear_engine_cache() -> None:
    """Forget loaded engines (tests; a worker never needs this)."""
    with _LOCK:
        _CACHE.clear()
