"""RulesOrdersEngine: clauses, verbs, abbreviations, numbers, negation, spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.orders import OrdersEngine, OrderSet, RulesOrdersEngine
from carepipe.engines.orders import meds as meds_module
from carepipe.engines.orders.drugs import canonical_combination
from carepipe.engines.orders.lexicon import service_by_name

CASES = Path(__file__).resolve().parents[2] / "data" / "orders" / "cases.json"


@pytest.fixture(scope="module")
def engine() -> RulesOrdersEngine:
    return RulesOrdersEngine()


def _gold_service(s: dict) -> str:
    """A labelled service as the engine names it: its code, else the lexicon entry the
    label means (batch 6, written blind, says "ultrasound abdomen" for "Abdominal
    ultrasound"), as the benchmark compares them."""
    entry = None if s.get("code") else service_by_name(s["name"])
    if entry is None:
        return s.get("code") or s["name"].lower()
    return entry.code or entry.display.lower()


def _canon(name: str) -> str:
    """Canonical generic; a combination's ingredients in one order (labels and the engine
    may list "albuterol / ipratropium" either way round, as the benchmark allows)."""
    whole = lookup_medication(name)
    name = canonical_combination(whole) if whole else name
    parts = [p.strip() for p in name.lower().split("/") if p.strip()]
    return " / ".join(sorted((lookup_medication(p) or p).lower() for p in parts))


def _check_spans(text: str, result: OrderSet) -> None:
    for item in [*result.medications, *result.services, *result.follow_ups]:
        assert item.span is not None
        assert text[item.span.start : item.span.end] == item.text
        assert 0 <= item.confidence <= 1


def test_engine_satisfies_protocol(engine: RulesOrdersEngine) -> None:
    assert isinstance(engine, OrdersEngine)
    assert engine.name == "rules"
    assert engine.model_version == RulesOrdersEngine().model_version


def test_brief_example(engine: RulesOrdersEngine) -> None:
    text = "Start metformin 500 mg twice daily, order HbA1c and lipid panel, follow up in 3 months"
    r = engine.extract(text)
    assert len(r.medications) == 1
    med = r.medications[0]
    assert (med.name, med.dose, med.dose_unit, med.action) == ("metformin", 500, "mg", "start")
    assert med.timing is not None
    assert (med.timing.frequency, med.timing.period, med.timing.periodUnit) == (2, 1, "d")
    assert [(s.display, s.code, s.system) for s in r.services] == [
        ("HbA1c", "4548-4", "http://loinc.org"),
        ("Lipid panel", "57698-3", "http://loinc.org"),
    ]
    assert all(s.category == "laboratory" for s in r.services)
    assert [(f.value, f.unit) for f in r.follow_ups] == [(3, "mo")]
    assert r.not_understood == [] and r.negated == []
    assert (r.engine, r.model_version) == ("rules", engine.model_version)
    _check_spans(text, r)


def _dev_cases() -> list[dict]:
    return [c for c in json.loads(CASES.read_text())["cases"] if c["split"] == "dev"]


# Batch 6 (a blind holdout until 2026-11-28, now dev) cases the engine still misses: each
# a known gap (docs/orders.md), strict so that a fix must take its line out.
KNOWN_DEV_MISSES = {
    "h025": "'Stop Glyciphage 500': the label gives a stop no dose, the engine the strength",
    "h061": "'trough before 4th dose' after vancomycin is not read as its trough level",
    "h087": "'sliding scale AC&HS' gets a frequency; the label gives none",
    "h103": "'up to 100 a day': a dose with no unit after a change verb",
    "h147": "'with ECHO' in a follow-up sentence is not an order context",
}


def _dev_params() -> list:
    return [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEV_MISSES[c["id"]]))
        if c["id"] in KNOWN_DEV_MISSES
        else c
        for c in _dev_cases()
    ]


@pytest.mark.parametrize("case", _dev_params(), ids=lambda c: c["id"])
def test_dev_cases(engine: RulesOrdersEngine, case: dict) -> None:
    r = engine.extract(case["text"])
    exp = case["expected"]
    got_meds = sorted(
        (
            _canon(m.name),
            m.dose,
            m.action,
            m.timing.frequency if m.timing else None,
            m.timing.periodUnit if m.timing else None,
            m.as_needed,
        )
        for m in r.medications
    )
    want_meds = sorted(
        (
            _canon(m["name"]),
            m["dose"],
            m["action"],
            m["frequency"],
            m["period_unit"],
            m["as_needed"],
        )
        for m in exp["medications"]
    )
    assert got_meds == want_meds
    assert sorted(s.code or s.display.lower() for s in r.services) == sorted(
        _gold_service(s) for s in exp["services"]
    )
    assert sorted((f.value, f.unit) for f in r.follow_ups) == sorted(
        (f["value"], f["unit"]) for f in exp["follow_ups"]
    )
    negated = exp.get("negated", [])
    if negated is True:  # the issue-12 cases mark that something is negated
        assert r.negated
    else:
        for neg in negated:
            assert any(neg.lower() in n.lower() for n in r.negated)
    for fragment in exp.get("not_understood", []):
        assert any(fragment.lower() in n.lower() for n in r.not_understood)
    if exp.get("nothing_understood"):
        assert r.is_empty and (r.not_understood or r.negated)
    _check_spans(case["text"], r)


def test_spoken_numbers_keep_original_spans(engine: RulesOrdersEngine) -> None:
    text = "Start prednisone forty milligrams daily for five days. Review in two weeks."
    r = engine.extract(text)
    med = r.medications[0]
    assert (med.name, med.dose, med.dose_unit) == ("prednisone", 40, "mg")
    assert med.duration is not None and (med.duration.value, med.duration.unit) == (5, "d")
    assert "forty milligrams" in med.text
    assert [(f.value, f.unit) for f in r.follow_ups] == [(2, "wk")]
    assert r.follow_ups[0].text == "Review in two weeks"
    _check_spans(text, r)


@pytest.mark.parametrize(
    ("sig", "freq", "period", "unit", "when"),
    [
        ("bid", 2, 1, "d", None),
        ("b.i.d.", 2, 1, "d", None),
        ("tid", 3, 1, "d", None),
        ("qid", 4, 1, "d", None),
        ("qd", 1, 1, "d", None),
        ("od", 1, 1, "d", None),
        ("q8h", 1, 8, "h", None),
        ("every 12 hours", 1, 12, "h", None),
        ("hs", 1, 1, "d", ["HS"]),
        ("once weekly", 1, 1, "wk", None),
    ],
)
def test_frequency_abbreviations(
    engine: RulesOrdersEngine, sig: str, freq: int, period: float, unit: str, when: list | None
) -> None:
    r = engine.extract(f"Start atenolol 50 mg {sig}")
    timing = r.medications[0].timing
    assert timing is not None
    assert (timing.frequency, timing.period, timing.periodUnit) == (freq, period, unit)
    assert timing.when == when


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("amlodipine 5 mg po daily", "oral"),
        ("ceftriaxone 1 g iv daily", "intravenous"),
        ("enoxaparin 40 mg sc daily", "subcutaneous"),
    ],
)
def test_routes(engine: RulesOrdersEngine, text: str, route: str) -> None:
    assert engine.extract(text).medications[0].route == route


def test_prn_with_reason_and_period_range(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Oxycodone 5 mg po every 4 to 6 hours prn pain")
    med = r.medications[0]
    assert med.as_needed is True
    assert med.as_needed_for == "pain"
    assert med.timing is not None
    assert (med.timing.period, med.timing.periodMax, med.timing.periodUnit) == (4, 6, "h")


@pytest.mark.parametrize(
    ("verb", "action"),
    [
        ("Start", "start"),
        ("Begin", "start"),
        ("Prescribe", "start"),
        ("Give", "start"),
        ("Stop", "stop"),
        ("Discontinue", "stop"),
        # Issue 12: hold is its own action (MedicationRequest.status on-hold), not a stop.
        ("Hold", "hold"),
        ("Withhold", "hold"),
        ("Pause", "hold"),
        ("Increase", "change"),
        ("Decrease", "change"),
        ("Continue", "continue"),
    ],
)
def test_verbs(engine: RulesOrdersEngine, verb: str, action: str) -> None:
    r = engine.extract(f"{verb} amlodipine 10 mg daily")
    assert [m.action for m in r.medications] == [action]


def test_verb_carries_over_a_comma(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Stop lisinopril, amlodipine.")
    assert [(m.name, m.action) for m in r.medications] == [
        ("lisinopril", "stop"),
        ("amlodipine", "stop"),
    ]


def test_switch_stops_the_first_and_starts_the_second(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Switch from atenolol to bisoprolol 5 mg daily")
    assert [(m.name, m.action, m.dose) for m in r.medications] == [
        ("atenolol", "stop", None),
        ("bisoprolol", "start", 5),
    ]


def test_coordinated_services(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Check CBC, BMP and TSH; get a chest x-ray and an ECG")
    assert [s.display for s in r.services] == ["CBC", "BMP", "TSH", "Chest X-ray", "ECG"]
    assert [s.category for s in r.services] == [
        "laboratory",
        "laboratory",
        "laboratory",
        "imaging",
        "procedure",
    ]
    assert r.services[3].code is None  # no guessed codes for imaging


def test_two_drugs_in_one_clause_keep_their_own_signatures(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Start aspirin 75 mg daily and clopidogrel 75 mg daily")
    assert [(m.name, m.dose) for m in r.medications] == [("aspirin", 75), ("clopidogrel", 75)]


def test_negation_orders_nothing(engine: RulesOrdersEngine) -> None:
    text = "No need for a chest x-ray. Avoid NSAIDs."
    r = engine.extract(text)
    assert r.is_empty
    assert r.negated == ["No need for a chest x-ray", "Avoid NSAIDs"]
    assert r.not_understood == []


def test_negation_scope(engine: RulesOrdersEngine) -> None:
    # A cue after the order qualifies it; a cue before it declines it.
    r = engine.extract("Follow up in 3 months or sooner if no improvement")
    assert [(f.value, f.unit) for f in r.follow_ups] == [(3, "mo")]
    assert r.negated == []
    r = engine.extract("Order a CBC but not a chest x-ray. Do not start aspirin")
    assert [s.display for s in r.services] == ["CBC"]
    assert r.medications == []
    assert r.negated == ["not a chest x-ray", "Do not start aspirin"]


def test_reason_is_not_an_order(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Stop lisinopril because of high potassium")
    assert [m.action for m in r.medications] == ["stop"]
    assert r.services == []


def test_referral_needs_a_referral_context(engine: RulesOrdersEngine) -> None:
    assert engine.extract("Cardiology letter reviewed").services == []
    r = engine.extract("Refer to cardiology and dermatology")
    assert [(s.display, s.category) for s in r.services] == [
        ("Cardiology", "referral"),
        ("Dermatology", "referral"),
    ]


def test_nothing_understood_lists_every_clause(engine: RulesOrdersEngine) -> None:
    text = "The patient is feeling better. Blood pressure is fine, appetite good."
    r = engine.extract(text)
    assert r.is_empty
    assert r.not_understood == [
        "The patient is feeling better",
        "Blood pressure is fine",
        "appetite good",
    ]


def test_partly_understood(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Continue current medications. See me back in 2 months.")
    assert [(f.value, f.unit) for f in r.follow_ups] == [(2, "mo")]
    assert r.not_understood == ["Continue current medications"]


def test_empty_text(engine: RulesOrdersEngine) -> None:
    r = engine.extract("")
    assert r.is_empty and r.not_understood == [] and r.negated == []


def test_fallback_without_shared_nlp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meds_module, "_nlp_find", None)
    engine = RulesOrdersEngine()
    assert "+fallback." in engine.model_version
    r = engine.extract("Start metformin 500 mg bid and stop glipizide. Vitamin D 1000 units daily")
    assert [(m.name, m.dose, m.dose_unit, m.action) for m in r.medications] == [
        ("metformin", 500, "mg", "start"),
        ("glipizide", None, None, "stop"),
        ("vitamin d", 1000, "[iU]", "start"),
    ]
    assert r.medications[0].timing is not None and r.medications[0].timing.frequency == 2


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
@example("EIGHTEEN")  # a spoken number alone: normalised to "18", still words as sent
def test_any_text_gives_a_well_formed_result(text: str) -> None:
    r = RulesOrdersEngine().extract(text)
    for item in [*r.medications, *r.services, *r.follow_ups]:
        assert item.span is not None
        assert 0 <= item.span.start <= item.span.end <= len(text)
    if r.is_empty and any(ch.isascii() and ch.isalpha() for ch in text):
        assert r.not_understood or r.negated


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["metformin", "amlodipine", "atorvastatin", "omeprazole"]),
    st.integers(min_value=1, max_value=999),
    st.sampled_from(["mg", "mcg", "g"]),
    st.sampled_from([("bid", 2), ("tid", 3), ("qid", 4), ("daily", 1)]),
)
def test_generated_orders_round_trip(name: str, dose: int, unit: str, freq: tuple) -> None:
    r = RulesOrdersEngine().extract(f"Start {name} {dose} {unit} {freq[0]}")
    assert [(m.name, m.dose, m.dose_unit) for m in r.medications] == [(name, dose, unit)]
    assert r.medications[0].timing is not None
    assert r.medications[0].timing.frequency == freq[1]
