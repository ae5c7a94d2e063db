"""Third pass (issue 12, 2026-11-28): wider vocabulary and general grammar rules.

Each rule in general form, with a guard that it does not fire where it should not
(precision): names that are English words, history, imperatives that end a course.
"""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine


def _meds(engine: RulesOrdersEngine, text: str) -> list[tuple[str, float | None, str]]:
    return [(m.name, m.dose, m.action) for m in engine.extract(text).medications]


def _services(engine: RulesOrdersEngine, text: str) -> list[str]:
    return [s.display for s in engine.extract(text).services]


# --- vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("Tab pitavastatin 2 mg HS", "pitavastatin"),  # was read as pravastatin
        ("Cap cycloserine 250 mg BD", "cycloserine"),  # was read as cyclosporine
        ("Start methadone 10 mg OD", "methadone"),
        ("Tab roflumilast 500 mcg OD", "roflumilast"),
        ("Inj teicoplanin 400 mg IV OD", "teicoplanin"),
        ("Tab dolutegravir 50 mg OD", "dolutegravir"),
        ("Inj vit K 10 mg IV stat", "phytonadione"),
        ("CoQ10 100 mg OD", "ubidecarenone"),
    ],
)
def test_more_generics(engine: RulesOrdersEngine, text: str, generic: str) -> None:
    (med,) = engine.extract(text).medications
    assert med.name == generic


@pytest.mark.parametrize(
    ("text", "generic", "brand"),
    [
        ("Tab Rantac 150 mg BD", "ranitidine", "Rantac"),
        ("Inj Taxim 1 g IV BD", "cefotaxime", "Taxim"),  # Taxim-O is cefixime
        ("Tab Taxim-O 200 BD", "cefixime", "Taxim-O"),
        ("Tab Urimax D HS", "tamsulosin / dutasteride", "Urimax D"),
        ("Tab Mobic 7.5 mg OD", "meloxicam", "Mobic"),
        ("Tab Ovral L 1 OD", "levonorgestrel / ethinyl estradiol", "Ovral L"),
        ("Syp Ascoril LS 5 ml TDS", "ambroxol / levosalbutamol / guaifenesin", "Ascoril LS"),
    ],
)
def test_more_brands(engine: RulesOrdersEngine, text: str, generic: str, brand: str) -> None:
    (med,) = engine.extract(text).medications
    assert (med.name, med.brand) == (generic, brand)


def test_a_brand_of_insulin_reads_units(engine: RulesOrdersEngine) -> None:
    (med,) = engine.extract("Inj Huminsulin R 8 units before breakfast").medications
    assert (med.name, med.dose, med.dose_unit) == ("insulin regular", 8, "[iU]")


@pytest.mark.parametrize(
    "text",
    # "Inj albumin 20% 100 ml IV" left this list in the thirteenth pass: IV albumin is read
    # as the drug it is (test_thirteenth_pass.py)
    ["pari passu", "Pause and review", "bandy legs", "1 gtt TDS"],
)
def test_english_words_are_not_orders(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.services == []


@pytest.mark.parametrize(
    ("text", "display"),
    [
        ("Order anti-TPO antibodies", "Anti-TPO antibodies"),
        ("Derm referral for eczema", "Dermatology"),
        ("Pulm consult", "Pulmonology"),
        ("Order HIDA scan", "HIDA scan"),
        ("CBG QID", "Capillary blood glucose"),
        ("Order serum albumin", "Albumin"),
        ("Slit lamp exam", "Slit lamp examination"),
    ],
)
def test_more_services(engine: RulesOrdersEngine, text: str, display: str) -> None:
    assert _services(engine, text) == [display]


def test_malaria_smear_and_antigen_are_two_tests(engine: RulesOrdersEngine) -> None:
    text = "Blood smear for MP, rapid malaria antigen"
    assert _services(engine, text) == ["Malaria parasite test", "Malaria antigen"]


def test_a_biopsy_report_is_not_an_order(engine: RulesOrdersEngine) -> None:
    assert _services(engine, "Oncology referral with the biopsy report") == ["Oncology"]


# --- grammar ------------------------------------------------------------------------------


def test_history_orders_nothing_and_is_listed(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Known case of DM on insulin")
    assert r.medications == [] and r.not_understood == ["Known case of DM on insulin"]
    r = engine.extract("K/c/o HTN on amlodipine 5 mg. Start atorvastatin 10 mg HS")
    assert [(m.name, m.action) for m in r.medications] == [("atorvastatin", "start")]


def test_an_order_verb_after_history_still_orders(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "s/p PCI, continue aspirin 75 mg OD") == [("aspirin", 75, "continue")]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("Tab Ecosprin 75 mg - continue", "continue"),
        ("Metformin 500 mg BD - stop", "stop"),
        ("Telma 40 stopped", "stop"),
        ("Tab Glycomet 500 increased to 1-0-1", "change"),
        ("Tab azithromycin 500 mg OD x 3 days then stop", "start"),  # the course ends
        ("Tab Ecosprin 75 mg OD - to continue lifelong", "start"),  # a duration
    ],
)
def test_a_verb_after_the_dose(engine: RulesOrdersEngine, text: str, action: str) -> None:
    ((_, _, got),) = _meds(engine, text)
    assert got == action


def test_except_leaves_a_drug_out_of_a_hold(engine: RulesOrdersEngine) -> None:
    text = "Hold all oral meds except levothyroxine"
    assert _meds(engine, text) == [("levothyroxine", None, "continue")]
    text = "Continue home meds except hold lisinopril"  # its own verb after "except"
    assert _meds(engine, text) == [("lisinopril", None, "hold")]


def test_switch_a_to_b_without_from(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "Switch Atorva to Rosuvas 20 HS") == [
        ("atorvastatin", None, "stop"),
        ("rosuvastatin", 20, "start"),
    ]
    assert _meds(engine, "Replace ranitidine with pantoprazole 40 mg OD") == [
        ("ranitidine", None, "stop"),
        ("pantoprazole", 40, "start"),
    ]
    # Two changes in one sentence are not a switch.
    assert _meds(engine, "Change insulin glargine to 24 units and metformin to 1 g BD") == [
        ("insulin glargine", 24, "change"),
        ("metformin", 1, "change"),
    ]


def test_a_change_from_one_dose_to_another_takes_the_new(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Increase levothyroxine from 50 mcg to 75 mcg OD")
    (med,) = r.medications
    assert (med.dose, med.dose_unit, med.action) == (75, "mcg", "change")


def test_a_test_after_until_is_a_condition(engine: RulesOrdersEngine) -> None:
    assert _services(engine, "Hold diuretics until creatinine improves") == []
    assert _services(engine, "Pause spironolactone until K+ is rechecked") == ["Potassium"]


def test_a_trailing_schedule_clause(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Tab Deplatt 75 + Tab Ecosprin 75, both once daily after lunch")
    assert [(m.timing.frequency if m.timing else None) for m in r.medications] == [1, 1]
    (med,) = engine.extract(
        "Iron sucrose 200 mg in 100 ml NS over 30 min, twice weekly"
    ).medications
    assert med.timing is not None
    assert (med.timing.frequency, med.timing.periodUnit) == (2, "wk")
    # A step ("then restart 3 mg OD") is not a schedule for the hold before it.
    (med,) = engine.extract("Warfarin hold x 2 days then restart 3 mg OD").medications
    assert med.action == "hold" and med.timing is None
