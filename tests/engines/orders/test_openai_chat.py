"""OpenAiChatOrdersEngine against a real HTTP test double on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from carepipe.core.errors import EngineOutputInvalid, EngineUnavailable, is_retryable
from carepipe.engines.orders import (
    EngineNotConfigured,
    EngineRequestRejected,
    OpenAiChatOrdersEngine,
    OrdersEngine,
)

from .conftest import FakeLlm, Reply

TEXT = "Start metformin 500 mg twice daily, order HbA1c and a chest x-ray, follow up in 3 months"

GOOD = {
    "medications": [
        {
            "name": "Metformin",
            "dose": 500,
            "dose_unit": "mg",
            "route": "oral",
            "frequency": 2,
            "period": 1,
            "period_unit": "d",
            "as_needed": False,
            "duration_value": None,
            "duration_unit": None,
            "action": "start",
            "text": "metformin 500 mg twice daily",
        }
    ],
    "services": [
        {"name": "Hemoglobin A1c", "category": "laboratory", "text": "HbA1c"},
        {"name": "Chest X-ray", "category": "imaging", "text": "chest x-ray"},
        {"name": "Vitamin K2 level", "category": "laboratory", "text": "not in the input"},
    ],
    "follow_ups": [{"value": 3, "unit": "mo", "text": "follow up in 3 months"}],
    "negated": [],
    "not_understood": [],
}


def _engine(fake: FakeLlm, **kw: object) -> OpenAiChatOrdersEngine:
    return OpenAiChatOrdersEngine(
        url=fake.url,
        model="gpt-4o-mini",
        api_key="sk-test-123",
        **kw,  # type: ignore[arg-type]
    )


def test_success_maps_codes_spans_usage(fake_llm: FakeLlm) -> None:
    fake_llm.answer_with(GOOD)
    engine = _engine(fake_llm)
    assert isinstance(engine, OrdersEngine)
    r = engine.extract(TEXT)

    sent = fake_llm.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sk-test-123"
    body = sent["json"]
    assert body["model"] == "gpt-4o-mini"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["messages"][-1] == {"role": "user", "content": TEXT}

    med = r.medications[0]
    assert (med.name, med.dose, med.dose_unit, med.action) == ("metformin", 500, "mg", "start")
    assert med.timing is not None and (med.timing.frequency, med.timing.periodUnit) == (2, "d")
    assert med.span is not None and TEXT[med.span.start : med.span.end] == med.text
    # Codes come from our lexicon, never from the model.
    assert [(s.display, s.code, s.category) for s in r.services] == [
        ("HbA1c", "4548-4", "laboratory"),
        ("Chest X-ray", None, "imaging"),
        ("Vitamin K2 level", None, "laboratory"),
    ]
    # A quote that is not in the input: no span, lower confidence.
    assert r.services[2].span is None
    assert r.services[2].confidence < r.services[0].confidence
    assert [(f.value, f.unit) for f in r.follow_ups] == [(3, "mo")]
    assert r.engine == "openai-chat"
    assert r.model_version == "gpt-4o-mini-2024-07-18+prompt.2"
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (
        1000,
        500,
        1500,
    )
    assert r.usage.cost_usd == pytest.approx(1000 * 0.15e-6 + 500 * 0.60e-6)


def test_unknown_model_records_tokens_without_cost(fake_llm: FakeLlm) -> None:
    fake_llm.answer_with(GOOD, usage={"prompt_tokens": 10, "completion_tokens": 5})
    engine = OpenAiChatOrdersEngine(url=fake_llm.url, model="local-llama")
    r = engine.extract(TEXT)
    assert r.usage is not None
    assert (r.usage.total_tokens, r.usage.cost_usd) == (15, None)
    assert "Authorization" not in fake_llm.requests[0]["headers"]


def _med(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "x",
        "dose": None,
        "dose_unit": None,
        "route": None,
        "frequency": None,
        "period": None,
        "period_unit": None,
        "as_needed": False,
        "duration_value": None,
        "duration_unit": None,
        "action": "start",
        "brand": None,
        "count": None,
        "steps": [],
        "text": "",
    }
    return {**base, **kw}


def test_hold_brand_and_dose_steps_map_to_the_orders_model(fake_llm: FakeLlm) -> None:
    """The schema carries issue 12's fields; names are canonical and coded by our table."""
    text = "hold ramipril tonight; Tab Crocin 650 SOS; aspirin 300 mg stat then 75 mg OD"
    step = {
        "dose": None,
        "dose_unit": "mg",
        "frequency": None,
        "period": None,
        "period_unit": None,
        "count": None,
        "duration_value": None,
        "duration_unit": None,
    }
    fake_llm.answer_with(
        {
            "medications": [
                _med(name="ramipril", action="hold", text="hold ramipril tonight"),
                _med(
                    name="paracetamol",
                    brand="Crocin",
                    dose=650,
                    dose_unit="mg",
                    as_needed=True,
                    text="Tab Crocin 650 SOS",
                ),
                _med(
                    name="Aspirin",
                    dose=300,
                    dose_unit="mg",
                    count=1,
                    steps=[
                        {**step, "dose": 300, "count": 1},
                        {**step, "dose": 75, "frequency": 1, "period": 1, "period_unit": "d"},
                    ],
                    text="aspirin 300 mg stat then 75 mg OD",
                ),
            ],
            "services": [],
            "follow_ups": [],
            "negated": [],
            "not_understood": [],
        }
    )
    engine = _engine(fake_llm)
    r = engine.extract(text)
    schema = fake_llm.requests[0]["json"]["response_format"]["json_schema"]["schema"]
    med_schema = schema["properties"]["medications"]["items"]
    assert "hold" in med_schema["properties"]["action"]["enum"]
    assert {"brand", "count", "steps"} <= set(med_schema["required"])
    hold, crocin, aspirin = r.medications
    assert hold.action == "hold"
    assert (crocin.name, crocin.brand, crocin.code) == ("acetaminophen", "Crocin", "161")
    assert aspirin.timing is not None and aspirin.timing.count == 1
    assert [(s.dose, s.timing.count if s.timing else None) for s in aspirin.steps] == [
        (300, 1),
        (75, None),
    ]
    assert aspirin.code == "1191"


def test_nothing_understood_is_passed_through(fake_llm: FakeLlm) -> None:
    fake_llm.answer_with(
        {
            "medications": [],
            "services": [],
            "follow_ups": [],
            "negated": [],
            "not_understood": ["The patient feels better"],
        }
    )
    r = _engine(fake_llm).extract("The patient feels better")
    assert r.is_empty and r.not_understood == ["The patient feels better"]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_statuses(fake_llm: FakeLlm, status: int) -> None:
    fake_llm.replies.append(Reply(status, {"error": {"message": "busy"}}))
    with pytest.raises(EngineUnavailable) as exc:
        _engine(fake_llm).extract(TEXT)
    assert is_retryable(exc.value)
    assert "metformin" not in str(exc.value)  # no order text in errors


@pytest.mark.parametrize("status", [400, 401, 404])
def test_rejected_requests_are_permanent(fake_llm: FakeLlm, status: int) -> None:
    fake_llm.replies.append(Reply(status, {"error": {"message": "nope"}}))
    with pytest.raises(EngineRequestRejected) as exc:
        _engine(fake_llm).extract(TEXT)
    assert not is_retryable(exc.value)


def test_timeout_is_retryable(fake_llm: FakeLlm) -> None:
    fake_llm.replies.append(Reply(200, {}, delay=1.0))
    with pytest.raises(EngineUnavailable):
        _engine(fake_llm, timeout_seconds=0.2).extract(TEXT)


def test_unreachable_endpoint_is_retryable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = OpenAiChatOrdersEngine(url=f"http://127.0.0.1:{port}/v1", model="gpt-4o-mini")
    with pytest.raises(EngineUnavailable):
        engine.extract(TEXT)


@pytest.mark.parametrize(
    "answer",
    [
        "this is not json",
        {"medications": "none"},
        {
            **GOOD,
            "services": [{"name": "HbA1c", "category": "laboratory", "text": "", "code": "1"}],
        },
        {**GOOD, "follow_ups": [{"value": 3, "unit": "fortnight", "text": ""}]},
        {**GOOD, "follow_ups": [{"value": 0, "unit": "d", "text": ""}]},
    ],
    ids=["not-json", "wrong-type", "extra-code-field", "bad-unit", "zero-interval"],
)
def test_invalid_output_is_permanent(fake_llm: FakeLlm, answer: object) -> None:
    fake_llm.answer_with(answer)
    with pytest.raises(EngineOutputInvalid) as exc:
        _engine(fake_llm).extract(TEXT)
    assert not is_retryable(exc.value)


def test_truncated_and_refused_answers_are_invalid(fake_llm: FakeLlm) -> None:
    fake_llm.answer_with(GOOD, finish_reason="length")
    fake_llm.answer_with("", message={"refusal": "I can't help with that"})
    fake_llm.replies.append(Reply(200, "<html>gateway</html>"))
    engine = _engine(fake_llm)
    for _ in range(3):
        with pytest.raises(EngineOutputInvalid):
            engine.extract(TEXT)


def test_needs_a_url() -> None:
    with pytest.raises(EngineNotConfigured):
        OpenAiChatOrdersEngine(url="", model="gpt-4o-mini")
