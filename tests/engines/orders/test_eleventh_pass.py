"""Eleventh pass of the orders engine (issue 12): the general rules written after batch 13
was retired to dev, each with guards for phrases that must not become orders (or must stay
orders). Precision first: drug histories under a heading, drugs named as the background of
an order or a result, refusals, other teams' plans, results and studies already booked, a
procedure after "post", a nutrient before "diet"; then the known gap "Pt on Tab Metformin
500 BD, continue", signatures (changes after the sig, doses at several times of day, rates,
patches, litres, million units, "q6", "three times weekly", "4 hours apart", a dose worked
out in brackets), shared specimens and head nouns, follow-ups and vocabulary."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services


def _timing(engine: RulesOrdersEngine, text: str, i: int = 0) -> tuple | None:
    t = engine.extract(text).medications[i].timing
    return None if t is None else (t.frequency, t.period, t.periodUnit)


# --- the known gap: a drug the patient is on, then "continue" -------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Pt on Tab Metformin 500 BD, continue", [("metformin", "continue", 500.0, "mg")]),
        ("Pt on Tab Metformin 500 BD, continue same.", [("metformin", "continue", 500.0, "mg")]),
        ("HTN on Tab Telma 40 OD, continue", [("telmisartan", "continue", 40.0, "mg")]),
        ("Tab Levipil 500 mg 1-0-1 continue.", [("levetiracetam", "continue", 500.0, "mg")]),
        (
            "Paliperidone depot 100 mg IM monthly, next due 14th.",
            [("paliperidone", "continue", 100.0, "mg")],
        ),
        # a verb of its own keeps its action
        ("Start Tab Metformin 500 BD, continue", [("metformin", "start", 500.0, "mg")]),
        (
            "I have started gliclazide 40 mg OM and asked her to continue metformin 1 g BD.",
            [("gliclazide", "start", 40.0, "mg"), ("metformin", "continue", 1.0, "g")],
        ),
    ],
)
def test_continue_after_the_drug_continues_it(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


def test_a_drug_the_patient_is_on_with_no_verb_is_still_history(
    engine: RulesOrdersEngine,
) -> None:
    r = engine.extract("Pt on Tab Metformin 500 BD")
    assert r.medications == [] and r.not_understood


def test_a_stop_that_ends_a_course_is_lent_to_no_later_drug(engine: RulesOrdersEngine) -> None:
    text = "Tab Clopilet 75 mg 1-0-0 x 21 days then stop, Tab Atorva 40 HS."
    assert order_meds(engine, text) == [
        ("clopidogrel", "start", 75.0, "mg"),
        ("atorvastatin", "start", 40.0, "mg"),
    ]


# --- history: headings, what was tried, what the patient keeps to -------------------------


@pytest.mark.parametrize(
    "text",
    [
        "DH: ramipril 5 mg OD, clopidogrel 75 mg OD.",
        "HPI: 58M with hx of HTN, HLD on lisinopril and atorvastatin presents for a physical.",
        "SH: ex-smoker. DH: omeprazole 20 mg OM.",
        "She has tried paracetamol and topical ibuprofen with little benefit.",
        "Patient reports good adherence to metformin and lisinopril.",
        "A1c 9.2 despite metformin 1000 mg BID and glipizide 10 mg daily.",
        "Started on aspirin by A&E which he has since stopped.",
        "TSH 0.08 on Thyronorm 100 mcg.",
        "BP above goal on HCTZ.",
        "Sugars well controlled on metformin.",
    ],
)
def test_history_orders_no_drug(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Tab Dolo 650 on alternate days", [("acetaminophen", "start", 650.0, "mg")]),
        (
            "TSH 0.08 on Thyronorm 100 mcg. Reduce Thyronorm to 88 mcg OD.",
            [("levothyroxine", "change", 88.0, "mcg")],
        ),
        (
            "Dx: hypertension. DH review done. Start amlodipine 5 mg OD",
            [("amlodipine", "start", 5.0, "mg")],
        ),
        ("Refill lisinopril 20 mg daily x 90 days.", [("lisinopril", "continue", 20.0, "mg")]),
    ],
)
def test_orders_beside_history_stay(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the background drug is not ordered, the order is
        (
            "I want to add ezetimibe 10 mg once a day on top of the rosuvastatin",
            [("ezetimibe", "start", 10.0, "mg")],
        ),
        ("Finasteride 5 mg daily added to tamsulosin.", [("finasteride", "start", 5.0, "mg")]),
        ("Start insulin despite metformin", [("insulin", "start", None, None)]),
        (
            "Potassium 3.1 on furosemide, start KCl 20 mEq BD",
            [("potassium chloride", "start", 20.0, "meq")],
        ),
        ("Recheck PSA in 6 months (note finasteride halves PSA).", []),
        # "on" a schedule or at a place is no background drug
        ("Continue tamsulosin 0.4 mg qHS.", [("tamsulosin", "continue", 0.4, "mg")]),
    ],
)
def test_a_drug_named_as_the_background_is_not_ordered(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


# --- refusals and other teams' plans -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "negated_part"),
    [
        ("Advised CAG, patient and relatives not willing at present.", "Advised CAG"),
        (
            "Offered referral to weight management and a sleep study; patient declined both.",
            "sleep study",
        ),
        (
            "Discussed risks and benefits of colonoscopy; patient wishes to think it over.",
            "colonoscopy",
        ),
    ],
)
def test_a_proposal_the_patient_turns_down_is_negated(
    engine: RulesOrdersEngine, text: str, negated_part: str
) -> None:
    r = engine.extract(text)
    assert r.services == [] and r.medications == []
    assert any(negated_part in n for n in r.negated)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # the refusal names its own object: what came before stands
        (
            "Mammogram ordered. Pt declined Pap today, will do next visit.",
            ["Mammogram"],
        ),
        ("Chlamydia screen offered and accepted.", ["Chlamydia NAAT"]),
        # a prescription written out is not withdrawn by a refusal of something else
        ("Start amoxicillin 500 mg TDS; patient refused the injection.", []),
    ],
)
def test_orders_beside_a_refusal_stay(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


def test_a_prescription_beside_a_refusal_stays(engine: RulesOrdersEngine) -> None:
    text = "Start amoxicillin 500 mg TDS; patient refused the injection."
    assert order_meds(engine, text) == [("amoxicillin", "start", 500.0, "mg")]


@pytest.mark.parametrize(
    "text",
    [
        "The vascular team have reviewed and plan an angioplasty next week.",
        "Contrast CT abdomen already booked by the surgical team for Thursday.",
        "Blood cultures x2 taken.",
        "QuantiFERON positive, CXR clear.",
        "Potassium 6.1 on repeat (non-haemolysed).",
        "A1c last month 6.8.",
        "Post PTCA.",
        "Low potassium diet sheet given.",
    ],
)
def test_plans_results_and_advice_order_no_test(engine: RulesOrdersEngine, text: str) -> None:
    assert order_services(engine, text) == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Blood cultures to be taken before antibiotics.", ["Blood culture"]),
        ("Repeat potassium in 4 hours.", ["Potassium"]),
        ("Clear fluids only. CXR.", ["Chest X-ray"]),
        ("Plan angioplasty next week.", ["Angioplasty"]),
        ("Day 2 post CABG. Echo.", ["Echocardiogram"]),
        ("Check potassium, low salt diet.", ["Potassium"]),
    ],
)
def test_tests_beside_those_words_stay(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


# --- actions and signatures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want", "timing"),
    [
        (
            "Ferrous fumarate 210 mg TDS - change to OD (GI side effects).",
            ("ferrous fumarate", "change", 210.0, "mg"),
            (1, 1.0, "d"),
        ),
        (
            "Oxycodone 10 mg q6h -> decrease to 5 mg q6h x 1 week, then stop.",
            ("oxycodone", "change", 5.0, "mg"),
            (1, 6.0, "h"),
        ),
        # a verb before the drug, or a step to come, is not a change now
        (
            "Start amlodipine 5 mg OD - increase to 10 mg OD",
            ("amlodipine", "start", 5.0, "mg"),
            (1, 1.0, "d"),
        ),
        (
            "Amlodipine 5 mg OD - increase to 10 mg after 2 weeks",
            ("amlodipine", "start", 5.0, "mg"),
            (1, 1.0, "d"),
        ),
    ],
)
def test_a_change_written_after_the_sig(
    engine: RulesOrdersEngine, text: str, want: tuple, timing: tuple
) -> None:
    assert order_meds(engine, text)[0] == want
    assert _timing(engine, text) == timing


@pytest.mark.parametrize(
    ("text", "timing"),
    [
        ("Hydrocortisone 15 mg qAM and 5 mg at 3 PM.", (2, 1.0, "d")),
        ("Furosemide 40 mg OM and 40 mg at 2pm", (2, 1.0, "d")),
        ("Inj Actrapid 8 U before breakfast, 6 U before lunch, 8 U before dinner.", (3, 1.0, "d")),
        ("Metformin 500 mg after breakfast, 500 mg after dinner", (2, 1.0, "d")),
        # one time of day, or the same word twice, is once a day
        ("Amlodipine 5 mg OD at night", (1, 1.0, "d")),
        ("Start amlodipine 5 mg OD - increase to 10 mg OD", (1, 1.0, "d")),
        ("Zofran 4 IV q6 prn", (1, 6.0, "h")),
        ("Amoxicillin 500 mg q8", (1, 8.0, "h")),
        ("Vitamin B12 1000 mcg IM q1 month", (1, 1.0, "mo")),
        ("Rosuvastatin 5 mg three times weekly", (3, 1.0, "wk")),
        ("KCl 40 mEq PO x2 doses 4 hours apart.", (1, 4.0, "h")),
        ("Increase midazolam in the driver to 20 mg over 24 hours.", (1, 1.0, "d")),
        ("Metronidazole 500 mg IV over 20 minutes q8h", (1, 8.0, "h")),
        # a sliding or correction scale is when sugars are checked
        ("Lispro correction scale AC & HS per protocol.", None),
        ("Insulin sliding scale AC&HS", None),
    ],
)
def test_schedules(engine: RulesOrdersEngine, text: str, timing: tuple | None) -> None:
    assert _timing(engine, text) == timing


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("Vasopressin 0.03 units/min.", (None, None)),
        ("Insulin 2 units/hr", (None, None)),
        ("Heparin 18 units/kg/hr", (None, None)),
        ("Lantus 20 units at night", (20.0, "[iU]")),
        ("Start Evorel 50 patch twice weekly", (None, None)),
        ("Fentanyl 25 mcg/hr patch every 72 hours", (None, None)),
        ("Nicotine 21 mg patch daily", (21.0, "mg")),
        ("NS 1 L bolus.", (1.0, "L")),
        ("ORS 1 sachet in 1 litre water, sip after every loose stool", (1.0, "sachet")),
        ("Benzathine penicillin 2.4 million units IM once", (2400000.0, "[iU]")),
        ("Inj Penidure LA 12 (benzathine penicillin 1.2 MU) deep IM", (1200000.0, "[iU]")),
        ("Weight 22 kg. Prednisolone 1 mg/kg OD (22 mg) for 3 days.", (22.0, "mg")),
        ("Ceftriaxone 50 mg/kg IV OD (max 2 g)", (50.0, "mg/kg")),
        ("Continue Trelegy 1 inhalation daily.", (1.0, "puff")),
        ("Naloxone 4 mg nasal spray, 1 spray PRN opioid overdose.", (1.0, "spray")),
        ("Paracetamol 500 mg, 2 tabs PRN pain", (1000.0, "mg")),
    ],
)
def test_doses(engine: RulesOrdersEngine, text: str, dose: tuple) -> None:
    med = engine.extract(text).medications[0]
    assert (med.dose, med.dose_unit) == dose


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Sumatriptan 50 mg PO at onset of migraine, may repeat in 2 hours.", [True]),
        ("Rx: hydrocodone/acetaminophen 5/325 mg 1 tab PO q6h PRN severe pain #12", [True]),
        ("Paracetamol and ibuprofen as needed.", [True, True]),
        ("Naloxone 4 mg nasal spray, 1 spray PRN opioid overdose.", [True]),
        # a drug with its own schedule is not made as needed by the next one's PRN
        ("Paracetamol 1 g QDS and ibuprofen PRN", [False, True]),
    ],
)
def test_as_needed(engine: RulesOrdersEngine, text: str, want: list[bool]) -> None:
    assert [m.as_needed for m in engine.extract(text).medications] == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Take metoprolol morning of surgery with sip of water.", [("metoprolol", "continue")]),
        (
            "Gentamicin single dose given in ED - no further doses.",
            [("gentamicin", "stop")],
        ),
        # "take" with no operation is a start
        ("Take metoprolol 25 mg BD", [("metoprolol", "start")]),
    ],
)
def test_actions(engine: RulesOrdersEngine, text: str, want: list[tuple]) -> None:
    assert [m[:2] for m in order_meds(engine, text)] == want


# --- tests: shared specimens and head nouns, names the table lacked -------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Stool routine and culture.", ["Stool culture", "Stool routine"]),
        ("Dengue NS1 and IgM", ["Dengue IgM antibody", "Dengue NS1 antigen"]),
        (
            "Legionella and pneumococcal urinary antigens.",
            ["Legionella urinary antigen", "Pneumococcal urinary antigen"],
        ),
        ("Serum and urine osmolality.", ["Serum osmolality", "Urine osmolality"]),
        ("urine routine & C/S", ["Urinalysis", "Urine culture"]),
        # a list of whole names is read as before, and a word that makes no entry is left
        ("CBC and LFT", ["CBC", "Hepatic function panel"]),
        ("Check sodium and potassium", ["Potassium", "Sodium"]),
    ],
)
def test_a_specimen_or_head_noun_written_once(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Urine Na, urine Cr, UA with micro.", ["Urinalysis", "Urine creatinine", "Urine sodium"]),
        ("Urine protein:creatinine ratio", ["Creatinine"]),
        (
            "Transfuse 1 unit PRBCs over 3 hours. Type and cross.",
            ["Blood crossmatch", "Blood transfusion"],
        ),
        ("Post-transfusion H/H.", ["Hemoglobin"]),
        ("Mast cell tryptase now and at 2 hours.", ["Mast cell tryptase"]),
        ("Adjusted calcium 1 month after completing loading.", ["Serum calcium"]),
        ("I have requested an exercise tolerance test.", ["Stress test"]),
        ("Hep B/C serologies.", ["Hepatitis panel"]),
        ("Urine MC&S.", ["Urine culture"]),
        ("Blood and urine cultures", ["Blood culture", "Urine culture"]),
        ("Monthly pregnancy test.", ["Urine pregnancy test"]),
        ("Chlamydia screen.", ["Chlamydia NAAT"]),
        ("GC/chlamydia NAAT", ["Chlamydia/gonorrhea NAAT"]),
        ("Urine drug screen and serum ethanol level.", ["Blood alcohol", "Urine drug screen"]),
        ("U and Es in 2 weeks.", ["Renal function panel"]),
        ("Renal/bladder US.", ["Renal ultrasound"]),
        ("Cath lab: proceed with left heart cath.", ["Cardiac catheterization"]),
        ("PAC clearance.", ["Anesthesiology"]),
        ("Refer to DESMOND.", ["Diabetes education"]),
        (
            "Urine microalbumin, eye exam referral.",
            ["Ophthalmology", "Urine albumin/creatinine ratio"],
        ),
        # a subspecialty of paediatrics is one referral, paediatrics alone still one
        ("Refer paediatric dermatology if not improving.", ["Dermatology"]),
        ("Refer to paediatrics.", ["Pediatrics"]),
    ],
)
def test_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == want


# --- follow-ups ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Fracture clinic in 1/52.", [(1.0, "wk")]),
        ("Endocrine clinic 6/52.", [(6.0, "wk")]),
        ("Review tomorrow.", [(1.0, "d")]),
        ("Recheck in 48-72 hours.", [(48.0, "h")]),
        ("Follow up with cardiology in 1 week and PCP in 2 weeks.", [(1.0, "wk"), (2.0, "wk")]),
        ("F/u cardiology clinic in 2 wks and Dr Rao in 6 weeks.", [(2.0, "wk"), (6.0, "wk")]),
        # a test after "and" is no second booking; "tomorrow" away from the word is no interval
        ("Follow up in 3 months and HbA1c in 3 months", [(3.0, "mo")]),
        ("who will see him on their ward round tomorrow", []),
        ("Recheck K in 4 hours.", []),
        ("Discharge tomorrow with amlodipine 5 mg OD", []),
    ],
)
def test_follow_ups(engine: RulesOrdersEngine, text: str, want: list[tuple]) -> None:
    assert [(f.value, f.unit) for f in engine.extract(text).follow_ups] == want


# --- drugs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Benzonatate 100 mg PO TID PRN cough", "benzonatate"),
        ("Continue procyclidine 5 mg BD", "procyclidine"),
        ("Eumovate ointment BD to body for 7 days", "clobetasone"),
        ("clobetasone butyrate 0.05% cream BD", "clobetasone"),
        ("clobetasol 0.05% cream BD", "clobetasol"),
        ("Depo-Provera 150 mg IM every 12 weeks", "medroxyprogesterone"),
        ("Tab Sodamint 500 mg 1-1-1", "sodium bicarbonate"),
        ("Tab Pregaba 75 mg 0-0-1", "pregabalin"),
        ("FDC HRZE 3 tabs OD", "ethambutol / isoniazid / pyrazinamide / rifampin"),
        ("Otomize ear spray 1 spray TDS", "acetic acid / dexamethasone / neomycin"),
        ("Continue Zomorph 30 mg BD", "morphine"),
        ("Laxido 1 sachet BD", "polyethylene glycol"),
        ("Continue Trelegy 1 inhalation daily", "fluticasone / umeclidinium / vilanterol"),
        ("Inj Targocid 400 mg IV OD", "teicoplanin"),
        ("Start Evorel 50 patch twice weekly", "estradiol"),
    ],
)
def test_drug_names(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]
