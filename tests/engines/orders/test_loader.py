"""load_orders_engine: selection by settings, per-process cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from carepipe.core.config import Settings
from carepipe.engines.orders import (
    EngineNotConfigured,
    OpenAiChatOrdersEngine,
    RulesOrdersEngine,
    clear_orders_engine_cache,
    load_orders_engine,
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_orders_engine_cache()
    yield
    clear_orders_engine_cache()


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_rules_is_the_default_and_cached() -> None:
    s = _settings()
    first = load_orders_engine(s)
    assert isinstance(first, RulesOrdersEngine)
    assert load_orders_engine(_settings()) is first


def test_openai_engine_from_settings() -> None:
    s = _settings(
        orders_engine="openai",
        llm_url="http://127.0.0.1:9/v1",
        llm_model="gpt-4o-mini",
        llm_api_key=SecretStr("k1"),
    )
    engine = load_orders_engine(s)
    assert isinstance(engine, OpenAiChatOrdersEngine)
    assert engine.model_version.startswith("gpt-4o-mini")
    assert load_orders_engine(s) is engine
    rotated = s.model_copy(update={"llm_api_key": SecretStr("k2")})
    assert load_orders_engine(rotated) is not engine


def test_openai_without_url_is_a_config_error() -> None:
    with pytest.raises(EngineNotConfigured):
        load_orders_engine(_settings(orders_engine="openai", llm_url=None))


def test_unknown_engine() -> None:
    with pytest.raises(EngineNotConfigured) as exc:
        load_orders_engine(_settings(orders_engine="magic"))
    assert "magic" in str(exc.value)
