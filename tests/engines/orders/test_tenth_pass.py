"""Tenth pass of the orders engine (issue 12): the general rules written after batch 12 was
retired to dev, each with guards for phrases that must not become orders (or must stay
orders). Precision first: current medicines and doses given elsewhere told as history,
another team's plan, results read by their verdict, a sodium salt, a safety-net "return if",
the patient written "Pt"; then a dose written before the name, ranges, rates, headings,
route switches, fluids and tests the tables lacked."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services

# --- history: doses given elsewhere, what the patient takes now ----------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Was given ceftriaxone 1 g in casualty",  # the known gap
        "Was given 2 g ceftriaxone in the emergency department",
        "Seen in A&E yesterday, given 1 g paracetamol and 10 mg oral morphine.",
        "Mum already taking paracetamol 1 g QDS since Tuesday.",
        "She takes omeprazole 20 mg OD already.",
        "Letter from the renal team: they have started sevelamer 800 mg TDS.",
        "On Tab Ecosprin 75 and Tab Storvas 20 from cardiologist since 2021.",
        "HTN on Tab Telma 40 OD.",
        "Home meds: lisinopril 20 daily, atorvastatin 40.",
        "Current medications per GP record: levothyroxine 75 micrograms OD.",
        "PMH: HTN, GERD. Meds: amlodipine 10, omeprazole 20.",
    ],
)
def test_history_with_a_dose_orders_nothing(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # an order verb, a discharge or a plan to give keeps the order
        ("Ceftriaxone 1 g IV to be given in ED now", [("ceftriaxone", "start", 1.0, "g")]),
        (
            "d/c home on Fostair 100/6 two puffs BD",
            [("beclomethasone / formoterol", "start", 2.0, "puff")],
        ),
        (
            "She will go home on cefdinir 300 mg twice a day",
            [("cefdinir", "start", 300.0, "mg")],
        ),
        ("Known HTN. Start Tab Telma 40 OD", [("telmisartan", "start", 40.0, "mg")]),
        ("Tab Dolo 650 on alternate days", [("acetaminophen", "start", 650.0, "mg")]),
        ("Dx: cellulitis. Meds: cephalexin 500 mg QID", [("cephalexin", "start", 500.0, "mg")]),
        # "we have started" is this team's order; "they have started" is told
        ("We have started amlodipine 5 mg OD", [("amlodipine", "start", 5.0, "mg")]),
    ],
)
def test_orders_beside_history_words_stay(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


def test_a_start_told_then_continued_is_a_continue(engine: RulesOrdersEngine) -> None:
    text = "Started on lansoprazole 30 mg OD by gastro last month - continue."
    assert order_meds(engine, text) == [("lansoprazole", "continue", 30.0, "mg")]
    assert order_meds(engine, "Started amlodipine 5 mg OD") == [("amlodipine", "start", 5.0, "mg")]


# --- someone else's plan ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Seen by the cardiology team, who plan to start ivabradine",
        "Orthogeriatrics have recommended starting zoledronic acid - for the GP to consider.",
        "ID recommends narrowing to cefazolin once sensitivities return",
        "CAG planned by cardiology on Monday",
    ],
)
def test_another_teams_plan_orders_nothing(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.is_empty and r.not_understood


def test_our_plan_beside_theirs_is_ordered(engine: RulesOrdersEngine) -> None:
    text = "Cardiology plan to start ivabradine. From our side: increase bisoprolol to 5 mg OD"
    assert order_meds(engine, text) == [("bisoprolol", "change", 5.0, "mg")]


# --- results and tests in hand ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "CT A/P read as unremarkable.",
        "Colonoscopy 2019 normal.",
        "Sputum CBNAAT sent yesterday, report awaited.",
        "Mantoux 14 mm.",
    ],
)
def test_results_order_nothing(engine: RulesOrdersEngine, text: str) -> None:
    assert order_services(engine, text) == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Send sputum CBNAAT. Mantoux test.", ["Mantoux test", "Sputum CBNAAT"]),
        ("Repeat colonoscopy in 2027", ["Colonoscopy"]),
        ("Send sodium, potassium", ["Potassium", "Sodium"]),
    ],
)
def test_tests_still_ordered(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


def test_a_sodium_salt_is_no_sodium_test(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Start sodium valproate 200 mg BD") == []
    assert order_meds(engine, "Start sodium valproate 200 mg BD")[0][1:] == ("start", 200.0, "mg")


def test_25_oh_vitamin_d_is_the_test_not_the_drug(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Recheck 25-OH vit D in 3 months.")
    assert r.medications == []
    assert [s.display for s in r.services] == ["Vitamin D level"]
    assert order_meds(engine, "Vit D3 60000 IU weekly")[0][2:] == (60000.0, "[iU]")


# --- follow-ups ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Appointment in 1 week.", (1.0, "wk")),
        ("Wound check in 2 days.", (2.0, "d")),
        ("Repeat home readings and phone back in 2 weeks.", (2.0, "wk")),
        ("Recheck HR and BP in clinic in 2/52.", (2.0, "wk")),
        ("should see her pediatrician in 3-5 days", (3.0, "d")),  # the earliest
    ],
)
def test_follow_ups_by_other_words(
    engine: RulesOrdersEngine, text: str, want: tuple[float, str]
) -> None:
    r = engine.extract(text)
    assert [(f.value, f.unit) for f in r.follow_ups] == [want]
    assert r.services == []  # "see her pediatrician" is her own doctor, not a referral


def test_a_safety_net_is_no_follow_up(engine: RulesOrdersEngine) -> None:
    assert engine.extract("Supportive care, return if fever > 3 days.").follow_ups == []
    r = engine.extract("Return to clinic in 3 days")
    assert [(f.value, f.unit) for f in r.follow_ups] == [(3.0, "d")]


def test_pt_before_a_verb_is_the_patient(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Pt wants second opinion, has brought reports.") == []
    assert order_services(engine, "Refer to PT for gait training") == ["Physiotherapy"]


# --- a dose written before the name -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Give 25 g glucose IV", [("dextrose", "start", 25.0, "g")]),  # the known gap
        ("40 mEq potassium chloride PO", [("potassium chloride", "start", 40.0, "meq")]),
        ("Give 500 mg paracetamol IV", [("acetaminophen", "start", 500.0, "mg")]),
        ("Give 500 mL LR IV bolus now.", [("ringer lactate", "start", 500.0, "mL")]),
        (
            "Metformin 500 mg BD and 5 mg glipizide OD",
            [("metformin", "start", 500.0, "mg"), ("glipizide", "start", 5.0, "mg")],
        ),
    ],
)
def test_a_dose_before_the_name(engine: RulesOrdersEngine, text: str, want: list[tuple]) -> None:
    assert order_meds(engine, text) == want


def test_a_strength_is_not_taken_from_the_drug_before(engine: RulesOrdersEngine) -> None:
    # "500 mg" is Shelcal's, not the vitamin's: no separator stands before it
    meds = order_meds(engine, "Tab Shelcal 500 mg Vitamin D3 60000 IU weekly")
    assert [m[2] for m in meds] == [500.0, 60000.0]


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("Oramorph oral solution 2.5-5 mg 2-hourly PRN", 2.5),
        ("oxycodone 5-10 mg PO q4h PRN pain", 5.0),
        ("oxycodone 5 to 10 mg PO q4h PRN pain", 5.0),
        ("Oramorph 2.5\u20135 mg PO 2-hourly PRN", 2.5),  # an en dash
        ("Tab Dolo 650 1-0-1 x 5-7 days", 650.0),
    ],
)
def test_a_dose_range_gives_its_lower_bound(
    engine: RulesOrdersEngine, text: str, dose: float
) -> None:
    assert order_meds(engine, text)[0][2] == dose


def test_a_rate_per_kg_is_no_dose(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "insulin regular infusion 0.1 units/kg/hr IV")[0][2] is None
    assert order_meds(engine, "ibuprofen 10 mg/kg PO q6h PRN fever")[0][2:] == (10.0, "mg/kg")


def test_a_daily_weight_based_dose_divided(engine: RulesOrdersEngine) -> None:
    text = "amoxicillin 90 mg/kg/day PO divided BID x 10 days"
    assert order_meds(engine, text) == [("amoxicillin", "start", 45.0, "mg/kg")]


def test_a_hold_of_a_bare_product_strength_gives_no_dose(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Pause Tab Warf 5 for 3 days") == [("warfarin", "hold", None, None)]
    # with its unit too, since the seventeenth pass (a hold carries no dose)
    assert order_meds(engine, "Hold warfarin 5 mg tonight") == [("warfarin", "hold", None, None)]


def test_prn_before_a_bracket_and_drops_as_gtt(engine: RulesOrdersEngine) -> None:
    r = engine.extract("codeine 30 mg QDS PRN (max 240 mg in 24 hrs)")
    assert r.medications[0].as_needed
    assert order_meds(engine, "Latanoprost 0.005% 1 gtt OU QHS") == [
        ("latanoprost", "start", 1.0, "drop")
    ]


# --- actions: headings, a route switch, "cont" --------------------------------------------


def test_list_headings_give_the_action(engine: RulesOrdersEngine) -> None:
    text = (
        "NEW: metoprolol succinate 25 mg PO daily\nCHANGED: furosemide 40 mg PO BID\n"
        "STOPPED: amlodipine\nCONTINUE: apixaban 5 mg PO BID"
    )
    assert [(m[0], m[1]) for m in order_meds(engine, text)] == [
        ("metoprolol", "start"),
        ("furosemide", "change"),
        ("amlodipine", "stop"),
        ("apixaban", "continue"),
    ]


def test_a_route_switch_of_one_drug_is_one_change(engine: RulesOrdersEngine) -> None:
    text = "Switch IV paracetamol to oral paracetamol 1 g QDS."
    r = engine.extract(text)
    assert order_meds(engine, text) == [("acetaminophen", "change", 1.0, "g")]
    assert r.not_understood == []
    two = order_meds(engine, "Switch from IV pantoprazole 40 mg q12h to omeprazole 20 mg daily")
    assert [(m[0], m[1]) for m in two] == [("pantoprazole", "stop"), ("omeprazole", "start")]


def test_cont_after_the_schedule_continues(engine: RulesOrdersEngine) -> None:
    text = "T. Metolar XR 25 1-0-0 cont; add T. Ramistar 2.5 0-0-1"
    assert order_meds(engine, text) == [
        ("metoprolol", "continue", 25.0, "mg"),
        ("ramipril", "start", 2.5, "mg"),
    ]


# --- vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Hartmann's 1000 mL IV over 8 hrs", "ringer lactate"),
        ("D50 25 g IV x1", "dextrose"),
        ("pred 40 mg OD for 5 days", "prednisolone"),
        ("Start Cerazette 1 tablet OD", "desogestrel"),
        ("Tab Enzoflam 1-0-1 x 5 days", "acetaminophen / diclofenac / serratiopeptidase"),
        ("START CO-CODAMOL 8/500 2 TABS QDS PRN", "acetaminophen / codeine"),
        ("Stopped: bendroflumethiazide.", "bendroflumethiazide"),
        ("Gaviscon Advance 10 mL QDS", "potassium bicarbonate / sodium alginate"),
        ("betadine gargles tds", "povidone iodine"),
    ],
)
def test_names_read(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m[0] for m in order_meds(engine, text)] == [name]


def test_household_gargles_stay_advice(engine: RulesOrdersEngine) -> None:
    for text in ("Warm saline gargles", "Salt water gargles"):
        r = engine.extract(text)
        assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Blood cx x2, urine cx, sputum cx", ["Blood culture", "Sputum culture", "Urine culture"]),
        ("CRP and a urine dip please.", ["CRP", "Urinalysis"]),
        ("FSBG AC and HS.", ["Glucose"]),
        ("Check fasting fingersticks daily.", ["Fasting blood glucose"]),
        ("serum hCG", ["Beta hCG"]),
        ("Urgent endocrine review.", ["Endocrinology"]),
        ("Plasma aldosterone and renin after 2 weeks.", ["Aldosterone", "Renin"]),
        ("UGI endoscopy with rapid urease test.", ["Rapid urease test", "Upper GI endoscopy"]),
        ("pneumococcal urine Ag", ["Pneumococcal urinary antigen"]),
    ],
)
def test_services_read(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


def test_an_aldosterone_antagonist_is_no_test(engine: RulesOrdersEngine) -> None:
    assert order_services(engine, "Start spironolactone, an aldosterone antagonist") == []
