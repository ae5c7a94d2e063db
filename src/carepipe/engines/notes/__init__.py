"""SOAP note engines: transcript in, ``SoapNote`` out.

``load_note_engine(settings)`` picks the engine named by ``settings.note_engine``:
``rules`` (default, deterministic, offline) or ``openai`` (any OpenAI-compatible Chat
Completions endpoint: OpenAI, vLLM, Ollama).
"""

from __future__ import annotations

import threading

from carepipe.core.config import Settings
from carepipe.core.errors import EngineNotConfigured
from carepipe.engines.notes.base import NoteEngine
from carepipe.engines.notes.models import LOW_CONFIDENCE_THRESHOLD, SoapNote

__all__ = [
    "LOW_CONFIDENCE_THRESHOLD",
    "NoteEngine",
    "SoapNote",
    "clear_engine_cache",
    "load_note_engine",
]

ENGINE_NAMES = ("rules", "openai")

_cache: dict[tuple[str, ...], NoteEngine] = {}
_lock = threading.Lock()


def _cache_key(settings: Settings) -> tuple[str, ...]:
    name = settings.note_engine.strip().lower()
    if name == "openai":
        # The key is part of the identity (rotation must take effect) but never stored raw.
        import hashlib

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        return (
            name,
            settings.llm_url or "",
            settings.llm_model,
            hashlib.sha256(key.encode()).hexdigest()[:16],
        )
    return (name,)


def load_note_engine(settings: Settings) -> NoteEngine:
    """The note engine ``settings`` asks for, built once per process and configuration."""
    key = _cache_key(settings)
    with _lock:
        engine = _cache.get(key)
        if engine is not None:
            return engine
        name = key[0]
        if name == "rules":
            from carepipe.engines.notes.rules import RulesNoteEngine

            engine = RulesNoteEngine()
        elif name == "openai":
            from carepipe.engines.notes.openai_chat import OpenAiChatNoteEngine

            engine = OpenAiChatNoteEngine.from_settings(settings)
        else:
            raise EngineNotConfigured(
                f"unknown note engine {name!r}; expected one of {', '.join(ENGINE_NAMES)}"
            )
        _cache[key] = engine
        return engine


def clear_engine_cache() -> None:
    """Forget built engines (tests; configuration reloads)."""
    with _lock:
        for engine in _cache.values():
            close = getattr(engine, "close", None)
            if callable(close):
                close()
        _cache.clear()
