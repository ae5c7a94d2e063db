"""Thirteenth pass of the orders engine (issue 12): the general rules written after batch 15
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first: "Hx of" and a clause opening "On <drug>" as history, "treated with" and
"given today", the topic of counselling, a home measurement, a test already read ("today's
ECG"), a test as a condition ("resume if creatinine stable"), a value after a referral's
colon, a test timed by a visit; "does not want to", "advised not to". Then recall: a count
and schedule after a comma with a limit or a site, "up to N times a day", count ranges,
"which are on hold", a recheck with the practice nurse, and vocabulary."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig_prn

# --- history: "Hx of", "On <drug> for ...", "treated with", "given today" -------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Atorvastatin 40 mg PO qHS. Hx of myalgias on simvastatin.", ["atorvastatin"]),
        ("On warfarin for AF, INR 2.4 today. Continue warfarin 5 mg daily.", ["warfarin"]),
        ("Admitted with CAP, treated with IV co-amoxiclav and clarithromycin.", []),
        (
            "Loading dose of clopidogrel 300 mg given today; continue clopidogrel 75 mg OD",
            ["clopidogrel"],
        ),
    ],
)
def test_what_was_taken_or_given_is_no_order(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    r = engine.extract(text)
    assert [m.name for m in r.medications] == want
    assert all(m.dose != 300 for m in r.medications)  # the loading dose was given, not ordered


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("On warfarin 5 mg daily for AF, continue.", ("warfarin", "continue")),
        ("On day 3 start ceftriaxone 1 g IV OD.", ("ceftriaxone", "start")),
        ("Ceftriaxone 1 g IV to be given today.", ("ceftriaxone", "start")),
    ],
)
def test_an_order_beside_the_history_words_stays(
    engine: RulesOrdersEngine, text: str, want: tuple[str, str]
) -> None:
    assert order_sig_prn(engine, text)[:2] == want


# --- tests that are not ordered ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Counselled regarding diabetic foot care and regular home glucose monitoring.",
        "Hold metformin for 48 h after IV contrast; resume if creatinine stable",
        "Two-week-wait referral to colorectal surgery: FIT 150, iron deficiency anaemia",
        "HR 48 on today's ECG: reduce bisoprolol to 2.5 mg OD",
    ],
)
def test_topics_conditions_and_read_tests_order_no_test(
    engine: RulesOrdersEngine, text: str
) -> None:
    assert [s.display for s in engine.extract(text).services if s.category != "referral"] == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Check creatinine if on an ACE inhibitor", ["Creatinine"]),
        ("Order FIT and CBC", ["CBC", "Fecal immunochemical test"]),
        ("ECG today", ["ECG"]),
        ("Check home BP; glucose fasting", ["Glucose"]),
    ],
)
def test_the_same_tests_ordered_stay(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # a referral written as a heading is read, and its reason after the colon is no test
        ("Referral to haematology: Hb 7.2", ["Hematology"]),
        ("Referral to cardiology: ECG abnormal", ["Cardiology"]),
        (
            "Blood sugar monitoring: FBS, PPBS",
            ["Fasting blood glucose", "Postprandial blood glucose"],
        ),
    ],
)
def test_a_referral_before_a_colon_and_its_reason(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


def test_a_visit_that_times_a_test_is_not_booked(engine: RulesOrdersEngine) -> None:
    text = "Fasting lipid panel and CMP a week before the next annual visit; RTC 1 year."
    r = engine.extract(text)
    assert [(f.value, f.unit) for f in r.follow_ups] == [(1, "a")]
    assert order_services(engine, text) == ["CMP", "Lipid panel"]
    assert [(f.value, f.unit) for f in engine.extract("Annual review").follow_ups] == [(1, "a")]


@pytest.mark.parametrize(
    ("text", "declined"),
    [
        ("She does not want to start sertraline.", "sertraline"),
        ("Advised not to take painkillers on his own.", "painkillers"),
    ],
)
def test_declined_by_the_patient_is_negated(
    engine: RulesOrdersEngine, text: str, declined: str
) -> None:
    r = engine.extract(text)
    assert r.medications == []
    assert any(declined in n for n in r.negated)


def test_advice_to_take_is_still_an_order(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Advised to take paracetamol 500 mg TDS") == [
        ("acetaminophen", "start", 500.0, "mg")
    ]


# --- counts and schedules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dose", "timing"),
    [
        # a limit in brackets, a site, a patch: the clause after the comma still finishes it
        (
            "Paracetamol 500 mg tablets, two tablets four times a day (max 8 in 24 hours)",
            1000.0,
            (4, 1.0, "d"),
        ),
        ("Triamcinolone 0.1% cream, apply thin layer BID to affected areas", None, (2, 1.0, "d")),
        ("Nicotine patch 21 mg/24 hr, apply 1 patch daily x 6 weeks", 21.0, (1, 1.0, "d")),
        # "up to N times a day" is the schedule; "max 4 g a day" stays a limit
        ("Ibuprofen 400 mg up to 3 times daily with food", 400.0, (3, 1.0, "d")),
        ("Paracetamol 1 g QDS, max 4 g a day", 1.0, (4, 1.0, "d")),
    ],
)
def test_the_schedule_after_the_name(
    engine: RulesOrdersEngine, text: str, dose: float | None, timing: tuple
) -> None:
    _name, _action, got_dose, _unit, got_timing, _prn = order_sig_prn(engine, text)
    assert (got_dose, got_timing) == (dose, timing)


def test_up_to_n_times_when_required_is_as_needed_n_a_day(engine: RulesOrdersEngine) -> None:
    text = "Co-codamol 30/500 mg tablets: two tablets up to four times a day when required"
    # the two tablets written are the dose since rules 2.16.0 (the slash strength convention)
    assert order_sig_prn(engine, text)[2:] == (2.0, "tablet", (4, 1.0, "d"), True)


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("GTN spray 1-2 sprays under the tongue PRN chest pain", (1.0, "spray")),
        ("Salbutamol 1 to 2 puffs q4h prn", (1.0, "puff")),
        ("Salbutamol inhaler 2 puffs PRN", (2.0, "puff")),
    ],
)
def test_a_count_range_gives_its_lower_bound(
    engine: RulesOrdersEngine, text: str, dose: tuple
) -> None:
    assert order_sig_prn(engine, text)[2:4] == dose


def test_drugs_told_on_hold_in_a_relative_clause_are_held(engine: RulesOrdersEngine) -> None:
    text = "Resume home medications apart from lisinopril and HCTZ, which are on hold for AKI."
    got = [(m.name, m.action) for m in engine.extract(text).medications]
    assert got == [("lisinopril", "hold"), ("hydrochlorothiazide", "hold")]


def test_a_recheck_with_the_practice_nurse_is_a_visit(engine: RulesOrdersEngine) -> None:
    text = "Recheck BP in 4 weeks with the practice nurse."
    assert [(f.value, f.unit) for f in engine.extract(text).follow_ups] == [(4, "wk")]
    assert engine.extract("Recheck BP in 2 weeks").follow_ups == []  # a measurement only


# --- vocabulary ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Start Tab Cilacar-T 10/40 OD", ("cilnidipine / telmisartan", "start", None, None)),
        ("Tab Glizid M 1-0-1", ("gliclazide / metformin", "start", 1.0, "tablet")),
        ("Inj Hydrocort 100 mg IV stat", ("hydrocortisone", "start", 100.0, "mg")),
        ("Ciprodex otic 4 drops BID", ("ciprofloxacin / dexamethasone", "start", 4.0, "drop")),
        ("albumin 25 g IV x1 after the tap", ("albumin human", "start", 25.0, "g")),
        ("Inj albumin 20% 100 ml IV", ("albumin human", "start", 100.0, "mL")),
    ],
)
def test_new_drug_names(engine: RulesOrdersEngine, text: str, want: tuple) -> None:
    assert order_meds(engine, text) == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Vanc trough before 4th dose.", ["Vancomycin trough level"]),
        ("Repeat Cr in AM.", ["Creatinine"]),
        ("Cervical smear overdue - book with practice nurse", ["Pap smear"]),
        ("swab the wound for MC&S", ["Wound swab culture"]),
        ("24-hour ECG, echo, cardiology OPA", ["Cardiology", "Echocardiogram", "Holter monitor"]),
        ("Baseline eye examination by ophthalmologist.", ["Ophthalmology"]),
        ("Check calcium and vitamin D levels", ["Serum calcium", "Vitamin D level"]),
        ("Referral to district nurses", ["District nursing"]),
        ("Refer to the diabetes specialist nurse.", ["Diabetes specialist nurse"]),
        ("Referred to NHS Talking Therapies.", ["Talking therapies"]),
    ],
)
def test_new_service_names(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    r = engine.extract(text)
    assert sorted(s.display for s in r.services) == want
    assert r.medications == []


@pytest.mark.parametrize(
    ("text", "drug"),
    [
        ("Tab Nifedipine CR 30 mg OD", "nifedipine"),  # controlled release, not creatinine
        ("Start calcium and vitamin D3 tablets", "calcium carbonate"),  # the drug, not a test
        ("Vancomycin 1 g IV q12h", "vancomycin"),
    ],
)
def test_the_new_test_words_leave_drugs_alone(
    engine: RulesOrdersEngine, text: str, drug: str
) -> None:
    r = engine.extract(text)
    assert r.services == []
    assert r.medications[0].name == drug
