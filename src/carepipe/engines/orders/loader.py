"""Pick the orders engine named by ``settings.orders_engine`` (one instance per process)."""

from __future__ import annotations

import threading

from carepipe.core.config import Settings
from carepipe.engines.orders.base import OrdersEngine
from carepipe.engines.orders.openai_chat import EngineNotConfigured, OpenAiChatOrdersEngine
from carepipe.engines.orders.rules import RulesOrdersEngine

ENGINES = ("rules", "openai")

_lock = threading.Lock()
_cache: dict[tuple[str, ...], OrdersEngine] = {}


def _key(settings: Settings) -> tuple[str, ...]:
    name = settings.orders_engine.strip().lower()
    if name != "openai":
        return (name,)
    secret = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    # The key is part of the cache key (in memory only) so a rotated key gets a new client.
    return (name, settings.llm_url or "", settings.llm_model, secret)


def load_orders_engine(settings: Settings) -> OrdersEngine:
    """The engine for ``settings.orders_engine``: "rules" (default) or "openai".

    Cached per process and per relevant settings, so workers share one HTTP pool.
    Raises ``EngineNotConfigured`` for an unknown name or missing ``llm_url``.
    """
    key = _key(settings)
    with _lock:
        engine = _cache.get(key)
        if engine is not None:
            return engine
        if key[0] == "rules":
            engine = RulesOrdersEngine()
        elif key[0] == "openai":
            engine = OpenAiChatOrdersEngine(
                url=settings.llm_url or "",
                model=settings.llm_model,
                api_key=key[3] or None,
            )
        else:
            raise EngineNotConfigured(
                f"unknown orders engine {settings.orders_engine!r}; expected one of {ENGINES}"
            )
        _cache[key] = engine
        return engine


def clear_orders_engine_cache() -> None:
    """Forget cached engines (tests, settings reload)."""
    with _lock:
        for engine in _cache.values():
            close = getattr(engine, "close", None)
            if close is not None:
                close()
        _cache.clear()
