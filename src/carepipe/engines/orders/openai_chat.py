"""Orders engine over any OpenAI-compatible Chat Completions endpoint.

The model is asked for JSON matching a strict schema (``response_format`` json_schema).
It reports names, not codes: codes are looked up in our own lexicon afterwards, so a
model can never put an invented LOINC code into a bundle. Spans are found by locating the
quoted words in the input; an item whose quote is not in the text gets a lower confidence.

Failures (the shared ``carepipe.engines.chat_completions`` client): transport errors,
timeouts, 408, 429 and 5xx -> ``EngineUnavailable`` (retried by the queue); any other
4xx -> ``EngineRequestRejected``; an answer that is not valid JSON for the schema ->
``EngineOutputInvalid``. Messages never quote the order text.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from carepipe.core.errors import EngineNotConfigured, EngineOutputInvalid
from carepipe.engines.chat_completions import ChatCompletionsClient, cost_usd
from carepipe.engines.orders import lexicon
from carepipe.engines.orders.models import (
    Action,
    FollowUp,
    MedicationOrder,
    OrderSet,
    Quantity,
    ServiceCategory,
    ServiceOrder,
    Span,
    TimeUnit,
    Timing,
    Usage,
)

ENGINE_NAME = "openai-chat"
PROMPT_VERSION = "1"


SYSTEM_PROMPT = """You read free-text clinical orders written by a clinician and return them \
as JSON. Read only what is written; never add orders. For each medication give the name \
(lower-case generic as written), dose and unit, route (oral, intravenous, subcutaneous, \
intramuscular, inhalation, topical, sublingual, rectal or null), FHIR timing (frequency \
per period, period, period_unit one of s,min,h,d,wk,mo,a: "twice daily" is 2 per 1 d, \
"every 6 hours" is 1 per 6 h), as_needed, duration, and action: start, stop (also hold, \
discontinue), change (increase, decrease, switch dose) or continue. Services are lab \
tests (category laboratory), imaging, procedures (ECG, endoscopy) and referrals (name \
the specialty). Follow-ups are "see the patient again in N units". A clause that \
explicitly declines something ("no need for a chest x-ray") goes to negated; a clause \
that orders nothing goes to not_understood. "text" is the exact words of the input the \
item comes from. Do not output codes."""

_UNIT_ENUM = ["s", "min", "h", "d", "wk", "mo", "a"]


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    if "enum" in extra:
        return {"type": [kind, "null"], "enum": [*extra["enum"], None]}
    return {"type": [kind, "null"], **extra}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


OUTPUT_SCHEMA: dict[str, Any] = _obj(
    {
        "medications": {
            "type": "array",
            "items": _obj(
                {
                    "name": {"type": "string"},
                    "dose": _nullable("number"),
                    "dose_unit": _nullable("string"),
                    "route": _nullable("string"),
                    "frequency": _nullable("integer"),
                    "period": _nullable("number"),
                    "period_unit": _nullable("string", enum=_UNIT_ENUM),
                    "as_needed": {"type": "boolean"},
                    "duration_value": _nullable("number"),
                    "duration_unit": _nullable("string", enum=_UNIT_ENUM),
                    "action": {"type": "string", "enum": ["start", "stop", "continue", "change"]},
                    "text": {"type": "string"},
                }
            ),
        },
        "services": {
            "type": "array",
            "items": _obj(
                {
                    "name": {"type": "string"},
                    "category": {
                        "type": "string",
                        "enum": ["laboratory", "imaging", "referral", "procedure"],
                    },
                    "text": {"type": "string"},
                }
            ),
        },
        "follow_ups": {
            "type": "array",
            "items": _obj(
                {
                    "value": {"type": "number"},
                    "unit": {"type": "string", "enum": _UNIT_ENUM},
                    "text": {"type": "string"},
                }
            ),
        },
        "negated": {"type": "array", "items": {"type": "string"}},
        "not_understood": {"type": "array", "items": {"type": "string"}},
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _LlmMed(_Strict):
    name: str
    dose: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    frequency: int | None = None
    period: float | None = None
    period_unit: TimeUnit | None = None
    as_needed: bool = False
    duration_value: float | None = None
    duration_unit: TimeUnit | None = None
    action: Action = "start"
    text: str = ""


class _LlmService(_Strict):
    name: str
    category: ServiceCategory
    text: str = ""


class _LlmFollowUp(_Strict):
    value: float
    unit: TimeUnit
    text: str = ""


class _LlmOutput(_Strict):
    medications: list[_LlmMed] = []
    services: list[_LlmService] = []
    follow_ups: list[_LlmFollowUp] = []
    negated: list[str] = []
    not_understood: list[str] = []


def _locate(text: str, quote: str) -> Span | None:
    """Where the model's quote is in the input (case-insensitive), if it is there."""
    q = quote.strip()
    if not q:
        return None
    # A regex search, not lower().find(): lower-casing can change string lengths.
    m = re.search(re.escape(q), text, re.IGNORECASE)
    if m is None:
        return None
    return Span(start=m.start(), end=m.end())


def _confidence(span: Span | None) -> float:
    # The model gives no calibrated score; a verbatim quote is the evidence we can check.
    return 0.8 if span is not None else 0.5


class OpenAiChatOrdersEngine:
    """Orders engine backed by an OpenAI-compatible ``/chat/completions`` endpoint."""

    name = ENGINE_NAME

    def __init__(
        self,
        *,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout_seconds: float = 60.0,
        prices_per_mtok: tuple[float, float] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url:
            raise EngineNotConfigured("orders engine 'openai' needs CAREPIPE_LLM_URL")
        self._model = model
        self._prices = {model: prices_per_mtok} if prices_per_mtok else None
        self._chat = ChatCompletionsClient(
            url,
            model,
            api_key,
            timeout=timeout_seconds,
            transport=transport,
            purpose="orders model",
        )
        self.model_version = f"{model}+prompt.{PROMPT_VERSION}"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._chat.close()

    def extract(self, text: str) -> OrderSet:
        """Ask the model for the orders in ``text`` and check its answer against the schema."""
        answer = self._chat.complete(
            [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text},
            ],
            schema_name="order_set",
            schema=OUTPUT_SCHEMA,
        )
        try:
            parsed = _LlmOutput.model_validate(json.loads(answer.content))
        except (json.JSONDecodeError, ValidationError, TypeError) as exc:
            raise EngineOutputInvalid(
                "model answer does not match the orders schema",
                details={"error": type(exc).__name__},
            ) from None
        result = self._to_order_set(text, parsed, answer.model)
        if answer.usage is not None:
            result.usage = Usage(
                **answer.usage,
                cost_usd=cost_usd(
                    self._model,
                    answer.usage["prompt_tokens"],
                    answer.usage["completion_tokens"],
                    self._prices,
                ),
            )
        return result

    # --- mapping to the orders model ----------------------------------------------------

    def _to_order_set(self, text: str, out: _LlmOutput, served_model: str) -> OrderSet:
        result = OrderSet(
            engine=self.name,
            model_version=f"{served_model}+prompt.{PROMPT_VERSION}",
            negated=[s for s in out.negated if s.strip()],
            not_understood=[s for s in out.not_understood if s.strip()],
        )
        for m in out.medications:
            span = _locate(text, m.text)
            timing = None
            if m.frequency and m.period and m.period_unit:
                timing = Timing(frequency=m.frequency, period=m.period, periodUnit=m.period_unit)
            duration = None
            if m.duration_value and m.duration_value > 0 and m.duration_unit:
                duration = Quantity(value=m.duration_value, unit=m.duration_unit)
            result.medications.append(
                MedicationOrder(
                    name=m.name.strip().lower(),
                    dose=m.dose,
                    dose_unit=m.dose_unit,
                    route=m.route,
                    timing=timing,
                    as_needed=m.as_needed,
                    duration=duration,
                    action=m.action,
                    text=m.text,
                    span=span,
                    confidence=_confidence(span),
                )
            )
        for s in out.services:
            span = _locate(text, s.text)
            entry = lexicon.service_by_name(s.name, s.category)
            result.services.append(
                ServiceOrder(
                    display=entry.display if entry else s.name.strip(),
                    code=entry.code if entry else None,
                    system=entry.system if entry else None,
                    category=entry.category if entry else s.category,
                    text=s.text,
                    span=span,
                    confidence=_confidence(span),
                )
            )
        for f in out.follow_ups:
            if f.value <= 0:
                raise EngineOutputInvalid("model gave a follow-up with a non-positive interval")
            span = _locate(text, f.text)
            result.follow_ups.append(
                FollowUp(
                    value=f.value, unit=f.unit, text=f.text, span=span, confidence=_confidence(span)
                )
            )
        return result
