"""The shared Chat Completions client: one meaning of CAREPIPE_LLM_URL, one price table."""

from __future__ import annotations

import pytest

from carepipe.engines.chat_completions import ChatCompletionsClient, chat_endpoint, cost_usd


@pytest.mark.parametrize(
    "url",
    [
        "http://vllm:8000",
        "http://vllm:8000/",
        "http://vllm:8000/v1",
        "http://vllm:8000/v1/",
        "http://vllm:8000/v1/chat/completions",
    ],
)
def test_every_form_of_the_url_reaches_the_same_endpoint(url: str) -> None:
    assert chat_endpoint(url) == "http://vllm:8000/v1/chat/completions"


def test_a_proxy_path_is_kept() -> None:
    assert (
        chat_endpoint("https://gw.example/llm/v1") == "https://gw.example/llm/v1/chat/completions"
    )


def test_costs() -> None:
    assert cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    # A dated snapshot prices like its family, the longest matching one.
    assert cost_usd("gpt-4.1-mini-2025-04-14", 1_000_000, 0) == pytest.approx(0.40)
    assert cost_usd("llama3.1:8b", 500, 500) == 0.0  # self-hosted
    assert cost_usd("some-new-model", 500, 500) is None  # unknown: tokens only
    assert cost_usd("gpt-4o-mini", 10, 10, {"gpt-4o-mini": (1.0, 1.0)}) == pytest.approx(2e-5)


def test_repr_never_shows_the_key() -> None:
    client = ChatCompletionsClient("http://127.0.0.1:9", "gpt-4o-mini", "sk-secret-123")
    try:
        assert "sk-secret-123" not in repr(client)
    finally:
        client.close()
