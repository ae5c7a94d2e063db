"""Ninth pass of the orders engine (issue 12): the general rules written after batch 11 was
retired to dev, each with guards for phrases that must not become orders (or must stay
orders). Precision first: results without a unit, tests already in hand, declines after the
name, replaced drugs, asides, history given in ED, someone else's recommendation and
misread verbs were batch 11's false positives; then vocabulary and signatures."""

from __future__ import annotations

import pytest

from carepipe.engines.orders import RulesOrdersEngine
from tests.engines.orders.conftest import order_meds, order_services

# --- results: whole-number values, counts before a verdict, tests in hand -------------------


@pytest.mark.parametrize(
    "text",
    [
        "Labs from Monday: Hb 104, platelets 310, eGFR 58.",
        "HbA1c 61 mmol/mol.",
        "Troponins x2 negative.",
        "Blood cultures x 2 were negative",
        "Stool culture pending.",
        "Urine culture already sent",
        "CBC drawn already; LFT pending",
    ],
)
def test_results_and_tests_in_hand_order_nothing(engine: RulesOrdersEngine, text: str) -> None:
    r = engine.extract(text)
    assert r.services == [] and r.not_understood


def test_a_verdict_sentence_makes_the_sentence_before_it_results(
    engine: RulesOrdersEngine,
) -> None:
    r = engine.extract("Hb 12.9, FBS 102, TSH 1.8. All within normal limits.")
    assert r.is_empty and r.not_understood
    assert order_services(engine, "Reports: creatinine 88, potassium 4.1. Both normal.") == []


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # A number with a time unit, a count of tests or an order verb keeps the order.
        ("CBC 2 days later", ["CBC"]),
        ("Troponin x 2, 3 hours apart", ["Troponin"]),
        ("Troponin 0, 3 h", ["Troponin"]),
        ("Potassium 5.9 - repeat it this evening", ["Potassium"]),
        ("Send urine culture", ["Urine culture"]),
        ("Repeat troponin; ECG pending cardiology review", ["ECG", "Troponin"]),
        # "HbA1c 52 mmol/mol. Repeat HbA1c in 3 months": the second sentence orders.
        ("HbA1c 52 mmol/mol. Repeat HbA1c in 3 months.", ["HbA1c"]),
        # "All normal" judges only the sentence right before it.
        ("CBC, LFT today. Chest X-ray yesterday. All normal.", ["CBC", "Hepatic function panel"]),
    ],
)
def test_result_rules_leave_orders_alone(
    engine: RulesOrdersEngine, text: str, want: list[str]
) -> None:
    assert order_services(engine, text) == sorted(want)


# --- declines after the name, with their reason or time ----------------------------------


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("CT abdomen not required given normal exam", "CT abdomen"),
        ("Lipid profile and TSH not needed now", "TSH"),
        ("Vitamin B12 not indicated at present", "B12"),
        ("Statin not started per patient wishes", "Statin"),
        ("Metformin not prescribed as eGFR is 25", "Metformin"),
    ],
)
def test_a_decline_after_the_name_negates(engine: RulesOrdersEngine, text: str, named: str) -> None:
    r = engine.extract(text)
    assert r.is_empty
    assert any(named in n for n in r.negated)


def test_a_decline_after_a_dosed_drug_still_qualifies_it(engine: RulesOrdersEngine) -> None:
    # The eighth pass's guard: "not needed if ..." after a dose is a condition, not a decline.
    r = engine.extract("Paracetamol 1 g QDS PRN, not needed if pain free")
    assert [(m.name, m.dose) for m in r.medications] == [("acetaminophen", 1.0)]


def test_not_for_is_a_ceiling_of_care(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Not for IV antibiotics; not for CT head - discussed with son.")
    assert r.is_empty and len(r.negated) == 2
    # "not for more than 3 days" finishes the drug before it; it is no negation.
    r = engine.extract("Ibuprofen 400 mg TDS, not for more than 3 days")
    assert [m.name for m in r.medications] == ["ibuprofen"] and r.negated == []


def test_a_plan_declined_for_now_is_negated(engine: RulesOrdersEngine) -> None:
    r = engine.extract("May consider an MRI knee later; not booking it today.")
    assert r.is_empty and any("MRI" in n for n in r.negated)
    # A decline of something else leaves the plan listed.
    r = engine.extract("Will consider a statin. No NSAIDs.")
    assert any("statin" in n for n in r.not_understood)
    assert not any("statin" in n for n in r.negated)


# --- drugs named but not ordered ---------------------------------------------------------


def test_the_drug_replaced_is_negated(engine: RulesOrdersEngine) -> None:
    r = engine.extract("Doxycycline 100 mg BD for 7 days instead of clarithromycin")
    assert order_meds(engine, "Doxycycline 100 mg BD for 7 days instead of clarithromycin") == [
        ("doxycycline", "start", 100.0, "mg")
    ]
    assert any("clarithromycin" in n for n in r.negated)
    assert r.not_understood == []


def test_an_aside_on_what_the_patient_takes_now_is_no_order(engine: RulesOrdersEngine) -> None:
    assert order_meds(engine, "Stop clopidogrel (now on ticagrelor)") == [
        ("clopidogrel", "stop", None, None)
    ]
    # A bracket that is not an aside still orders what it names.
    assert [m[0] for m in order_meds(engine, "Metformin 500 mg BD (glimepiride 1 mg OD)")] == [
        "metformin",
        "glimepiride",
    ]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Paxlovid (nirmatrelvir 300 mg / ritonavir 100 mg) PO BID x 5 days", 2),
        ("Augmentin (amoxicillin/clavulanate) 625 mg BD", 2),
    ],
)
def test_a_bracket_that_spells_out_the_drug_is_the_same_order(
    engine: RulesOrdersEngine, text: str, want: int
) -> None:
    meds = engine.extract(text).medications
    assert len(meds) == 1
    assert meds[0].timing is not None and meds[0].timing.frequency == want


@pytest.mark.parametrize(
    "text",
    [
        "Ondansetron 4 mg IV given in ED.",
        "Aspirin 300 mg given by the paramedics.",
        "Was on Tab Amlong 5 mg earlier, stopped by his GP.",
        "Previously on atenolol, switched to bisoprolol by cardiology in 2021.",
        "Her cardiologist has recommended starting apixaban; they will prescribe it.",
    ],
)
def test_history_and_other_clinicians_plans_order_nothing(
    engine: RulesOrdersEngine, text: str
) -> None:
    r = engine.extract(text)
    assert r.medications == [] and r.not_understood


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Ondansetron 4 mg IV to be given in ED now", [("ondansetron", "start", 4.0, "mg")]),
        (
            "Ceftriaxone 1 g given in ED, continue ceftriaxone 1 g OD",
            [("ceftriaxone", "continue", 1.0, "g")],
        ),
        # "was on ... , increase" is no history with a past time: the order stays.
        ("Cardiology recommend apixaban 5 mg BD", [("apixaban", "start", 5.0, "mg")]),
    ],
)
def test_history_rules_leave_orders_alone(
    engine: RulesOrdersEngine, text: str, want: list[tuple]
) -> None:
    assert order_meds(engine, text) == want


# --- verbs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("d/c home on cefalexin 500 mg QID x 5 days", [("cephalexin", "start", 500.0, "mg")]),
        ("D/C metformin", [("metformin", "stop", None, None)]),
        (
            "We'll stop the diclofenac and try you on paracetamol 1 g QDS",
            [("diclofenac", "stop", None, None), ("acetaminophen", "start", 1.0, "g")],
        ),
        ("I've advised he takes omeprazole 20 mg OD", [("omeprazole", "start", 20.0, "mg")]),
        ("Ramipril 5 mg OD (unchanged)", [("ramipril", "continue", 5.0, "mg")]),
        ("Bisoprolol 2.5 mg OD to carry on", [("bisoprolol", "continue", 2.5, "mg")]),
        (
            "Ramipril causing cough - switch to losartan 50 mg OD",
            [("ramipril", "stop", None, None), ("losartan", "start", 50.0, "mg")],
        ),
        (
            "Narrow meropenem to ceftriaxone 2 g IV OD",
            [("meropenem", "stop", None, None), ("ceftriaxone", "start", 2.0, "g")],
        ),
        # A drug with a dose before "switch ... to" is no switch from it.
        (
            "Metformin 500 mg BD, switch gliclazide to glimepiride 1 mg OD",
            [
                ("metformin", "start", 500.0, "mg"),
                ("gliclazide", "stop", None, None),
                ("glimepiride", "start", 1.0, "mg"),
            ],
        ),
    ],
)
def test_verbs(engine: RulesOrdersEngine, text: str, want: list[tuple]) -> None:
    assert order_meds(engine, text) == want


@pytest.mark.parametrize(
    ("text", "dose"),
    [
        ("bump the sertraline up to 100", 100.0),
        ("cut the pregabalin back to 75 at night", 75.0),
        ("Increase citalopram to 20 after 2 weeks", 20.0),
    ],
)
def test_a_change_to_a_bare_number_is_the_new_dose(
    engine: RulesOrdersEngine, text: str, dose: float
) -> None:
    [med] = engine.extract(text).medications
    assert (med.action, med.dose, med.dose_unit) == ("change", dose, "mg")


def test_a_bare_number_with_a_unit_of_time_is_no_dose(engine: RulesOrdersEngine) -> None:
    [med] = engine.extract("Reduce prednisolone to 5 days").medications
    assert med.dose is None


# --- signatures -------------------------------------------------------------------------------


def test_a_volume_after_the_product_is_the_dose(engine: RulesOrdersEngine) -> None:
    [med] = engine.extract("Cefalexin 250 mg/5 mL suspension, 5 mL QDS for 5 days").medications
    assert (med.dose, med.dose_unit) == (5.0, "mL")
    assert med.timing is not None and med.timing.frequency == 4


def test_a_drop_count_into_the_ear_is_the_dose(engine: RulesOrdersEngine) -> None:
    [med] = engine.extract("Ofloxacin 0.3% ear drops, 5 drops BD into the left ear").medications
    assert (med.dose, med.dose_unit) == (5.0, "drop")


def test_prn_with_what_it_is_taken_with(engine: RulesOrdersEngine) -> None:
    meds = engine.extract("Tramadol 50 mg QDS PRN with laxative cover: lactulose 10 mL BD")
    assert [(m.name, m.as_needed) for m in meds.medications] == [
        ("tramadol", True),
        ("lactulose", False),
    ]


def test_a_review_a_plan_is_deferred_to_is_booked(engine: RulesOrdersEngine) -> None:
    r = engine.extract(
        "Start citalopram 10 mg OD; if not tolerated we may change it at review in 6 weeks"
    )
    assert [(f.value, f.unit) for f in r.follow_ups] == [(6.0, "wk")]
    assert [m.name for m in r.medications] == ["citalopram"]


# --- vocabulary -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Tab Jalra-M 50/1000 1-0-1", "metformin / vildagliptin"),
        ("Tab Jalra 50 mg BD", "vildagliptin"),
        ("Tab Ivecop 6 mg stat", "ivermectin"),
        ("Tab Naxdom 250 SOS", "naproxen / domperidone"),
        ("Syp Alkasol 5 ml TDS", "disodium hydrogen citrate"),
        ("Fostair 200/6 one puff BD", "beclomethasone / formoterol"),
        ("Trimbow 172/5/9 two puffs BD", "beclomethasone / formoterol / glycopyrrolate"),
        ("Oramorph 5 mg PRN", "morphine"),
        ("Lokelma 5 g OD", "sodium zirconium cyclosilicate"),
        ("Chloramphenicol 1% eye ointment at night", "chloramphenicol"),
        ("Levomepromazine 2.5 mg SC PRN", "levomepromazine"),
        ("Hydroxocobalamin 1 mg IM every 3 months", "hydroxocobalamin"),
        ("Benzylpenicillin 1.2 g IV QDS", "benzylpenicillin"),
    ],
)
def test_ninth_pass_drug_names(engine: RulesOrdersEngine, text: str, name: str) -> None:
    assert [m.name for m in engine.extract(text).medications] == [name]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Group and save, FBC, clotting", ["CBC", "Coagulation panel", "Type and screen"]),
        ("Type and screen", ["Type and screen"]),
        ("Chlamydia/gonorrhoea NAAT", ["Chlamydia/gonorrhea NAAT"]),
        ("UGI scopy", ["Upper GI endoscopy"]),
        ("Hepatitis serology and renin", ["Hepatitis panel", "Renin"]),
        ("Rapid strep and throat culture", ["Rapid strep test", "Throat swab culture"]),
        ("Lp(a) and ApoB", ["Apolipoprotein B", "Lipoprotein(a)"]),
        ("CT calcium score", ["Coronary artery calcium score"]),
        ("Liver USG with Doppler", ["Liver Doppler ultrasound"]),
        ("Refer to the falls clinic", ["Falls clinic"]),
        ("OT home assessment", ["Occupational therapy"]),
        ("a full blood count and kidney function today", ["CBC", "Renal function panel"]),
        ("Echo in the morning", ["Echocardiogram"]),
        # A study and a named scan in brackets beside it are one order: the one written by
        # its modality and site, whichever side of the bracket it stands.
        ("USG pelvis (TVS)", ["Pelvic ultrasound"]),
        ("USG obstetric (NT scan)", ["Obstetric ultrasound"]),
        ("anomaly scan (obstetric USG) at 20 weeks", ["Obstetric ultrasound"]),
        # Two named scans, or two modalities, stay two orders.
        ("NT scan (and double marker)", ["Double marker test", "NT scan"]),
        ("CT chest (and MRI brain)", ["CT chest", "MRI brain"]),
        # An LP is still a lumbar puncture.
        ("LP for CSF analysis", ["CSF analysis", "Lumbar puncture"]),
    ],
)
def test_ninth_passorder_services(engine: RulesOrdersEngine, text: str, want: list[str]) -> None:
    assert order_services(engine, text) == sorted(want)


@pytest.mark.parametrize(
    "text",
    [
        "Metformin dose reduced for kidney function",
        "Low salt diet, falls risk discussed",
        "clotting factors normal",
    ],
)
def test_ninth_pass_service_names_need_their_context(engine: RulesOrdersEngine, text: str) -> None:
    assert engine.extract(text).services == []
