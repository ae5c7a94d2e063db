"""Rollouts land where they say, stay sticky when widened, and the provider answers
OpenFeature's way (types, reasons, error codes) and counts what it served."""

from __future__ import annotations

from types import MappingProxyType

from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from sqlalchemy import select

from carepipe.core.errors import FlagsUnavailable
from carepipe.flags.definition import FlagDefinition
from carepipe.flags.evaluate import evaluate
from carepipe.flags.models import FlagEvaluationCount
from carepipe.flags.provider import CarePipeProvider
from carepipe.flags.store import LiveFlag, Snapshot
from carepipe.observability.metrics import REGISTRY
from tests.flags._support import boolean_flag, engine_flag

KEYS = [f"user-{i}" for i in range(100_000)]


def _rollout(share: float) -> FlagDefinition:
    return FlagDefinition.model_validate(
        {
            "kind": "boolean",
            "variants": {"on": True, "off": False},
            "default_variant": "off",
            "rules": [
                {
                    "rollout": [
                        {"variant": "on", "weight": share},
                        {"variant": "off", "weight": 100 - share},
                    ]
                }
            ],
        }
    )


def test_ten_percent_of_100000_keys_within_one_point_and_twenty_keeps_them_all():
    ten, twenty = _rollout(10), _rollout(20)
    at_10 = {k for k in KEYS if evaluate("summaries", ten, {"targetingKey": k}).value}
    at_20 = {k for k in KEYS if evaluate("summaries", twenty, {"targetingKey": k}).value}
    assert abs(len(at_10) / len(KEYS) - 0.10) <= 0.01, len(at_10)
    assert abs(len(at_20) / len(KEYS) - 0.20) <= 0.01, len(at_20)
    assert at_10 <= at_20  # raising 10 % -> 20 % removes nobody
    # Keyed by the flag: another flag's 10 % is a different tenth of the keys.
    first = KEYS[:20_000]
    other = {k for k in first if evaluate("other", ten, {"targetingKey": k}).value}
    assert other != at_10 & set(first)


class _Fixed:
    def __init__(self, flags: dict[str, dict]) -> None:
        live = {k: LiveFlag(k, 7, FlagDefinition.model_validate(d)) for k, d in flags.items()}
        self.snap = Snapshot(1, MappingProxyType(live), MappingProxyType({}))

    def snapshot(self) -> Snapshot:
        return self.snap


def _client(provider: CarePipeProvider, domain: str):
    api.set_provider_and_wait(provider, domain=domain)
    return api.get_client(domain)


def _metric(flag: str, variant: str, reason: str) -> float:
    labels = {"flag": flag, "variant": variant, "reason": reason}
    return REGISTRY.get_sample_value("carepipe_flag_evaluations_total", labels) or 0.0


def test_provider_answers_openfeature_types_reasons_and_errors():
    number = {"kind": "number", "variants": {"low": 3, "high": 2.5}, "default_variant": "low"}
    provider = CarePipeProvider(
        _Fixed(
            {
                "beta": boolean_flag(tenants=["acme"]),
                "engine": engine_flag(tenants=["acme"]),
                "limit": number,
            }
        )
    )
    client = _client(provider, "test-distribution")
    acme = EvaluationContext("u1", {"tenant": "acme"})
    other = EvaluationContext("u1", {"tenant": "other"})
    before = _metric("beta", "on", "TARGETING_MATCH")

    on = client.get_boolean_details("beta", False, acme)
    assert (on.value, on.variant, on.reason) == (True, "on", Reason.TARGETING_MATCH)
    assert on.flag_metadata == {"version": 7}
    off = client.get_boolean_details("beta", True, other)
    assert (off.value, off.variant, off.reason) == (False, "off", Reason.DEFAULT)
    assert client.get_string_value("engine", "x", acme) == "openai"
    assert client.get_integer_value("limit", 0) == 3
    assert client.get_float_value("limit", 0.0) == 3.0

    wrong = client.get_string_details("beta", "fallback", acme)
    assert (wrong.value, wrong.error_code) == ("fallback", ErrorCode.TYPE_MISMATCH)
    missing = client.get_boolean_details("no-such-flag", True, acme)
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)

    assert _metric("beta", "on", "TARGETING_MATCH") == before + 1
    assert _metric("unknown", "", "ERROR") >= 1  # unknown keys share one label value
    assert provider.get_metadata().name == "carepipe"


class _Unreadable:
    def snapshot(self) -> Snapshot:
        raise FlagsUnavailable("flags cannot be read from the database")


def test_unreadable_flags_give_the_callers_default_with_general():
    client = _client(CarePipeProvider(_Unreadable()), "test-unreadable")
    details = client.get_boolean_details("beta", True)
    assert (details.value, details.error_code) == (True, ErrorCode.GENERAL)


def test_per_minute_counts_are_added_to_the_table(db):
    provider = CarePipeProvider(_Fixed({"beta": boolean_flag(tenants=["acme"])}), db=db)
    for tenant in ["acme"] * 3 + ["other"] * 2:
        provider.evaluate("beta", {"tenant": tenant})
    provider.flush()
    for _ in range(4):
        provider.evaluate("beta", {"tenant": "acme"})
    provider.evaluate("nope", {})  # unknown flags are not stored
    provider.shutdown()  # the last counts are written at shutdown

    with db.session() as s:
        rows = s.execute(
            select(FlagEvaluationCount.variant, FlagEvaluationCount.count).where(
                FlagEvaluationCount.flag_key == "beta"
            )
        ).all()
        flags = set(s.execute(select(FlagEvaluationCount.flag_key)).scalars())
    totals: dict[str, int] = {}
    for variant, n in rows:  # one row per minute: the test may straddle two
        totals[variant] = totals.get(variant, 0) + n
    assert totals == {"on": 7, "off": 2}
    assert flags == {"beta"}
