"""One client for OpenAI-compatible Chat Completions endpoints (OpenAI, vLLM, Ollama).

Shared by the note and the orders engines: where the endpoint is, the call, what
its failures mean for the queue, the answer's text and token usage, and what the
tokens cost. Prompts, schemas and the meaning of an answer stay with each engine.

Failures: transport errors, timeouts, 408, 429 and 5xx -> ``EngineUnavailable``
(retried by the queue); any other 4xx -> ``EngineRequestRejected`` (a bad key or an
unknown model: retrying cannot help); an answer that is not JSON, has no choices, was
refused, was cut off or is empty -> ``EngineOutputInvalid``. Neither the request body
(it holds PHI) nor the API key is ever logged or put in an error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from carepipe.core.errors import EngineOutputInvalid, EngineRequestRejected, EngineUnavailable

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.openai.com"
DEFAULT_TIMEOUT_SECONDS = 60.0

# USD per 1M tokens (input, output), from the providers' public price lists.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
}
# Self-hosted open-weight models (vLLM, Ollama) cost nothing per token.
FREE_MODEL_PREFIXES = (
    "llama",
    "qwen",
    "mistral",
    "mixtral",
    "gemma",
    "phi",
    "meta-llama/",
    "Qwen/",
    "mistralai/",
    "google/",
    "microsoft/",
    "deepseek",
)


def chat_endpoint(url: str) -> str:
    """The full ``.../v1/chat/completions`` URL for a configured ``CAREPIPE_LLM_URL``.

    Accepts the server root (``http://vllm:8000``), the API base (``.../v1``) or the
    endpoint itself, so one setting means the same for every engine.
    """
    base = url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if base.endswith("/v1"):
        base = base[: -len("/v1")]
    return base + "/v1/chat/completions"


def cost_usd(
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    prices: dict[str, tuple[float, float]] | None = None,
) -> float | None:
    """What a call cost, or ``None`` for a model whose price we do not know.

    Dated snapshots (``gpt-4o-mini-2024-07-18``) price like their family; open-weight
    and Ollama-style (``name:tag``) models are free.
    """
    table = PRICES_PER_MTOK if prices is None else prices
    price = table.get(model)
    if price is None:
        family = max((k for k in table if model.startswith(k + "-")), key=len, default=None)
        price = table.get(family) if family else None
    if price is None:
        return 0.0 if model.startswith(FREE_MODEL_PREFIXES) or ":" in model else None
    return round(prompt_tokens * price[0] / 1e6 + completion_tokens * price[1] / 1e6, 8)


@dataclass(frozen=True)
class ChatAnswer:
    """The parts of a Chat Completions answer the engines use."""

    content: str
    model: str  # the model that served the call (may be a dated snapshot of the one asked)
    usage: dict[str, int] | None  # prompt/completion/total tokens, when the server reported them


class ChatCompletionsClient:
    """A pooled HTTP client for one endpoint and model."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        transport: httpx.BaseTransport | None = None,
        purpose: str = "model",
    ) -> None:
        self.endpoint = chat_endpoint(url)
        self.model = model
        self.purpose = purpose  # "note model", "orders model": for error messages
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout), transport=transport
        )

    def __repr__(self) -> str:  # never show the key
        return f"ChatCompletionsClient(endpoint={self.endpoint!r}, model={self.model!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float = 0.0,
    ) -> ChatAnswer:
        """One call asking for JSON that fits ``schema`` (strict structured output)."""
        return self.post(
            {
                "model": self.model,
                "temperature": temperature,
                "messages": messages,
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "strict": True, "schema": schema},
                },
            }
        )

    def post(self, body: dict[str, Any]) -> ChatAnswer:
        """Send a prepared request body; errors as in the module docstring."""
        what = self.purpose
        started = time.monotonic()
        try:
            resp = self._client.post(self.endpoint, json=body)
        except httpx.TimeoutException as exc:
            raise EngineUnavailable(f"{what} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise EngineUnavailable(f"{what} unreachable ({type(exc).__name__})") from None
        status = resp.status_code
        log.info(
            "chat_completions_call",
            extra={
                "model": self.model,
                "status": status,
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        if status in (408, 429) or status >= 500:
            raise EngineUnavailable(f"{what} answered HTTP {status}", details={"status": status})
        if status >= 400:
            raise EngineRequestRejected(
                f"{what} refused the request: HTTP {status}", details={"status": status}
            )
        try:
            data = resp.json()
            choice = data["choices"][0]
            message = choice["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise EngineOutputInvalid(
                f"{what} answer is not the expected JSON ({type(exc).__name__})"
            ) from None
        if not isinstance(message, dict):
            raise EngineOutputInvalid(f"{what} answer has no message")
        if message.get("refusal"):
            raise EngineOutputInvalid(f"{what} refused to answer")
        if choice.get("finish_reason") == "length":
            raise EngineOutputInvalid(f"{what} output was cut off (max tokens)")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise EngineOutputInvalid(f"{what} answer is empty")
        served = data.get("model")
        return ChatAnswer(
            content=content,
            model=served if isinstance(served, str) and served else self.model,
            usage=_usage(data.get("usage")),
        )


def _usage(raw: Any) -> dict[str, int] | None:
    if not isinstance(raw, dict):
        return None
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(raw.get("total_tokens") or prompt + completion),
    }
