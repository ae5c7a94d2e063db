"""Issue 12: tablet counts, schedules, weekly/loading/taper doses, hold, shorthand, brands."""

from __future__ import annotations

import pytest

from carepipe.engines.nlp.lexicon.medications import GENERICS
from carepipe.engines.orders import MedicationOrder, RulesOrdersEngine
from carepipe.engines.orders.drugs import NAMES, find_names
from carepipe.engines.orders.rxnorm import VERIFIED, rxnorm_for


def _one(engine: RulesOrdersEngine, text: str) -> MedicationOrder:
    r = engine.extract(text)
    assert len(r.medications) == 1, (text, r.medications)
    med = r.medications[0]
    assert med.span is not None and text[med.span.start : med.span.end] == med.text
    return med


def _timing(med: MedicationOrder) -> tuple:
    t = med.timing
    return (t.frequency, t.period, t.periodUnit) if t else (None, None, None)


@pytest.mark.parametrize(
    ("text", "dose", "unit", "timing"),
    [
        ("Metoprolol 25 mg half tab BD", 12.5, "mg", (2, 1, "d")),
        ("Tab. Amlodipine 10 mg ½ tab OD", 5, "mg", (1, 1, "d")),
        ("Amlodipine 10 mg 1/2 tab daily", 5, "mg", (1, 1, "d")),
        ("Paracetamol 500 mg 2 tabs QID", 1000, "mg", (4, 1, "d")),
        (
            "take half a tablet of the amlodipine five milligram every morning",
            2.5,
            "mg",
            (1, 1, "d"),
        ),
        ("Tab Glycomet 500 1-0-1", 500, "mg", (2, 1, "d")),
        ("Tab Lasix 40 mg ½-0-0", 20, "mg", (1, 1, "d")),
        ("Tab metformin 500 mg 1-1-1-1", 500, "mg", (4, 1, "d")),
        ("Salbutamol inhaler 2 puffs q6h", 2, "puff", (1, 6, "h")),
        ("Fluticasone nasal spray 2 sprays OD", 2, "spray", (1, 1, "d")),
        ("Moxifloxacin eye drops 1 drop QID", 1, "drop", (4, 1, "d")),
        ("Vitamin D3 60,000 IU once weekly", 60000, "[iU]", (1, 1, "wk")),
        ("Methotrexate 15 mg weekly", 15, "mg", (1, 1, "wk")),
        ("Iron sucrose 200 mg IV alternate days", 200, "mg", (1, 2, "d")),
        ("Paracetamol 15 mg/kg q6h", 15, "mg/kg", (1, 6, "h")),
        ("Amoxicillin 250 mg/5 ml syrup 5 ml TDS", 5, "mL", (3, 1, "d")),
        ("Nitroglycerin 0.4 mg SL q5min", 0.4, "mg", (1, 5, "min")),
    ],
)
def test_dose_is_what_is_given_each_time(
    engine: RulesOrdersEngine, text: str, dose: float, unit: str, timing: tuple
) -> None:
    med = _one(engine, text)
    assert (med.dose, med.dose_unit) == (dose, unit)
    assert _timing(med) == timing


def test_strength_and_count_are_kept_beside_the_dose(engine: RulesOrdersEngine) -> None:
    med = _one(engine, "Metoprolol 25 mg half tab BD")
    assert (med.strength, med.strength_unit, med.form_count) == (25, "mg", 0.5)


def test_combination_strength_gives_no_single_dose(engine: RulesOrdersEngine) -> None:
    med = _one(engine, "Tab Janumet 50/500 BD")
    assert med.name == "sitagliptin / metformin" and med.brand == "Janumet"
    assert med.dose is None and _timing(med) == (2, 1, "d")


@pytest.mark.parametrize(
    "text",
    [
        "Ivermectin 12 mg once",
        "Lasix 40 mg IV x1 now",
        "Fluconazole 150 mg single dose",
        "Inj Dexona 8 mg IV stat",
    ],
)
def test_single_doses_have_count_one(engine: RulesOrdersEngine, text: str) -> None:
    med = _one(engine, text)
    assert med.timing is not None and med.timing.count == 1 and med.timing.frequency is None


def test_loading_dose_then_maintenance(engine: RulesOrdersEngine) -> None:
    med = _one(engine, "Clopidogrel 600 mg loading followed by 75 mg daily")
    assert (med.dose, med.timing.count if med.timing else None) == (600, 1)
    assert [(s.dose, _timing_of(s)) for s in med.steps] == [
        (600, None),
        (75, (1, 1, "d")),
    ]


def _timing_of(step) -> tuple | None:  # type: ignore[no-untyped-def]
    t = step.timing
    if t is None or t.frequency is None:
        return None
    return (t.frequency, t.period, t.periodUnit)


def test_taper_is_laid_out_step_by_step(engine: RulesOrdersEngine) -> None:
    med = _one(engine, "Prednisolone 30 mg OD x 1 week, then taper by 5 mg every week till stop")
    assert [s.dose for s in med.steps] == [30, 25, 20, 15, 10, 5]
    assert all(
        s.duration is not None and (s.duration.value, s.duration.unit) == (1, "wk")
        for s in med.steps
    )
    assert med.text.endswith("till stop")  # the whole instruction stays with the drug


def test_taper_to_a_floor_stops_there(engine: RulesOrdersEngine) -> None:
    med = _one(engine, "Prednisolone 60 mg OD, taper by 10 mg every 3 days to 20 mg")
    assert [s.dose for s in med.steps] == [60, 50, 40, 30, 20]


def test_titration_after_a_delay(engine: RulesOrdersEngine) -> None:
    med = _one(
        engine, "Start sertraline 50 mg daily, increase to 100 mg after 2 weeks if tolerated"
    )
    assert [(s.dose, s.duration.value if s.duration else None) for s in med.steps] == [
        (50, 2),
        (100, None),
    ]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("hold ramipril tonight", "hold"),
        ("Withhold metformin morning dose", "hold"),
        ("let's hold off on the metformin until the scan is done", "hold"),
        ("Warfarin hold x 2 days", "hold"),
        ("Lisinopril 10 mg daily - hold if SBP < 100", "start"),
        ("Taper off clonazepam over 4 weeks", "stop"),
        ("Cont. Tab Atorva 10 HS", "continue"),
        ("Rx amox 500 tid x7d", "start"),
    ],
)
def test_actions(engine: RulesOrdersEngine, text: str, action: str) -> None:
    assert _one(engine, text).action == action


@pytest.mark.parametrize(
    ("text", "name", "dose", "duration"),
    [
        ("Rx amox 500 tid x7d", "amoxicillin", 500, (7, "d")),
        ("Rx: doxy 100 bd x 14d", "doxycycline", 100, (14, "d")),
        ("Azithro 500 OD x 3 days", "azithromycin", 500, (3, "d")),
        ("KCl 20 mEq PO BID x 3 days", "potassium chloride", 20, (3, "d")),
        ("Tab Augmentin 625 BD x 5/7", "amoxicillin / clavulanate", 625, (5, "d")),
    ],
)
def test_shorthand(
    engine: RulesOrdersEngine, text: str, name: str, dose: float, duration: tuple
) -> None:
    med = _one(engine, text)
    assert (med.name, med.dose) == (name, dose)
    assert med.duration is not None and (med.duration.value, med.duration.unit) == duration


@pytest.mark.parametrize(
    ("text", "generic", "brand"),
    [
        ("Tab Crocin 650 SOS", "acetaminophen", "Crocin"),
        ("Tab Glycomet 500 BD", "metformin", "Glycomet"),
        ("Tab Telma 40 OD", "telmisartan", "Telma"),
        ("Cap Pantocid 40 mg OD", "pantoprazole", "Pantocid"),
        ("Tab Pan-D 1 OD", "pantoprazole / domperidone", "Pan-D"),
        ("Tab Telma-H 40 OD", "telmisartan / hydrochlorothiazide", "Telma-H"),
        ("Tab Dolo-650 1 tab TDS", "acetaminophen", "Dolo"),
    ],
)
def test_brands_map_to_generics_and_are_kept(
    engine: RulesOrdersEngine, text: str, generic: str, brand: str
) -> None:
    med = _one(engine, text)
    assert (med.name, med.brand) == (generic, brand)


def test_drug_names_joined_by_a_slash_are_one_product(engine: RulesOrdersEngine) -> None:
    med = _one(engine, "Albuterol/ipratropium nebs q6h")
    assert med.name == "albuterol / ipratropium" and med.route == "inhaled"


def test_longest_name_wins() -> None:
    (hit,) = find_names("Tab Montair LC 1 HS")
    assert hit.name.generic == "montelukast / levocetirizine" and hit.surface == "Montair LC"


def test_brand_table_entries_are_lower_case_generics() -> None:
    for pattern, name in NAMES.items():
        assert name.generic == name.generic.lower(), pattern
        for part in name.generic.split(" / "):
            assert part.strip() == part and part, pattern


def test_rxnorm_codes_agree_with_the_shared_lexicon() -> None:
    """Every code emitted is the shared NLP lexicon's code too (two independent records)."""
    for generic, (code, source) in VERIFIED.items():
        assert source in ("CPIC", "PUB")
        assert code.isdigit()
        assert GENERICS[generic]["rxnorm"] == code, generic


def test_codes_only_where_confirmed(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Start metformin 500 mg BD and telmisartan 40 mg OD; Tab Pan-D 1 OD")
    codes = {m.name: m.code for m in r.medications}
    assert codes == {
        "metformin": "6809",
        "telmisartan": None,  # not confirmed by two sources: text only
        "pantoprazole / domperidone": None,  # combinations get no ingredient code
    }
    assert rxnorm_for("Metformin") == "6809" and rxnorm_for("unknownium") is None


@pytest.mark.parametrize(
    ("text", "services", "not_understood"),
    [
        ("sputum AFB", ["Sputum AFB smear"], []),
        ("Order CBC, LFT and sputum xyz", ["CBC", "Hepatic function panel"], ["sputum xyz"]),
        (
            "Plan: FBS, PPBS, lipid profile, TFT",
            [
                "Fasting blood glucose",
                "Postprandial blood glucose",
                "Lipid panel",
                "Thyroid profile",
            ],
            [],
        ),
        ("S. creatinine, Hb, TLC, DLC, platelet count", ["Creatinine", "Hemoglobin", "CBC"], []),
        ("Insulin glargine 10 units HS; titrate to FBS < 130", [], []),
    ],
)
def test_nothing_is_dropped_silently(
    engine: RulesOrdersEngine, text: str, services: list[str], not_understood: list[str]
) -> None:
    r = engine.extract(text)
    assert [s.display for s in r.services] == services
    assert r.not_understood == not_understood


def test_unknown_drug_beside_a_known_one_is_reported(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Tab Xyzolin 10 mg OD and metformin 500 mg BD")
    assert [m.name for m in r.medications] == ["metformin"]
    assert any("Xyzolin" in t for t in r.not_understood)


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("f/u 1 month with FBS PPBS", 1, "mo"),
        ("Follow up 2/52", 2, "wk"),
        ("Review 3/12 with HbA1c", 3, "mo"),
        ("see me in a fortnight", 2, "wk"),
        ("Review in OPD after 5 days", 5, "d"),
        ("Come back after 1 week for suture removal", 1, "wk"),
    ],
)
def test_follow_up_shorthand(engine: RulesOrdersEngine, text: str, value: float, unit: str) -> None:
    r = engine.extract(text)
    assert [(f.value, f.unit) for f in r.follow_ups] == [(value, unit)]


def test_a_time_is_not_a_dose(engine: RulesOrdersEngine) -> None:
    """Found on the holdout: "24 h" was read as a 24 mg dose."""
    med = _one(engine, "Withhold enoxaparin 24 h before the procedure")
    assert (med.dose, med.action) == (None, "hold")


def test_an_ordinal_day_is_not_a_follow_up_interval(engine: RulesOrdersEngine) -> None:
    """Found on the holdout: "on 5th day" gave a follow-up in 1 year ("a" + "y")."""
    r = engine.extract("Come for review on 5th day")
    assert r.follow_ups == [] and r.not_understood == ["Come for review on 5th day"]
