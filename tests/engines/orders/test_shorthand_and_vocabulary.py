"""Second pass on shorthand and vocabulary (issue 12, dev batch 5): each rule in general
form, beyond the corpus sentences that showed the gap."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("Tab Met XL 50 ½ tab OD", 25),  # strength, then half a tablet
        ("Tab Lasix 40 mg 1½ tab OD", 60),  # one and a half tablets
        ("Tab Lasix 40 mg 1 ½ tab OD", 60),  # the same with a space
        ("Tab Glimepiride 2 mg ½ tab OD", 1),
    ],
)
def test_fractions_after_a_strength(engine: RulesOrdersEngine, text: str, dose: float) -> None:
    (med,) = engine.extract(text).medications
    assert med.dose == dose


@pytest.mark.parametrize(
    ("text", "period", "period_max"),
    [
        ("Inj Pan 40 mg IV 12 hourly", 12, None),
        ("Inj Emeset 4 mg IV 8th hourly SOS", 8, None),
        ("Inj Tramadol 50 mg IV 6-8 hrly prn pain", 6, 8),
    ],
)
def test_n_hourly(
    engine: RulesOrdersEngine, text: str, period: float, period_max: float | None
) -> None:
    (med,) = engine.extract(text).medications
    assert med.timing is not None
    assert (med.timing.frequency, med.timing.period, med.timing.periodUnit) == (1, period, "h")
    assert med.timing.periodMax == period_max


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [("Tab Dolo 650 TDS \u00d7 3 days", 3, "d"), ("T. Pan 40 OD BBF x 1 mth", 1, "mo")],
)
def test_duration_shorthand(engine: RulesOrdersEngine, text: str, value: float, unit: str) -> None:
    (med,) = engine.extract(text).medications
    assert med.duration is not None
    assert (med.duration.value, med.duration.unit) == (value, unit)


@pytest.mark.parametrize(
    ("text", "dose", "unit"),
    [
        ("Inj Voveran 1 amp IM stat", 1, "ampoule"),
        ("Syp Crocin 1 tsf TDS", 1, "teaspoon"),
        ("Syp Lactulose 1 tbsp HS", 1, "tablespoon"),
    ],
)
def test_liquid_and_injection_counts_are_not_tablets(
    engine: RulesOrdersEngine, text: str, dose: float, unit: str
) -> None:
    (med,) = engine.extract(text).medications
    assert (med.dose, med.dose_unit) == (dose, unit)


def test_after_meals_is_three_times_a_day(engine: RulesOrdersEngine) -> None:
    (med,) = engine.extract("Tab Dolo 650 mg PC x 5 days").medications
    assert med.timing is not None
    assert (med.timing.frequency, med.timing.when) == (3, ["PC"])


@pytest.mark.parametrize(
    "text",
    [
        "Tab Ecosprin 75 mg, Tab Atorva 10 mg both HS",
        "Tab Telma 40, Tab Amlong 5 - each OD after breakfast",
    ],
)
def test_one_schedule_for_the_list(engine: RulesOrdersEngine, text: str) -> None:
    meds = engine.extract(text).medications
    assert len(meds) == 2
    for med in meds:
        assert med.timing is not None and med.timing.frequency == 1


def test_a_schedule_is_not_shared_without_all_each_both(engine: RulesOrdersEngine) -> None:
    first, second = engine.extract("Tab Ecosprin 75 mg, Tab Atorva 10 mg HS").medications
    assert first.timing is None
    assert second.timing is not None


@pytest.mark.parametrize(
    ("text", "service"),
    [("vit D levels", "Vitamin D level"), ("Vitamin D3 level before next visit", None)],
)
def test_a_drug_level_is_not_a_drug_order(
    engine: RulesOrdersEngine, text: str, service: str | None
) -> None:
    r = engine.extract(text)
    assert r.medications == []
    if service is not None:
        assert [s.display for s in r.services] == [service]


def test_digoxin_level_is_a_test_not_the_drug(engine: RulesOrdersEngine) -> None:
    # Listed as not understood until the twelfth pass added the table's digoxin level.
    r = engine.extract("digoxin level tomorrow")
    assert r.medications == []
    assert [s.display for s in r.services] == ["Digoxin level"]


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("R/V after 15 days", 15, "d"),
        ("TCA after 2 weeks", 2, "wk"),
        ("Review after 1 mth", 1, "mo"),
    ],
)
def test_follow_up_abbreviations(
    engine: RulesOrdersEngine, text: str, value: float, unit: str
) -> None:
    (fu,) = engine.extract(text).follow_ups
    assert (fu.value, fu.unit) == (value, unit)


@pytest.mark.parametrize(
    ("text", "generic", "brand"),
    [
        ("Dolo650 sos", "acetaminophen", "Dolo"),
        ("Tab Levocet 5 mg 0-0-1", "levocetirizine", "Levocet"),
        ("Tab Meftal Spas 1 tab SOS", "mefenamic acid / dicyclomine", "Meftal Spas"),
        ("Syp Ambrodil 5 ml TDS", "ambroxol", "Ambrodil"),
        ("Tab Arkamin 0.1 mg BD", "clonidine", "Arkamin"),
        ("Tab Limcee 500 mg OD", "ascorbic acid", "Limcee"),
    ],
)
def test_brands(engine: RulesOrdersEngine, text: str, generic: str, brand: str) -> None:
    (med,) = engine.extract(text).medications
    assert (med.name, med.brand) == (generic, brand)


@pytest.mark.parametrize(
    ("text", "generic"),
    [
        ("Rx amlo 5 od", "amlodipine"),
        ("PCM 500 mg sos", "acetaminophen"),
        ("Tab HCQS 200 mg BD", "hydroxychloroquine"),
        ("Pip-taz 4.5 g IV q6h", "piperacillin / tazobactam"),
        ("Tab Metro 400 TDS x 5 days", "metronidazole"),
        ("Tab Itopride 50 mg TDS", "itopride"),
    ],
)
def test_abbreviations_and_generics(engine: RulesOrdersEngine, text: str, generic: str) -> None:
    (med,) = engine.extract(text).medications
    assert med.name == generic


@pytest.mark.parametrize(
    "text",
    ["NS1 antigen for dengue", "Dengue NS1"],
)
def test_abbreviations_need_their_context(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).medications == []


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("CECT thorax", ["CT chest"]),
        ("Typhidot and Widal", ["Typhidot", "Widal test"]),
        ("Dengue NS1, dengue IgM; MP card test", None),
        ("Blood urea, serum creatinine", ["Blood urea", "Creatinine"]),
        ("Stool for H. Pylori antigen, UBT", ["H. pylori test"]),
        ("FT3, FT4, TSH", ["Free T3", "Free T4", "TSH"]),
        ("Psych consult re: low mood", ["Psychiatry"]),
        ("Gynae consult", ["Obstetrics and gynecology"]),
        ("Dental referral for caries", ["Dentistry"]),
        ("Peds opinion", ["Pediatrics"]),
    ],
)
def test_tests_studies_referrals_fully_read(
    engine: RulesOrdersEngine, text: str, services: list[str] | None
) -> None:
    r = engine.extract(text)
    if services is None:
        assert {s.display for s in r.services} == {
            "Dengue NS1 antigen",
            "Dengue IgM antibody",
            "Malaria parasite test",
        }
    else:
        assert [s.display for s in r.services] == services
    assert r.not_understood == []


@pytest.mark.parametrize(
    ("text", "services", "listed"),
    [
        # one electrodiagnostic study since the sixteenth pass (batch 18's e098 labels it so)
        ("EMG/NCV both lower limbs", ["EMG/nerve conduction study"], ["lower limbs"]),
        ("FNAC of the neck swelling", ["FNAC"], ["neck swelling"]),
    ],
)
def test_a_site_we_do_not_read_is_listed(
    engine: RulesOrdersEngine, text: str, services: list[str], listed: list[str]
) -> None:
    r = engine.extract(text)
    assert [s.display for s in r.services] == services
    assert r.not_understood == listed


@pytest.mark.parametrize(
    "text",
    [
        "Gyn history: regular cycles",
        "Dental caries noted on exam",
        "Uro symptoms resolved",
        "Cue to call if worse",
    ],
)
def test_specialty_words_outside_a_referral_order_nothing(
    engine: RulesOrdersEngine, text: str
) -> None:
    assert engine.extract(text).services == []


def test_drugs_joined_by_plus_share_the_schedule(engine: RulesOrdersEngine) -> None:
    first, second = engine.extract("Neb Levolin 1 respule + Budecort 1 respule TDS").medications
    for med in (first, second):
        assert med.timing is not None and med.timing.frequency == 3
        assert (med.dose, med.dose_unit) == (1, "respule")


def test_saline_that_carries_a_drug_is_not_an_order(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Inj Iron sucrose 200 mg IV in 100 ml NS over 30 min")
    assert [(m.name, m.dose) for m in r.medications] == [("iron sucrose", 200)]
    assert r.not_understood == []
    (saline,) = engine.extract("NS 500 ml IV over 4 hours").medications
    assert (saline.name, saline.dose, saline.dose_unit) == ("sodium chloride", 500, "mL")


def test_single_dose_at_bedtime_is_one_dose(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Tab Zentel 400 mg HS single dose")
    (med,) = r.medications
    assert med.timing is not None
    assert (med.timing.count, med.timing.frequency) == (1, None)
    assert r.not_understood == []


@pytest.mark.parametrize(
    ("text", "dose", "unit"),
    [
        ("Tab Rocaltrol 0.25 OD", 0.25, "mcg"),  # a strength below one, not a quarter tablet
        ("Tab Alprax 0.25 HS", 0.25, "mg"),
        ("Tab Glycomet GP 1 1-0-1", 1, "tablet"),  # a tablet count
    ],
)
def test_bare_number_strength_or_count(
    engine: RulesOrdersEngine, text: str, dose: float, unit: str
) -> None:
    (med,) = engine.extract(text).medications
    assert (med.dose, med.dose_unit) == (dose, unit)


@pytest.mark.parametrize(
    "text",
    [
        "Be candid with the patient about the prognosis",  # "Candid" is a brand only as a product
        "Cut down on salt and sugar",  # "cut" changes a drug, it is not one
        "Known CKD on dialysis, review in 3 months",  # history, not a dialysis order
        "Keep the dressing dry",  # only "wound dressing" / "dressing change" is ordered
        "IV Ringer's lactate 500 ml over 4 hours",  # the fluid, not a lactate test
    ],
)
def test_new_vocabulary_needs_its_context(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    names = {m.name for m in r.medications}
    assert names <= {"ringer lactate"}
    assert not r.services


def test_every_generic_of_the_wider_table_is_read_with_its_dose(engine: RulesOrdersEngine) -> None:
    from carepipe.engines.nlp.lexicon.wider_medications import WIDER_GENERICS

    for generic in WIDER_GENERICS:
        (med,) = engine.extract(f"Start {generic} 5 mg OD").medications
        assert (med.name, med.dose, med.dose_unit) == (generic, 5.0, "mg"), generic
