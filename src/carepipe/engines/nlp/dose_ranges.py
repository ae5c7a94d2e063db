"""Usual single adult doses per drug, for dose sanity checks and to constrain corrections.

``DOSE_RANGES[generic] = (low, high, unit)``: the span of single doses commonly given to an
adult by any route (British National Formulary / WHO essential medicines ranges, rounded
outwards). A dose outside it is not necessarily wrong (specialists exceed ranges, children
get less) — it is *flagged for review*, never changed. ``STRENGTHS`` lists tablet/ampoule
strengths where the same number is easy to mishear ("six fifty" vs "six fifteen").

Children: with a known age under 12, the low bound does not apply (weight-based dosing)
and the high bound stays (a child's dose above an adult's maximum is always flagged).
"""

from __future__ import annotations

DOSE_RANGES: dict[str, tuple[float, float, str]] = {
    "acetaminophen": (325, 1000, "mg"),
    "aspirin": (75, 900, "mg"),
    "ibuprofen": (200, 800, "mg"),
    "naproxen": (250, 1000, "mg"),
    "diclofenac": (25, 150, "mg"),
    "tramadol": (50, 100, "mg"),
    "morphine": (1, 30, "mg"),
    "codeine": (15, 60, "mg"),
    "oxycodone": (2.5, 20, "mg"),
    "metformin": (500, 1000, "mg"),
    "gliclazide": (40, 160, "mg"),
    "glimepiride": (1, 6, "mg"),
    "sitagliptin": (25, 100, "mg"),
    "empagliflozin": (10, 25, "mg"),
    "dapagliflozin": (5, 10, "mg"),
    "pioglitazone": (15, 45, "mg"),
    "amlodipine": (2.5, 10, "mg"),
    "nifedipine": (10, 90, "mg"),
    "lisinopril": (2.5, 40, "mg"),
    "ramipril": (1.25, 10, "mg"),
    "enalapril": (2.5, 20, "mg"),
    "perindopril": (2, 8, "mg"),
    "losartan": (12.5, 100, "mg"),
    "valsartan": (40, 320, "mg"),
    "candesartan": (2, 32, "mg"),
    "telmisartan": (20, 80, "mg"),
    "bisoprolol": (1.25, 10, "mg"),
    "metoprolol": (12.5, 200, "mg"),
    "atenolol": (25, 100, "mg"),
    "propranolol": (10, 160, "mg"),
    "carvedilol": (3.125, 50, "mg"),
    "labetalol": (50, 400, "mg"),
    "indapamide": (1.5, 2.5, "mg"),
    "hydrochlorothiazide": (12.5, 50, "mg"),
    "furosemide": (20, 160, "mg"),
    "spironolactone": (12.5, 100, "mg"),
    "atorvastatin": (10, 80, "mg"),
    "rosuvastatin": (5, 40, "mg"),
    "simvastatin": (10, 80, "mg"),
    "clopidogrel": (75, 600, "mg"),
    "apixaban": (2.5, 10, "mg"),
    "rivaroxaban": (2.5, 20, "mg"),
    "warfarin": (0.5, 10, "mg"),
    "digoxin": (0.0625, 0.5, "mg"),
    "verapamil": (2.5, 240, "mg"),
    "diltiazem": (60, 360, "mg"),
    "nitroglycerin": (0.3, 0.8, "mg"),
    "omeprazole": (10, 40, "mg"),
    "esomeprazole": (20, 40, "mg"),
    "pantoprazole": (20, 40, "mg"),
    "lansoprazole": (15, 30, "mg"),
    "ondansetron": (4, 8, "mg"),
    "metoclopramide": (5, 10, "mg"),
    "domperidone": (10, 10, "mg"),
    "loperamide": (2, 4, "mg"),
    "albuterol": (0.1, 5, "mg"),
    "ipratropium": (0.02, 0.5, "mg"),
    "tiotropium": (0.0025, 0.018, "mg"),
    "beclomethasone": (0.05, 0.4, "mg"),
    "budesonide": (0.1, 2, "mg"),
    "fluticasone": (0.05, 0.5, "mg"),
    "montelukast": (4, 10, "mg"),
    "prednisolone": (1, 60, "mg"),
    "prednisone": (1, 60, "mg"),
    "hydrocortisone": (10, 200, "mg"),
    "dexamethasone": (0.5, 20, "mg"),
    "amoxicillin": (250, 1000, "mg"),
    "amoxicillin clavulanate": (375, 1000, "mg"),
    "cephalexin": (250, 1000, "mg"),
    "cefuroxime": (250, 1500, "mg"),
    "ceftriaxone": (250, 4000, "mg"),
    "azithromycin": (250, 500, "mg"),
    "clarithromycin": (250, 500, "mg"),
    "doxycycline": (100, 200, "mg"),
    "ciprofloxacin": (250, 750, "mg"),
    "levofloxacin": (250, 750, "mg"),
    "nitrofurantoin": (50, 100, "mg"),
    "trimethoprim": (100, 200, "mg"),
    "metronidazole": (200, 500, "mg"),
    "clindamycin": (150, 600, "mg"),
    "gentamicin": (80, 560, "mg"),
    "vancomycin": (500, 2000, "mg"),
    "fluconazole": (50, 400, "mg"),
    "acyclovir": (200, 800, "mg"),
    "oseltamivir": (30, 75, "mg"),
    "levothyroxine": (0.0125, 0.3, "mg"),
    "carbimazole": (5, 40, "mg"),
    "sertraline": (25, 200, "mg"),
    "escitalopram": (5, 20, "mg"),
    "citalopram": (10, 40, "mg"),
    "fluoxetine": (10, 60, "mg"),
    "amitriptyline": (10, 75, "mg"),
    "mirtazapine": (15, 45, "mg"),
    "melatonin": (1, 10, "mg"),
    "zolpidem": (5, 10, "mg"),
    "lorazepam": (0.5, 4, "mg"),
    "diazepam": (2, 10, "mg"),
    "levetiracetam": (250, 1500, "mg"),
    "lamotrigine": (25, 200, "mg"),
    "valproate": (200, 1000, "mg"),
    "carbamazepine": (100, 800, "mg"),
    "phenytoin": (50, 300, "mg"),
    "gabapentin": (100, 1200, "mg"),
    "pregabalin": (25, 300, "mg"),
    "sumatriptan": (50, 100, "mg"),
    "colchicine": (0.5, 1, "mg"),
    "allopurinol": (100, 300, "mg"),
    "methotrexate": (2.5, 25, "mg"),
    "hydroxychloroquine": (200, 400, "mg"),
    "folic acid": (0.4, 5, "mg"),
    "ferrous sulfate": (200, 325, "mg"),
    "cholecalciferol": (400, 50000, "[iU]"),
    "alendronate": (10, 70, "mg"),
    "finasteride": (1, 5, "mg"),
    "tamsulosin": (0.4, 0.4, "mg"),
    "solifenacin": (5, 10, "mg"),
    "cetirizine": (5, 10, "mg"),
    "loratadine": (10, 10, "mg"),
    "fexofenadine": (60, 180, "mg"),
    "chlorpheniramine": (4, 10, "mg"),
    "cinnarizine": (15, 30, "mg"),
    "betahistine": (8, 24, "mg"),
    "epinephrine": (0.1, 1, "mg"),
    "tranexamic acid": (500, 1500, "mg"),
    "enoxaparin": (20, 150, "mg"),
    "heparin": (1000, 10000, "[iU]"),
    "insulin glargine": (2, 100, "[iU]"),
    "insulin": (1, 100, "[iU]"),
}

#: Strengths that exist, for the drugs where a misheard number is common and dangerous.
STRENGTHS: dict[str, tuple[float, ...]] = {
    "acetaminophen": (325, 500, 650, 1000),
    "metformin": (500, 850, 1000),
    "amlodipine": (2.5, 5, 10),
    "atorvastatin": (10, 20, 40, 80),
    "aspirin": (75, 81, 150, 300, 325),
    "amoxicillin": (250, 500, 875, 1000),
    "ibuprofen": (200, 400, 600, 800),
    "levothyroxine": (0.025, 0.05, 0.075, 0.1, 0.125, 0.15),
}

_TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "ug": 0.001}


def in_mg(value: float, unit: str | None) -> float | None:
    """``value`` in milligrams, or None for units that are not a mass."""
    factor = _TO_MG.get((unit or "").strip())
    return value * factor if factor else None


def dose_problem(
    name: str, dose: float | None, unit: str | None, *, age_years: float | None = None
) -> str | None:
    """Why ``dose`` of ``name`` needs a clinician's look, or None when it is unremarkable.

    Only mass doses (and international units where the range is in units) are checked;
    counts (puffs, tablets) and unknown drugs are not.
    """
    if dose is None or name not in DOSE_RANGES:
        return None
    low, high, range_unit = DOSE_RANGES[name]
    if range_unit == "[iU]":
        if unit != "[iU]":
            return None
        value = dose
    else:
        got = in_mg(dose, unit)
        if got is None:
            return None
        value = got
    child = age_years is not None and age_years < 12
    if value > high * 1.0001:
        return "dose_above_usual_range"
    if not child and value < low * 0.9999:
        return "dose_below_usual_range"
    strengths = STRENGTHS.get(name)
    usual = not strengths or any(
        abs(value - st) < 1e-6 or abs(value / st - round(value / st)) < 1e-6 for st in strengths
    )
    if range_unit == "mg" and not child and not usual:
        return "dose_not_a_usual_strength"
    return None


def teen_ty_alternatives(value: float) -> list[float]:
    """Numbers a "-teen"/"-ty" confusion could have turned into ``value`` ("615" <-> "650").

    Whisper confuses "fifteen" and "fifty"; a dose like 615 may have been 650, 115 may be
    150, 40 may be 14. The alternatives are offered to the reviewer, never applied.
    """
    if value != int(value):
        return []
    v = int(value)
    out = []
    teens = {13: 30, 14: 40, 15: 50, 16: 60, 17: 70, 18: 80, 19: 90}
    tys = {b: a for a, b in teens.items()}
    hundreds, rest = divmod(v, 100)
    if rest in teens:
        out.append(hundreds * 100 + teens[rest])
    if rest in tys:
        out.append(hundreds * 100 + tys[rest])
    return [float(x) for x in out if x != v]
