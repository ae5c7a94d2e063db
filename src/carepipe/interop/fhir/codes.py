"""Terminology the FHIR builders emit and the validator checks.

One table per code system we choose codes from (LOINC, SNOMED CT routes and
categories, HL7 value sets), the UCUM units we allow, and the check-digit
algorithms that catch a mistyped LOINC (mod 10) or SNOMED CT (Verhoeff) code.

Every LOINC code below passes its check digit (a test asserts it), and every
unit is a UCUM code (``mm[Hg]``, not ``mmHg``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- Code system URIs --------------------------------------------------------------------

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER_STATUS = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"

# ABHA number (Ayushman Bharat Health Account, 14 digits). We emit the first; both
# are accepted when matching identifiers, since EMRs in India use either.
ABHA_SYSTEM = "https://healthid.ndhm.gov.in"
ABHA_SYSTEMS = frozenset({ABHA_SYSTEM, "https://healthid.abdm.gov.in"})
ABHA_PATTERN = re.compile(r"^\d{2}-?\d{4}-?\d{4}-?\d{4}$")

# HL7 v2 coding-system names (table 0396) -> FHIR code system URIs.
V2_CODING_SYSTEMS: dict[str, str] = {
    "LN": LOINC,
    "LOINC": LOINC,
    "SCT": SNOMED,
    "SNM": SNOMED,
    "SNOMED": SNOMED,
    "SNOMEDCT": SNOMED,
    "I10": ICD10,
    "ICD10": ICD10,
    "ICD-10": ICD10,
    "I10C": ICD10CM,
    "ICD10CM": ICD10CM,
    "RXN": RXNORM,
    "RXNORM": RXNORM,
    "UCUM": UCUM,
    # HL7 v2 (immunizations: VXU RXA-5, RXA-17, RXR-1/2)
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "MVX": "http://terminology.hl7.org/CodeSystem/MVX",
    "HL70162": "http://terminology.hl7.org/CodeSystem/v2-0162",
    "HL70163": "http://terminology.hl7.org/CodeSystem/v2-0163",
}


# --- LOINC -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoincEntry:
    """A LOINC code we emit: its display, the UCUM units allowed with it, its use."""

    display: str
    units: tuple[str, ...] = ()
    use: str = "lab"  # vital | lab | panel | document | section | order


_L = LoincEntry

LOINC_TABLE: dict[str, LoincEntry] = {
    # Vital signs (the FHIR vital-signs profile codes).
    "85354-9": _L("Blood pressure panel with all children optional", (), "vital"),
    "8480-6": _L("Systolic blood pressure", ("mm[Hg]",), "vital"),
    "8462-4": _L("Diastolic blood pressure", ("mm[Hg]",), "vital"),
    "8867-4": _L("Heart rate", ("/min",), "vital"),
    "9279-1": _L("Respiratory rate", ("/min",), "vital"),
    "8310-5": _L("Body temperature", ("Cel", "[degF]"), "vital"),
    "59408-5": _L("Oxygen saturation in Arterial blood by Pulse oximetry", ("%",), "vital"),
    "2708-6": _L("Oxygen saturation in Arterial blood", ("%",), "vital"),
    "29463-7": _L("Body weight", ("kg", "g", "[lb_av]"), "vital"),
    "8302-2": _L("Body height", ("cm", "m", "[in_i]"), "vital"),
    "39156-5": _L("Body mass index (BMI) [Ratio]", ("kg/m2",), "vital"),
    # Scribe: the baby's heart rate heard in an antenatal visit (not a maternal vital sign).
    "55283-6": _L("Fetal Heart rate", ("/min",)),
    # Documents and note sections.
    "11488-4": _L("Consult note", (), "document"),
    "34109-9": _L("Note", (), "document"),
    "11506-3": _L("Progress note", (), "document"),
    "11502-2": _L("Laboratory report", (), "document"),
    "57833-6": _L("Prescription for medication", (), "document"),
    "18842-5": _L("Discharge summary", (), "document"),
    "34133-9": _L("Summary of episode note", (), "document"),
    "61150-9": _L("Subjective Narrative", (), "section"),
    "61149-1": _L("Objective Narrative", (), "section"),
    "51848-0": _L("Evaluation note", (), "section"),
    "18776-5": _L("Plan of care note", (), "section"),
    "48765-2": _L("Allergies and adverse reactions Document", (), "section"),
    "10160-0": _L("History of Medication use Narrative", (), "section"),
    # Common laboratory results.
    "718-7": _L("Hemoglobin [Mass/volume] in Blood", ("g/dL", "g/L")),
    "4544-3": _L("Hematocrit [Volume Fraction] of Blood by Automated count", ("%",)),
    "789-8": _L("Erythrocytes [#/volume] in Blood by Automated count", ("10*6/uL", "10*12/L")),
    "6690-2": _L("Leukocytes [#/volume] in Blood by Automated count", ("10*3/uL", "10*9/L")),
    "777-3": _L("Platelets [#/volume] in Blood by Automated count", ("10*3/uL", "10*9/L")),
    "787-2": _L("MCV [Entitic volume] by Automated count", ("fL",)),
    "785-6": _L("MCH [Entitic mass] by Automated count", ("pg",)),
    "786-4": _L("MCHC [Mass/volume] by Automated count", ("g/dL", "g/L")),
    "770-8": _L("Neutrophils/100 leukocytes in Blood by Automated count", ("%",)),
    "736-9": _L("Lymphocytes/100 leukocytes in Blood by Automated count", ("%",)),
    "30341-2": _L("Erythrocyte sedimentation rate", ("mm/h",)),
    "2345-7": _L("Glucose [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "2339-0": _L("Glucose [Mass/volume] in Blood", ("mg/dL", "mmol/L")),
    "15074-8": _L("Glucose [Moles/volume] in Blood", ("mmol/L",)),
    "1558-6": _L("Fasting glucose [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "4548-4": _L("Hemoglobin A1c/Hemoglobin.total in Blood", ("%",)),
    "2160-0": _L("Creatinine [Mass/volume] in Serum or Plasma", ("mg/dL", "umol/L")),
    "3094-0": _L("Urea nitrogen [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "3084-1": _L("Urate [Mass/volume] in Serum or Plasma", ("mg/dL", "umol/L")),
    "2951-2": _L("Sodium [Moles/volume] in Serum or Plasma", ("mmol/L", "meq/L")),
    "2947-0": _L("Sodium [Moles/volume] in Blood", ("mmol/L", "meq/L")),
    "2823-3": _L("Potassium [Moles/volume] in Serum or Plasma", ("mmol/L", "meq/L")),
    "2075-0": _L("Chloride [Moles/volume] in Serum or Plasma", ("mmol/L", "meq/L")),
    "17861-6": _L("Calcium [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "2093-3": _L("Cholesterol [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "2571-8": _L("Triglyceride [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "2085-9": _L("Cholesterol in HDL [Mass/volume] in Serum or Plasma", ("mg/dL", "mmol/L")),
    "13457-7": _L(
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
        ("mg/dL", "mmol/L"),
    ),
    "1742-6": _L("Alanine aminotransferase [Enzymatic activity/volume]", ("U/L",)),
    "1920-8": _L("Aspartate aminotransferase [Enzymatic activity/volume]", ("U/L",)),
    "6768-6": _L("Alkaline phosphatase [Enzymatic activity/volume]", ("U/L",)),
    "2157-6": _L("Creatine kinase [Enzymatic activity/volume]", ("U/L",)),
    "1975-2": _L("Bilirubin.total [Mass/volume] in Serum or Plasma", ("mg/dL", "umol/L")),
    "1751-7": _L("Albumin [Mass/volume] in Serum or Plasma", ("g/dL", "g/L")),
    "2885-2": _L("Protein [Mass/volume] in Serum or Plasma", ("g/dL", "g/L")),
    "3016-3": _L("Thyrotropin [Units/volume] in Serum or Plasma", ("m[IU]/L", "u[IU]/mL")),
    "1988-5": _L("C reactive protein [Mass/volume] in Serum or Plasma", ("mg/L", "mg/dL")),
    "2276-4": _L("Ferritin [Mass/volume] in Serum or Plasma", ("ng/mL", "ug/L")),
    "5902-2": _L("Prothrombin time (PT)", ("s",)),
    "6301-6": _L("INR in Platelet poor plasma by Coagulation assay", ("{INR}", "1")),
    "14979-9": _L("aPTT in Platelet poor plasma by Coagulation assay", ("s",)),
    # Common orderable panels.
    "58410-2": _L("CBC panel - Blood by Automated count", (), "order"),
    "24323-8": _L("Comprehensive metabolic 2000 panel - Serum or Plasma", (), "order"),
    "51990-0": _L("Basic metabolic panel - Blood", (), "order"),
    "57698-3": _L("Lipid panel with direct LDL - Serum or Plasma", (), "order"),
    "24325-3": _L("Hepatic function 2000 panel - Serum or Plasma", (), "order"),
    "24362-6": _L("Renal function 2000 panel - Serum or Plasma", (), "order"),
    "24356-8": _L("Urinalysis complete panel - Urine", (), "order"),
}

# Vital sign kinds -> (LOINC code, default UCUM unit).
VITAL_SIGNS: dict[str, tuple[str, str]] = {
    "blood_pressure": ("85354-9", "mm[Hg]"),
    "heart_rate": ("8867-4", "/min"),
    "respiratory_rate": ("9279-1", "/min"),
    "temperature": ("8310-5", "Cel"),
    "spo2": ("59408-5", "%"),
    "weight": ("29463-7", "kg"),
    "height": ("8302-2", "cm"),
    "bmi": ("39156-5", "kg/m2"),
}
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"

# Document kinds -> LOINC document type.
DOCUMENT_TYPES: dict[str, str] = {
    "lab_report": "11502-2",
    "prescription": "57833-6",
    "discharge_summary": "18842-5",
    "other": "34133-9",
}
NOTE_TYPES: dict[str, str] = {"consult": "11488-4", "note": "34109-9", "progress": "11506-3"}
SOAP_SECTIONS: dict[str, tuple[str, str]] = {
    "subjective": ("61150-9", "Subjective"),
    "objective": ("61149-1", "Objective"),
    "assessment": ("51848-0", "Assessment"),
    "plan": ("18776-5", "Plan"),
}


def loinc_check_digit(base: str) -> int:
    """The LOINC mod-10 check digit of the part before the hyphen (Luhn)."""
    total = 0
    for i, ch in enumerate(reversed(base)):
        digit = int(ch)
        if i % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


_LOINC_FORMAT = re.compile(r"^(\d{1,7})-(\d)$")


def is_wellformed_loinc(code: str) -> bool:
    """True when ``code`` looks like ``NNNNN-C`` and its check digit is right."""
    match = _LOINC_FORMAT.match(code)
    if match is None:
        return False
    return loinc_check_digit(match.group(1)) == int(match.group(2))


# --- SNOMED CT -----------------------------------------------------------------------------

_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def is_wellformed_snomed(code: str) -> bool:
    """True for a 6-18 digit SNOMED CT identifier with a valid Verhoeff check digit."""
    if not (code.isdigit() and 6 <= len(code) <= 18) or code[0] == "0":
        return False
    check = 0
    for i, ch in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0


_ICD10_FORMAT = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")


def is_wellformed_icd10(code: str) -> bool:
    """True for an ICD-10 code shaped like ``E11`` or ``E11.9``."""
    return _ICD10_FORMAT.match(code) is not None


# Routes of administration (SNOMED CT qualifier values).
ROUTES: dict[str, tuple[str, str]] = {
    "oral": ("26643006", "Oral route"),
    "po": ("26643006", "Oral route"),
    "by mouth": ("26643006", "Oral route"),
    "intravenous": ("47625008", "Intravenous route"),
    "iv": ("47625008", "Intravenous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "im": ("78421000", "Intramuscular route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "sc": ("34206005", "Subcutaneous route"),
    "sq": ("34206005", "Subcutaneous route"),
    "topical": ("6064005", "Topical route"),
    "sublingual": ("37839007", "Sublingual route"),
    "sl": ("37839007", "Sublingual route"),
    "rectal": ("37161004", "Rectal route"),
    "pr": ("37161004", "Rectal route"),
    "nasal": ("46713006", "Nasal route"),
    "ophthalmic": ("54485002", "Ophthalmic route"),
    "vaginal": ("16857009", "Per vagina"),
    "transdermal": ("45890007", "Transdermal route"),
    "inhaled": ("447694001", "Respiratory tract route"),
    "inhalation": ("447694001", "Respiratory tract route"),
}

# ServiceRequest categories (SNOMED CT, the R4 example value set).
SERVICE_CATEGORIES: dict[str, tuple[str, str]] = {
    "laboratory": ("108252007", "Laboratory procedure"),
    "imaging": ("363679005", "Imaging"),
    "counselling": ("409063005", "Counselling"),
    "referral": ("3457005", "Patient referral"),
    "procedure": ("387713003", "Surgical procedure"),
}

# --- UCUM ----------------------------------------------------------------------------------

# Units we write with system UCUM. Anything else is kept as a plain ``unit`` text.
UCUM_UNITS: frozenset[str] = frozenset(
    {unit for entry in LOINC_TABLE.values() for unit in entry.units}
    | {
        "mg", "g", "ug", "ng", "kg", "mL", "L", "uL", "dL",
        "s", "min", "h", "d", "wk", "mo", "a",
        "mmol/L", "umol/L", "nmol/L", "pmol/L", "mg/dL", "g/dL", "g/L", "mg/L", "ug/dL",
        "ug/L", "ng/mL", "ng/dL", "pg/mL", "meq/L", "mosm/kg", "U/L", "[IU]/L", "m[IU]/L",
        "u[IU]/mL", "[IU]", "U", "10*3/uL", "10*6/uL", "10*9/L", "10*12/L", "/uL", "fL",
        "pg", "%", "/min", "mm[Hg]", "Cel", "[degF]", "[lb_av]", "[in_i]", "cm", "m",
        "kg/m2", "mm/h", "mL/min", "{INR}", "1", "{ratio}",
        "mL/min/{1.73_m2}",  # eGFR (OCR documents, issue 12)
        "{tablet}", "{capsule}", "{puff}", "[drp]",
    }
)  # fmt: skip

# Common spellings -> UCUM code (lower-cased keys).
_UNIT_ALIASES: dict[str, str] = {
    "mmhg": "mm[Hg]", "mm hg": "mm[Hg]",
    "bpm": "/min", "beats/min": "/min", "breaths/min": "/min", "per min": "/min",
    "/min": "/min", "min-1": "/min",
    "c": "Cel", "°c": "Cel", "degc": "Cel", "deg c": "Cel", "celsius": "Cel", "cel": "Cel",
    "f": "[degF]", "°f": "[degF]", "degf": "[degF]", "deg f": "[degF]", "fahrenheit": "[degF]",
    "kg": "kg", "kgs": "kg", "g": "g", "gm": "g", "gms": "g", "mg": "mg", "mcg": "ug",
    "µg": "ug", "ug": "ug", "lb": "[lb_av]", "lbs": "[lb_av]", "pounds": "[lb_av]",
    "cm": "cm", "m": "m", "in": "[in_i]", "inch": "[in_i]", "inches": "[in_i]",
    "%": "%", "percent": "%", "kg/m2": "kg/m2", "kg/m^2": "kg/m2",
    "ml": "mL", "l": "L",
    "mg/dl": "mg/dL", "g/dl": "g/dL", "g/l": "g/L", "mg/l": "mg/L", "ug/dl": "ug/dL",
    "mmol/l": "mmol/L", "umol/l": "umol/L", "µmol/l": "umol/L", "nmol/l": "nmol/L",
    "meq/l": "meq/L", "ng/ml": "ng/mL", "ng/dl": "ng/dL", "pg/ml": "pg/mL", "ug/l": "ug/L",
    "u/l": "U/L", "iu/l": "[IU]/L", "miu/l": "m[IU]/L", "uiu/ml": "u[IU]/mL",
    "µiu/ml": "u[IU]/mL",
    "10^3/ul": "10*3/uL", "x10^3/ul": "10*3/uL", "10*3/ul": "10*3/uL", "k/ul": "10*3/uL",
    "thou/ul": "10*3/uL", "10^6/ul": "10*6/uL", "x10^6/ul": "10*6/uL", "10*6/ul": "10*6/uL",
    "mill/ul": "10*6/uL", "10^9/l": "10*9/L", "x10^9/l": "10*9/L", "10^12/l": "10*12/L",
    "x10^12/l": "10*12/L", "fl": "fL", "pg": "pg", "mm/hr": "mm/h", "mm/h": "mm/h",
    "sec": "s", "secs": "s", "seconds": "s", "s": "s", "inr": "{INR}",
    "tablet": "{tablet}", "tablets": "{tablet}", "tab": "{tablet}", "tabs": "{tablet}",
    "capsule": "{capsule}", "capsules": "{capsule}", "cap": "{capsule}", "caps": "{capsule}",
    "puff": "{puff}", "puffs": "{puff}", "drop": "[drp]", "drops": "[drp]",
    "iu": "[IU]", "unit": "U", "units": "U",
}  # fmt: skip

# --- orders (issue 12): units of medication doses ----------------------------------------
UCUM_UNITS = UCUM_UNITS | frozenset(
    {"[iU]", "meq", "mmol", "mg/kg", "ug/kg", "[iU]/kg", "{sachet}", "{spray}", "{respule}"}
)
_UNIT_ALIASES.update(
    {"sachet": "{sachet}", "sachets": "{sachet}", "spray": "{spray}", "sprays": "{spray}",
     "respule": "{respule}", "respules": "{respule}", "mcg/kg": "ug/kg", "meq": "meq"}
)  # fmt: skip


def to_ucum(unit: str | None) -> str | None:
    """The UCUM code for a unit as written by people or labs, or None if unknown."""
    if unit is None:
        return None
    text = unit.strip()
    if text in UCUM_UNITS:
        return text
    return _UNIT_ALIASES.get(text.lower())


# --- Value sets (R4) ------------------------------------------------------------------------

GENDERS = frozenset({"male", "female", "other", "unknown"})
HL7_SEX: dict[str, str] = {
    "M": "male",
    "F": "female",
    "O": "other",
    "A": "other",  # ambiguous
    "U": "unknown",
    "N": "unknown",  # not applicable
}

STATUS: dict[str, frozenset[str]] = {
    "Encounter": frozenset(
        {"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
         "entered-in-error", "unknown"}
    ),
    "Composition": frozenset({"preliminary", "final", "amended", "entered-in-error"}),
    "Observation": frozenset(
        {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
         "entered-in-error", "unknown"}
    ),
    "DiagnosticReport": frozenset(
        {"registered", "partial", "preliminary", "final", "amended", "corrected", "appended",
         "cancelled", "entered-in-error", "unknown"}
    ),
    "MedicationStatement": frozenset(
        {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold",
         "unknown", "not-taken"}
    ),
    "MedicationRequest": frozenset(
        {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
         "unknown"}
    ),
    "ServiceRequest": frozenset(
        {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
    ),
    "DocumentReference": frozenset({"current", "superseded", "entered-in-error"}),
    "Appointment": frozenset(
        {"proposed", "pending", "booked", "arrived", "fulfilled", "cancelled", "noshow",
         "entered-in-error", "checked-in", "waitlist"}
    ),
}  # fmt: skip

DOC_STATUS = frozenset({"preliminary", "final", "amended", "entered-in-error"})
MEDICATION_REQUEST_INTENT = frozenset(
    {"proposal", "plan", "order", "original-order", "reflex-order", "filler-order",
     "instance-order", "option"}
)  # fmt: skip
SERVICE_REQUEST_INTENT = MEDICATION_REQUEST_INTENT | {"directive"}
REQUEST_PRIORITY = frozenset({"routine", "urgent", "asap", "stat"})
PARTICIPANT_STATUS = frozenset({"accepted", "declined", "tentative", "needs-action"})
CONDITION_CLINICAL_CODES = frozenset(
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
)
CONDITION_VERIFICATION_CODES = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
CONDITION_CATEGORY_CODES = frozenset({"problem-list-item", "encounter-diagnosis"})
ALLERGY_CLINICAL_CODES = frozenset({"active", "inactive", "resolved"})
ALLERGY_VERIFICATION_CODES = frozenset({"unconfirmed", "confirmed", "refuted", "entered-in-error"})
ALLERGY_TYPE = frozenset({"allergy", "intolerance"})
ALLERGY_CATEGORY = frozenset({"food", "medication", "environment", "biologic"})
ALLERGY_CRITICALITY = frozenset({"low", "high", "unable-to-assess"})
OBSERVATION_CATEGORY_CODES = frozenset(
    {"social-history", "vital-signs", "imaging", "laboratory", "procedure", "survey", "exam",
     "therapy", "activity"}
)  # fmt: skip
INTERPRETATION_CODES: dict[str, str] = {
    "N": "Normal",
    "A": "Abnormal",
    "AA": "Critical abnormal",
    "H": "High",
    "HH": "Critical high",
    "L": "Low",
    "LL": "Critical low",
    "<": "Off scale low",
    ">": "Off scale high",
}
ENCOUNTER_CLASSES: dict[str, str] = {
    "AMB": "ambulatory",
    "EMER": "emergency",
    "FLD": "field",
    "HH": "home health",
    "IMP": "inpatient encounter",
    "ACUTE": "inpatient acute",
    "NONAC": "inpatient non-acute",
    "OBSENC": "observation encounter",
    "PRENC": "pre-admission",
    "SS": "short stay",
    "VR": "virtual",
}
# HL7 v2 PV1-2 patient class -> v3 ActCode encounter class.
HL7_PATIENT_CLASS: dict[str, str] = {
    "I": "IMP",
    "O": "AMB",
    "E": "EMER",
    "P": "PRENC",
    "R": "AMB",  # recurring patient
    "B": "AMB",  # obstetrics
}
PERIOD_UNITS = frozenset({"s", "min", "h", "d", "wk", "mo", "a"})
BUNDLE_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"})

# HL7 v2 result status (OBX-11) -> Observation.status.
OBX_STATUS: dict[str, str] = {
    "F": "final",
    "P": "preliminary",
    "C": "corrected",
    "R": "preliminary",  # results entered, not verified
    "S": "preliminary",  # partial
    "I": "registered",  # specimen in lab
    "X": "cancelled",  # result cannot be obtained
    "W": "entered-in-error",
    "D": "entered-in-error",
}
# HL7 v2 result status (OBR-25) -> DiagnosticReport.status.
OBR_STATUS: dict[str, str] = {
    "F": "final",
    "P": "preliminary",
    "C": "corrected",
    "A": "partial",
    "R": "preliminary",
    "S": "partial",
    "I": "registered",
    "O": "registered",
    "X": "cancelled",
}
