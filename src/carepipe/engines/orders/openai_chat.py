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
from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.orders import lexicon
from carepipe.engines.orders.drugs import canonical_combination
from carepipe.engines.orders.models import (
    Action,
    DoseStep,
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
from carepipe.engines.orders.rxnorm import RXNORM_SYSTEM, rxnorm_for

ENGINE_NAME = "openai-chat"
PROMPT_VERSION = "2"


SYSTEM_PROMPT = """You read free-text clinical orders written by a clinician and return them \
as JSON. Read only what is written; never add orders. For each medication give the name \
(lower-case generic; for a brand such as "Crocin" give the generic, "paracetamol", and the \
brand as written in brand; a combination is "a / b"), dose and unit, route (oral, \
intravenous, subcutaneous, intramuscular, inhalation, topical, sublingual, rectal or null), \
FHIR timing (frequency per period, period, period_unit one of s,min,h,d,wk,mo,a: "twice \
daily" and "1-0-1" are 2 per 1 d, "every 6 hours" is 1 per 6 h, "weekly" 1 per 1 wk), \
count 1 for a single dose ("stat", "once"), as_needed, duration, and action: start, stop \
(discontinue), hold (hold, withhold, pause: the order is paused, not ended; "hold if SBP < \
100" is a condition, not a hold), change (increase, decrease) or continue. The dose is the \
amount given each time: "25 mg half tab" is 12.5 mg; "60,000 IU" is 60000. When the dose \
changes over time (a loading dose then maintenance, a taper, "20 mg x 5 days then 10 mg"), \
list every step in steps, in order, and give the first step as the dose. Services are lab \
tests (category laboratory), imaging, procedures (ECG, endoscopy) and referrals (name \
the specialty). Follow-ups are "see the patient again in N units". A clause that \
explicitly declines something ("no need for a chest x-ray") goes to negated; a clause \
that orders nothing goes to not_understood. "text" is the exact words of the input the \
item comes from. Do not output codes."""

_UNIT_ENUM = ["s", "min", "h", "d", "wk", "mo", "a"]
_ACTION_ENUM = ["start", "stop", "continue", "change", "hold"]


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
                    "action": {"type": "string", "enum": _ACTION_ENUM},
                    "brand": _nullable("string"),
                    "count": _nullable("integer"),
                    "steps": {
                        "type": "array",
                        "items": _obj(
                            {
                                "dose": _nullable("number"),
                                "dose_unit": _nullable("string"),
                                "frequency": _nullable("integer"),
                                "period": _nullable("number"),
                                "period_unit": _nullable("string", enum=_UNIT_ENUM),
                                "count": _nullable("integer"),
                                "duration_value": _nullable("number"),
                                "duration_unit": _nullable("string", enum=_UNIT_ENUM),
                            }
                        ),
                    },
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


class _LlmStep(_Strict):
    dose: float | None = None
    dose_unit: str | None = None
    frequency: int | None = None
    period: float | None = None
    period_unit: TimeUnit | None = None
    count: int | None = None
    duration_value: float | None = None
    duration_unit: TimeUnit | None = None


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
    brand: str | None = None
    count: int | None = None
    steps: list[_LlmStep] = []
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


def _generic(name: str) -> str:
    """The model's name in our canonical form (codes are then looked up, never taken)."""
    parts = [p.strip().lower() for p in re.split(r"\s*[/+]\s*", name) if p.strip()]
    canon = [canonical_combination(lookup_medication(p) or p) for p in parts]
    return " / ".join(canon) if canon else name.strip().lower()


def _timing(
    frequency: int | None, period: float | None, unit: TimeUnit | None, count: int | None
) -> Timing | None:
    if frequency and period and unit:
        return Timing(frequency=frequency, period=period, periodUnit=unit, count=count)
    if count:
        return Timing(count=count)
    return None


def _quantity(value: float | None, unit: TimeUnit | None) -> Quantity | None:
    if value and value > 0 and unit:
        return Quantity(value=value, unit=unit)
    return None


def _step(st: _LlmStep) -> DoseStep:
    return DoseStep(
        dose=st.dose,
        dose_unit=st.dose_unit,
        timing=_timing(st.frequency, st.period, st.period_unit, st.count),
        duration=_quantity(st.duration_value, st.duration_unit),
    )


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
            name = _generic(m.name)
            code = rxnorm_for(name)
            steps = [_step(st) for st in m.steps]
            result.medications.append(
                MedicationOrder(
                    name=name,
                    dose=m.dose,
                    dose_unit=m.dose_unit,
                    route=m.route,
                    timing=_timing(m.frequency, m.period, m.period_unit, m.count),
                    as_needed=m.as_needed,
                    duration=_quantity(m.duration_value, m.duration_unit),
                    action=m.action,
                    steps=steps if len(steps) > 1 else [],
                    brand=m.brand.strip() if m.brand and m.brand.strip() else None,
                    code=code,
                    system=RXNORM_SYSTEM if code else None,
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
