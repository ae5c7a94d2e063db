"""Fifteenth pass of the orders engine (issue 12): the general rules written after batch 17
was retired to dev, each with guards for phrases that must stay orders (or stay none).
Precision first, and where the engine cannot write an order out in full it now lists it
instead of guessing: a dose told only against the usual one, a request to the payer, a
past trial, a finding after a dash, a treatment named by its infection, saline douching and
rinses, a follow-up whose time belongs to a condition, a stopped product's variant number.
Then signatures: an application instruction between a topical's sig and its repeat, a
bracketed number word before "times", an arrow to a new dose, "added" as a start, a dose
worked out from the weight, "today and tomorrow", a return visit "for" what it does, hours;
and vocabulary. Every sentence here was written for these tests."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services, order_sig

# --- precision: what the engine cannot read in full is listed, not guessed ------------------


@pytest.mark.parametrize(
    "text",
    [
        "Restart glargine at 70% of the usual dose tonight.",
        "Give half the usual dose of bisoprolol while fasting.",
        "Continue metoprolol at two-thirds of her normal dose.",
        "Resume enoxaparin at 50 % of the previous dose.",
    ],
)
def test_a_dose_told_against_another_is_listed_not_ordered(
    engine: RulesOrdersEngine, text: str
) -> None:
    result = engine.extract(text)
    assert result.medications == []
    assert result.not_understood  # the clause is shown to a reader, never dropped


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Continue glargine 20 units at night.", ("insulin glargine", "continue", 20.0)),
        ("Half a tablet of bisoprolol 5 mg OD.", ("bisoprolol", "start", 2.5)),
        ("Reduce metoprolol to 25 mg BD.", ("metoprolol", "change", 25.0)),
    ],
)
def test_a_dose_written_out_stays_an_order(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_sig(engine, text)[:3] == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Prior authorization requested for Ozempic.", []),
        ("PA submitted for Dupixent; start emollients.", []),
        ("Previous trial of amitriptyline stopped because of dry mouth.", []),
        ("Prior course of doxycycline 100 mg BD with no benefit.", []),
        ("Failed trial of metformin.", []),
        ("Amlodipine was added last year.", []),
        ("Had a trial of gabapentin with no benefit.", []),
        ("Had a 2-week course of doxycycline.", []),
        ("Failed metformin due to GI upset.", []),
        ("Gabapentin was ineffective.", []),
        ("Sertraline did not help.", []),
        ("Has been off aspirin for 2 weeks.", []),
        ("Completed 5 days of amoxicillin.", []),
        ("Has stopped taking her ramipril.", []),
        ("Ran out of amlodipine 2 weeks ago.", []),
        ("Her GP started amlodipine 5 mg.", []),
        ("Keep off ibuprofen.", []),
        ("Gabapentin 300 mg TDS was tried for 3 months without benefit.", []),
        ("Reports good relief with paracetamol.", []),
        ("Naproxen helps the pain.", []),
        ("Finds ibuprofen gel helpful.", []),
        # guards: still ordered
        ("Trial of sertraline 50 mg OD.", ["sertraline"]),
        ("Start a trial of nortriptyline 10 mg at night.", ["nortriptyline"]),
        ("Add amlodipine 5 mg OD.", ["amlodipine"]),
        ("Previous trial of pregabalin failed; start duloxetine 30 mg OD.", ["duloxetine"]),
        ("Stop taking ibuprofen.", ["ibuprofen"]),
        ("Start melatonin 3 mg at night to help sleep.", ["melatonin"]),
        ("Stop amitriptyline - did not help.", ["amitriptyline"]),
        # the drug told as not helping is the one a switch stops
        (
            "Sertraline did not help; switch to mirtazapine 15 mg ON.",
            ["sertraline", "mirtazapine"],
        ),
    ],
)
def test_payer_requests_and_past_trials_are_no_order(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert [m[0] for m in order_meds(engine, text)] == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Repeat U&E in 3 days - potassium has risen to 5.8.", ["Renal function panel"]),
        ("Recheck FBC next week - haemoglobin has dropped by 15 g/L.", ["CBC"]),
        ("Helicobacter pylori eradication for 7 days.", []),
        ("H. pylori triple therapy for 14 days.", []),
        ("MRI brain requested by neurology.", []),
        ("Physio has been arranged by the ward.", []),
        ("Colonoscopy 2 years ago normal.", []),
        ("Referral to ENT was sent last month.", []),
        # guards
        ("Recheck creatinine - it has risen.", ["Creatinine"]),
        ("H. pylori stool antigen.", ["H. pylori test"]),
        ("Test for H. pylori before eradication.", ["H. pylori test"]),
        ("Physiotherapy referral made.", ["Physiotherapy"]),
        ("Referral to ENT sent.", ["ENT"]),
        ("Repeat colonoscopy in 2 years.", ["Colonoscopy"]),
    ],
)
def test_findings_requests_of_others_and_treatments_name_no_service(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Saline nasal douching twice daily.", []),
        ("Salt water sinus rinses BD.", []),
        ("Normal saline nasal irrigation morning and night.", []),
        # guards: saline given as a medicine
        ("Nasal saline drops 2 drops each nostril TDS.", ["sodium chloride"]),
        ("NS 500 mL IV over 2 hours.", ["sodium chloride"]),
    ],
)
def test_saline_douching_is_self_care(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert [m[0] for m in order_meds(engine, text)] == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("RTC if no better in 1 week.", []),
        ("Follow up if symptoms persist in 2 weeks.", []),
        ("F/u unless settled in 10 days.", []),
        # guards: the visit is booked, the condition comes after its time
        ("RTC in 1 week if no better.", [(1.0, "wk")]),
        ("Follow up in 2 weeks.", [(2.0, "wk")]),
        ("Come for dressing change after 3 days.", [(3.0, "d")]),
        ("Review in 36 h.", [(36.0, "h")]),
    ],
)
def test_follow_ups_a_condition_owns_are_not_booked(
    engine: RulesOrdersEngine, text: str, want: list[tuple[float, str]]
) -> None:
    assert [(f.value, f.unit) for f in engine.extract(text).follow_ups] == want


def test_a_return_visit_for_a_procedure_books_no_procedure(engine: RulesOrdersEngine) -> None:
    result = engine.extract("Come for removal of sutures after 7 days.")
    assert [(f.value, f.unit) for f in result.follow_ups] == [(7.0, "d")]
    assert order_services(engine, "Come for suture removal after 12 days.") == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Stop Tab Glycomet GP 1.", ("glimepiride / metformin", "stop", None, None)),
        ("Hold Tab Glycomet GP 2 tonight.", ("glimepiride / metformin", "hold", None, None)),
        # a count written with its form, a strength with its unit: no dose either since the
        # seventeenth pass (a stop carries none)
        ("Stop 2 tabs of Dolo.", ("acetaminophen", "stop", None, None)),
        ("Stop metformin 500 mg.", ("metformin", "stop", None, None)),
    ],
)
def test_a_stopped_products_variant_number_is_no_dose(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_meds(engine, text) == [want]


def test_would_not_recommend_is_a_negation(engine: RulesOrdersEngine) -> None:
    result = engine.extract("I would not recommend a CT head. Continue paracetamol 1 g QDS.")
    assert order_services(engine, "I would not recommend a CT head.") == []
    assert result.negated == ["I would not recommend a CT head"]


# --- signatures ---------------------------------------------------------------------------


def test_an_application_instruction_keeps_the_repeat_with_its_drug(
    engine: RulesOrdersEngine,
) -> None:
    text = "Permethrin 5% cream - apply from neck down at night, rinse off in the morning, repeat after 7 days."
    assert order_sig(engine, text) == ("permethrin", "start", None, None, None)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("cefuroxime 250 MG tablet\nTake 1 tablet by mouth 3 (three) times daily.", (3, 1.0, "d")),
        ("doxycycline 100 MG capsule\nTake 1 capsule by mouth 2 (two) times a day.", (2, 1.0, "d")),
        ("Warfarin 4 mg today and tomorrow.", (1, 1.0, "d")),
    ],
)
def test_schedules(engine: RulesOrdersEngine, text: str, want: tuple) -> None:
    assert order_sig(engine, text)[4] == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("ramipril 2.5 mg OD -> 5 mg OD", ("ramipril", "change", 5.0, "mg", (1, 1.0, "d"))),
        (
            "Gliclazide 40 mg BD \u2192 80 mg BD",
            ("gliclazide", "change", 80.0, "mg", (2, 1.0, "d")),
        ),
        # guard: no arrow, no change
        ("ramipril 2.5 mg OD", ("ramipril", "start", 2.5, "mg", (1, 1.0, "d"))),
    ],
)
def test_an_arrow_to_a_new_dose_is_a_change(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_sig(engine, text) == want


def test_added_starts_its_own_drug(engine: RulesOrdersEngine) -> None:
    text = "I have reduced her bisoprolol to 2.5 mg OD and added ivabradine 5 mg BD."
    assert [(m[0], m[1]) for m in order_meds(engine, text)] == [
        ("bisoprolol", "change"),
        ("ivabradine", "start"),
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Enoxaparin 1 mg/kg SC BD (wt 70 kg = 70 mg)", (70.0, "mg")),
        ("Insulin detemir 0.1 units/kg SC at night (weight 60 kg = 6 units)", (6.0, "[iU]")),
        ("Gentamicin 5 mg/kg IV OD (total 400 mg)", (400.0, "mg")),
        # guard: no total written, the weight-based dose stays
        ("Gentamicin 5 mg/kg IV OD", (5.0, "mg/kg")),
    ],
)
def test_a_weight_based_dose_worked_out_is_the_dose(
    engine: RulesOrdersEngine, text: str, want: tuple
) -> None:
    assert order_sig(engine, text)[2:4] == want


# --- vocabulary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Tab Febustat 80 mg OD", "febuxostat"),
        ("Inj Orofer-S 100 mg IV in 100 ml NS", "iron sucrose"),
        ("Tab Ciplox-TZ 1 BD x 3 days", "ciprofloxacin / tinidazole"),
        ("Inj Mixtard 30/70 24 units before breakfast", "insulin isophane / insulin regular"),
        ("Tab Pause 500 mg TDS x 3 days", "tranexamic acid"),
        ("Naloxegol 12.5 mg OD", "naloxegol"),
    ],
)
def test_new_drug_names(engine: RulesOrdersEngine, text: str, want: str) -> None:
    assert [m[0] for m in order_meds(engine, text)] == [want]


def test_pause_as_a_verb_still_holds(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Pause metformin for 48 hours.") == [
        ("metformin", "hold", None, None)
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Alpha-1 antitrypsin level.", ["Alpha-1 antitrypsin"]),
        ("Ear swab for C&S.", ["Ear swab culture"]),
        ("Toenail clippings for fungal culture.", ["Nail clippings for fungal culture"]),
        ("Nail scrapings for mycology.", ["Nail clippings for fungal culture"]),
        ("Please arrange an ultrasound of the liver.", ["Liver ultrasound"]),
        ("Bladder scan for post-void residual.", ["Bladder ultrasound"]),
        ("Refer to CAMHS.", ["Child and adolescent mental health services"]),
        ("Heart failure specialist nurse referral.", ["Heart failure nurse"]),
        ("Referral to behavioural health.", ["Behavioral health"]),
        ("Self-referral leaflet given; refer to psychological therapies.", ["Talking therapies"]),
        ("Bilateral carotid duplex scans.", ["Carotid Doppler"]),
        ("Left lower extremity venous duplex.", ["Lower limb venous Doppler"]),
        ("Hepatitis B surface Ag.", ["HBsAg"]),
        ("Pelvic USS.", ["Pelvic ultrasound"]),
        ("Diabetic retinal screening this year.", ["Fundoscopy"]),
        ("Foot check with podiatry.", ["Podiatry"]),
        ("Urgent referral to lower GI.", ["General surgery"]),
        ("Arrange a urinary flow rate.", ["Uroflowmetry"]),
        # guards
        ("Refer to ophthalmology for retinal screening.", ["Ophthalmology"]),
        ("Foot check by podiatry last month was normal.", []),
        ("Oxygen at a flow rate of 2 L/min.", []),
        ("Peak flow rate diary.", []),
        ("Lower GI bleed; refer to gastroenterology.", ["Gastroenterology"]),
    ],
)
def test_new_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want
