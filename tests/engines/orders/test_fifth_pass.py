"""Fifth pass of the orders engine (issue 12): the general rules written after batch 7 was
retired to dev, each with guards for phrases that must not become orders."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_services


def _meds(engine: RulesOrdersEngine, text: str) -> list[tuple]:
    r = engine.extract(text)
    return [
        (
            m.name,
            m.dose,
            m.action,
            m.timing.frequency if m.timing else None,
            m.timing.periodUnit if m.timing else None,
        )
        for m in r.medications
    ]


@pytest.mark.parametrize(
    ("text", "name", "dose"),
    [
        ("Tab Thyrocab 10 mg 1-0-1", "carbimazole", 10),
        ("Tab Neo-Mercazole 5 mg OD", "carbimazole", 5),
        ("Tab Aldomet 250 mg TDS", "methyldopa", 250),
        ("Cap Absorica 20 mg OD", "isotretinoin", 20),
        ("Tab Lumerax 4 tabs BD x 3 days", "artemether / lumefantrine", 4),
        ("Tab Diclegis 2 tabs HS", "doxylamine / pyridoxine", 2),
        ("Inj Eprex 4000 IU SC weekly", "epoetin alfa", 4000),
        ("Calcichew-D3 Forte one tablet BD", "calcium carbonate / cholecalciferol", 1),
        ("Tab O2 1 tab BD", "ofloxacin / ornidazole", 1),
        ("Calcium acetate 667 mg TDS with meals", "calcium acetate", 667),
        ("Calcium gluconate 10% 10 mL IV stat", "calcium gluconate", 10),
        ("Lithium carbonate 400 mg HS", "lithium carbonate", 400),
        ("Pen VK 250 mg QDS", "penicillin v", 250),
        ("Dicloxacillin 500 mg QID", "dicloxacillin", 500),
    ],
)
def test_brands_and_salts(engine: RulesOrdersEngine, text: str, name: str, dose: float) -> None:
    got = _meds(engine, text)
    assert [(g[0], g[1]) for g in got] == [(name, dose)]


def test_precision_o2_is_only_a_brand_after_tab(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "O2 via nasal prongs to keep sats > 94%") == []
    assert _meds(engine, "Candid cream BD") == [("clotrimazole", None, "start", 2, "d")]


def test_count_and_schedule_after_a_comma_finish_the_drug(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "Flucloxacillin 500mg capsules, one four times a day for 7 days") == [
        ("flucloxacillin", 500, "start", 4, "d")
    ]
    assert _meds(engine, "Clenil Modulite 100 micrograms, two puffs twice daily") == [
        ("beclomethasone", 2, "start", 2, "d")
    ]
    assert _meds(engine, "spironolactone 25 mg, half a tablet once daily") == [
        ("spironolactone", 12.5, "start", 1, "d")
    ]
    assert _meds(engine, "Hydrocortisone 1% cream, apply thinly twice daily") == [
        ("hydrocortisone", None, "start", 2, "d")
    ]


def test_precision_a_trailing_clause_with_a_verb_or_words_is_not_a_schedule(
    engine: RulesOrdersEngine,
) -> None:
    # A step ("then restart"), and a clause with words of its own, are not the count.
    got = _meds(engine, "Prednisolone 40 mg OD, then restart 1 tab BD")
    assert got[0][:2] == ("prednisolone", 40)
    assert _meds(engine, "Metformin 500 mg, one of the kidney doctors said twice daily") == [
        ("metformin", 500, "start", None, None)
    ]


def test_release_suffix_before_a_bare_strength(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "Tab Ciplar LA 40 ½ tab OD")[0][:2] == ("propranolol", 20)
    assert _meds(engine, "venlafaxine XR 37.5 once a day")[0][:2] == ("venlafaxine", 37.5)


def test_a_count_is_not_also_the_strength(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "Tab Coartem 4 tabs BD x 3 days")[0][:2] == (
        "artemether / lumefantrine",
        4,
    )


def test_stop_with_the_product_strength_gives_no_dose(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "Stop Telma 40")[0][:3] == ("telmisartan", None, "stop")
    # A start keeps the bare strength as its dose; a stop with a unit gives none either since
    # the seventeenth pass (a stop carries no dose).
    assert _meds(engine, "Start Telma 40 OD")[0][:3] == ("telmisartan", 40, "start")
    assert _meds(engine, "Stop metformin 500 mg")[0][:3] == ("metformin", None, "stop")


def test_switch_to_starts_the_new_drug(engine: RulesOrdersEngine) -> None:
    got = _meds(engine, "stop the lisinopril and switch her to losartan 50 mg once a day")
    assert [(g[0], g[2]) for g in got] == [("lisinopril", "stop"), ("losartan", "start")]


def test_arrows_are_a_change(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "Amlodipine ↑ to 10 mg od")[0][2] == "change"
    assert _meds(engine, "Metoprolol ↓ to 25 mg BD")[0][2] == "change"


def test_prn_before_a_time(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Sildenafil 50 mg PO PRN 1 hour before activity")
    assert r.medications[0].as_needed is True
    assert engine.extract("Paracetamol 1 g q6h, 2 doses").medications[0].as_needed is False


def test_precision_while_on_names_no_order(engine: RulesOrdersEngine) -> None:
    got = _meds(engine, "Continue omeprazole 20 mg OD while on aspirin 75 mg")
    assert got == [("omeprazole", 20, "continue", 1, "d")]


def test_precision_medical_adjectives_are_not_drugs(engine: RulesOrdersEngine) -> None:
    assert _meds(engine, "refer to ophthalmology for baseline retinal screening") == []
    assert _meds(engine, "Ketorolac 15 mg IV once for renal colic")[0][0] == "ketorolac"


@pytest.mark.parametrize(
    ("text", "services"),
    [
        ("AM labs: CMP, Mg, phos, CBC", ["CBC", "CMP", "Magnesium", "Phosphorus"]),
        ("Check albumin and ALT", ["ALT", "Albumin"]),
        ("check bicarbonate and phosphorus", ["Bicarbonate", "Phosphorus"]),
        ("troponin, NT-proBNP", ["NT-proBNP", "Troponin"]),
        ("BNP today", ["BNP"]),
        ("procalcitonin", ["Procalcitonin"]),
        ("PSA; uroflowmetry", ["PSA", "Uroflowmetry"]),
        ("NT scan at 12 weeks; anomaly scan at 20 weeks", ["Anomaly scan", "NT scan"]),
        ("US RUQ", ["Abdominal ultrasound"]),
        ("Bilateral lower extremity arterial duplex and ABI", ["Ankle-brachial index",
                                                               "Arterial Doppler"]),
        ("sleep medicine referral", ["Sleep clinic"]),
        ("GI for urgent EGD", ["Gastroenterology", "Upper GI endoscopy"]),
        ("MSU sent", ["Urine culture"]),
        ("FIT test", ["Fecal immunochemical test"]),
        ("urate in 4 weeks", ["Uric acid"]),
        ("CT KUB; UA", ["CT KUB", "Urinalysis"]),
        ("Iron tabs; Hb after 1 month", ["Hemoglobin"]),
        ("alk phos and GGT", ["Alkaline phosphatase", "GGT"]),
    ],
)  # fmt: skip
def testorder_services(engine: RulesOrdersEngine, text: str, services: list[str]) -> None:
    assert order_services(engine, text) == services


@pytest.mark.parametrize(
    "text",
    [
        "Tab Metformin 500 mg BD",  # "mg" after a number is the unit
        "Magnesium sulfate 2 g IV over 1 hour",  # the drug, not the test
        "Sodium bicarbonate 650 mg PO TID",  # the drug, not serum bicarbonate
        "Albumin 20% 100 mL IV",  # IV albumin is a drug
        "Start urate-lowering therapy after the flare",
        "Ortho for fracture",  # a reason after "for", not a test
    ],
)
def test_precision_no_false_test(engine: RulesOrdersEngine, text: str) -> None:
    tests = [s.display for s in engine.extract(text).services if s.category != "referral"]
    assert tests == []


def test_follow_up_in_hours(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Transvaginal ultrasound; review in 48 hours")
    assert [(f.value, f.unit) for f in r.follow_ups] == [(48, "h")]


def test_a_level_right_after_the_drug_is_its_level(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Vanc 1.25 g IV q12h, trough before 4th dose")
    assert [s.display for s in r.services] == ["Vancomycin trough level"]
    r = engine.extract("Lithium 400 mg HS, level in 5 days")
    assert [s.display for s in r.services] == ["Lithium level"]
    # A result is not an order, nor is a level of a drug the table has no test for.
    assert engine.extract("Lithium 400 mg HS, levels are fine").services == []
    assert engine.extract("Metformin 500 mg BD, levels in 5 days").services == []


def test_a_short_test_after_with_in_a_follow_up(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Follow-up after 1 year with ECHO") == ["Echocardiogram"]
    assert order_services(engine, "Review in 1 month with Hb") == ["Hemoglobin"]
    # People and specialties seen at the visit are not tests.
    assert order_services(engine, "Follow up with PT in 2 weeks") == []
    assert order_services(engine, "Follow up in 2 weeks with ENT") == []


def test_a_sachet_named_first_is_counted_in_sachets(engine: RulesOrdersEngine) -> None:
    med = engine.extract("Sachet Econorm 1 BD x 5 days").medications[0]
    assert (med.dose, med.dose_unit) == (1, "sachet")


def test_a_follow_up_in_hours_is_due_in_whole_days() -> None:
    from datetime import date

    from carepipe.interop.fhir.orders import due_date

    assert due_date("2026-11-28", 48, "h") == date(2026, 11, 30)
    assert due_date("2026-11-28", 6, "h") == date(2026, 11, 28)
