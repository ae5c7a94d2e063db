"""Fourteenth pass of the orders engine (issue 12): the general rules written after batch 16
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: a study sent with a letter, awaited, performed, done elsewhere, judged in
the past or not attended, an appointment already made, an offer declined, a stop told with its
agent, what a drug did to the patient, what the patient did with it (missed, tried, took
before a complaint), the topic of a talk or a leaflet, the drug an interaction is with,
the test a titration follows, who saw the patient, a service told for its effect, a
referral made before, a value before a dash, a visit "ago", what the patient carries.
Then recall: "All to continue", a trailing
"- continue", a time of day with "repeat after 1 week", OM/ON before a reason, "every
other week", a falling strength pair, a PRN threshold with its unit, "when required" after
a comma, and vocabulary."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig_prn

# --- precision: what is told, not ordered ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("I have started aspirin 75 mg daily. His resting ECG from today is enclosed.", []),
        ("Copy of his MRI report attached.", []),
        ("Awaiting MRI spine.", []),
        ("MRI spine awaited.", []),
        ("Ferritin 8 - iron deficiency.", []),
        ("Titrate allopurinol by 100 mg every 4 weeks guided by serum urate.", []),
        ("Seen by physio last week.", []),
        ("Pain improved with physiotherapy.", []),
        ("Physiotherapy has helped.", []),
        ("Was referred to cardiology last year.", []),
        ("Echocardiogram was performed on the ward.", []),
        ("ECG has been done.", []),
        ("ECG obtained at triage.", []),
        ("Urine culture sent from clinic on Monday.", []),
        ("Spirometry confirmed COPD.", []),
        ("DNA for colonoscopy twice.", []),
        ("Has an appointment with ENT next week.", []),
        ("Was offered physiotherapy but declined.", []),
        ("Flu vaccine offered, declined.", []),
        # guards: still ordered
        ("Repeat ECG today.", ["ECG"]),
        ("Check serum urate in 4 weeks.", ["Uric acid"]),
        ("Awaiting MRI; refer to physiotherapy.", ["Physiotherapy"]),
        ("Referred to cardiology.", ["Cardiology"]),
        ("Echo needs to be done.", ["Echocardiogram"]),
        ("Spirometry to confirm COPD.", ["Spirometry"]),
        ("Book an appointment with ENT.", ["ENT"]),
        ("Refer to physio, but declined a leaflet.", ["Physiotherapy"]),
        ("Refer to rheumatology; seen by GP last week.", ["Rheumatology"]),
    ],
)
def test_studies_in_hand_and_services_had_are_no_order(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("I note that ramipril was stopped by the renal team in March.", []),
        ("Aspirin was discontinued by the cardiologist in 2021.", []),
        ("Metformin was stopped by the diabetes nurse last month.", []),
        ("Metformin caused diarrhoea.", []),
        ("Ibuprofen makes her asthma worse.", []),
        ("Was admitted in March with pneumonia and given co-amoxiclav.", []),
        ("Discussed the risks of warfarin.", []),
        ("Information leaflet on metformin given.", []),
        ("Advised regarding paracetamol dosing.", []),
        ("Pt c/o gastritis after taking Tab Brufen.", []),
        ("Last dose of apixaban was yesterday evening.", []),
        ("Missed two doses of levothyroxine.", []),
        ("Overdose of paracetamol 20 tablets.", []),
        ("Tried omeprazole with no effect.", []),
        ("Uses salbutamol 2-3 times a week.", []),
        ("Carries a GTN spray.", []),
        ("Has a salbutamol inhaler at home.", []),
        (
            "Switch omeprazole to lansoprazole 15 mg daily because of the interaction with "
            "clopidogrel.",
            ["omeprazole", "lansoprazole"],
        ),
        # guards: still ordered
        ("Stop amlodipine - caused ankle swelling.", ["amlodipine"]),
        ("Switch to metformin XR as the standard tablets caused diarrhoea.", ["metformin"]),
        ("Discussed with patient; start metformin 500 mg BD.", ["metformin"]),
        ("Stop ramipril.", ["ramipril"]),
        ("I suggested she uses salbutamol 2 puffs PRN.", ["albuterol"]),
        ("Give last dose of ceftriaxone tomorrow.", ["ceftriaxone"]),
        ("Naloxone 4 mg nasal spray, 1 spray PRN opioid overdose.", ["naloxone"]),
        ("Tried omeprazole; start lansoprazole 30 mg OD.", ["lansoprazole"]),
        ("Prescribe GTN spray to keep at home.", ["nitroglycerin"]),
        ("Advised to take paracetamol 1 g QDS PRN.", ["acetaminophen"]),
    ],
)
def test_drugs_told_discussed_or_blamed_are_no_order(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert [m[0] for m in order_meds(engine, text)] == want


# --- recall and signatures --------------------------------------------------------------------


def test_all_to_continue_continues_the_drugs_listed_without_a_verb(
    engine: RulesOrdersEngine,
) -> None:
    text = "Tab Met XL 25 1-0-0\nTab Storvas 20 0-0-1\nAll to continue."
    assert [m[1] for m in order_meds(engine, text)] == ["continue", "continue"]
    # a drug with its own verb keeps it
    assert [m[1] for m in order_meds(engine, "Start metformin 500 mg BD. All to continue.")] == [
        "start"
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "levothyroxine 50 micrograms OD and amlodipine 5 mg OD - continue.",
            ["continue", "continue"],
        ),
        # guard: a verb before the list keeps it (no trailing rule applies)
        ("Start metformin 500 mg BD and amlodipine 5 mg OD - continue.", ["start", "start"]),
    ],
)
def test_a_trailing_continue_goes_on_with_each_drug_of_its_clause(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert [m[1] for m in order_meds(engine, text)] == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "Permethrin 5% cream - apply neck down at night, repeat after 1 week",
            ("permethrin", "start", None, None, None, False),
        ),
        (
            "Albendazole 400 mg at bedtime, repeat in 2 weeks",
            ("albendazole", "start", 400.0, "mg", None, False),
        ),
        (  # guard: a review is no repeat
            "Amitriptyline 10 mg at night, review in 2 weeks",
            ("amitriptyline", "start", 10.0, "mg", (1, 1.0, "d"), False),
        ),
        (
            "Reduce bisoprolol to 2.5 mg OM as resting HR 52",
            ("bisoprolol", "change", 2.5, "mg", (1, 1.0, "d"), False),
        ),
        (
            "Humira 40 mg SC every other week",
            ("adalimumab", "start", 40.0, "mg", (1, 2.0, "wk"), False),
        ),
        (
            "Methotrexate 15 mg fortnightly",
            ("methotrexate", "start", 15.0, "mg", (1, 2.0, "wk"), False),
        ),
        (
            "Lisinopril-hydrochlorothiazide 20-12.5 mg PO daily",
            ("lisinopril / hydrochlorothiazide", "start", None, None, (1, 1.0, "d"), False),
        ),
        (  # guard: a rising pair is a range, read at its low end
            "Metoprolol 25-50 mg BID",
            ("metoprolol", "start", 25.0, "mg", (2, 1.0, "d"), False),
        ),
        (
            "Lorazepam 1 mg IV q5min PRN seizure lasting > 5 min, max 2 doses.",
            ("lorazepam", "start", 1.0, "mg", (1, 5.0, "min"), True),
        ),
        (
            "Calpol 120 mg/5 ml suspension, 10 ml every 4-6 hours when required.",
            ("acetaminophen", "start", 10.0, "mL", (1, 4.0, "h"), True),
        ),
    ],
)
def test_signatures(engine: RulesOrdersEngine, text: str, want: tuple) -> None:
    assert order_sig_prn(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Tab Livogen 1 OD x 3 months", "ferrous fumarate / folic acid"),
        ("Co-careldopa 12.5/50 one tablet three times daily", "carbidopa / levodopa"),
        ("Calcipotriol/betamethasone gel once daily", "betamethasone / calcipotriene"),
        ("Dovobet gel once daily", "betamethasone / calcipotriene"),
        ("Etanercept 50 mg SC weekly", "etanercept"),
        ("Hold heparin gtt x 1 hour", "heparin"),
    ],
)
def test_new_drug_names(engine: RulesOrdersEngine, text: str, want: str) -> None:
    assert [m[0] for m in order_meds(engine, text)] == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2WW referral to colorectal for iron deficiency anaemia.", ["General surgery"]),
        ("Refer to physiotherapy and orthotics.", ["Orthotics", "Physiotherapy"]),
        ("Please swab the wound.", ["Wound swab culture"]),
        ("CECT abdomen. Surgery reference.", ["CT abdomen", "General surgery"]),
        ("Referral to tobacco cessation program.", ["Smoking cessation"]),
        ("Widal, CBC, MP", ["CBC", "Malaria parasite test", "Widal test"]),
        # guards
        ("Due for colorectal cancer screening - referred to GI.", ["Gastroenterology"]),
        ("Clean and swab the wound with betadine daily", []),
        ("Start IV MP 500 mg", []),
        ("Hb 10.2 (reference range 12-16).", []),
    ],
)
def test_new_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Reviewed in clinic 3 months ago by Dr Shah.", []),
        ("Follow-up was 2 weeks ago.", []),
        ("Review in 3 months.", [(3.0, "mo")]),  # guard
    ],
)
def test_a_visit_past_books_no_follow_up(
    engine: RulesOrdersEngine, text: str, want: list[tuple[float, str]]
) -> None:
    assert [(f.value, f.unit) for f in engine.extract(text).follow_ups] == want
