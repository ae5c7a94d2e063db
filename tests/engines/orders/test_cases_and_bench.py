"""The labelled cases are well formed, and the benchmark's scoring behaves."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from carepipe.engines.orders import RulesOrdersEngine

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "tests" / "data" / "orders" / "cases.json"
UNITS = {"s", "min", "h", "d", "wk", "mo", "a"}


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_orders", ROOT / "benchmarks" / "bench_orders.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_orders"] = module
    spec.loader.exec_module(module)
    return module


def test_cases_are_well_formed() -> None:
    cases = json.loads(CASES.read_text())["cases"]
    assert len(cases) >= 36
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))
    splits = [c["split"] for c in cases]
    assert set(splits) == {"dev", "test"}
    assert 8 <= splits.count("dev") <= 12
    assert sum(1 for c in cases if c["expected"].get("negated")) >= 3
    assert sum(1 for c in cases if c["expected"].get("nothing_understood")) >= 3
    for c in cases:
        exp = c["expected"]
        for m in exp["medications"]:
            assert m["name"] and m["action"] in {"start", "stop", "continue", "change"}
            assert m["period_unit"] in UNITS | {None}
        for s in exp["services"]:
            assert s["category"] in {"laboratory", "imaging", "referral", "procedure"}
            assert ("code" in s) == ("system" in s)
        for f in exp["follow_ups"]:
            assert f["value"] > 0 and f["unit"] in UNITS
        if exp.get("nothing_understood"):
            assert not (exp["medications"] or exp["services"] or exp["follow_ups"])


def test_scoring_counts_matches(bench: ModuleType) -> None:
    assert bench.match([("a", 1), ("a", 1), ("b", None)], [("a", 1), ("b", 2)]) == (1, 2, 3)
    assert bench.prf(1, 2, 4) == {
        "precision": 0.5,
        "recall": 0.25,
        "f1": pytest.approx(1 / 3, abs=1e-4),
        "tp": 1,
        "predicted": 2,
        "gold": 4,
    }
    # International and US names meet at the canonical generic; codes beat names.
    assert bench.canon_drug("Paracetamol") == bench.canon_drug("acetaminophen")
    assert bench.canon_service("glycated hemoglobin", None) == bench.canon_service("x", "4548-4")


def test_rules_beat_the_baseline_on_dev(bench: ModuleType) -> None:
    cases = [c for c in json.loads(CASES.read_text())["cases"] if c["split"] == "dev"]
    rules = bench.score(RulesOrdersEngine(), cases)
    baseline = bench.score(bench.LexiconBaseline(), cases)
    assert rules["overall"]["f1"] >= 0.9
    assert rules["overall"]["f1"] > baseline["overall"]["f1"]
    assert rules["overall"]["precision"] > baseline["overall"]["precision"]
