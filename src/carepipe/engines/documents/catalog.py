"""Lab tests we recognise: names as printed, LOINC code, and UCUM units.

A LOINC code is attached only when the reported unit matches the code's property
(mass concentration, substance concentration, count...). A glucose in mmol/L is not
2345-7 (mass/volume), so it gets no code rather than a wrong one. Tests whose
code we are not sure of are listed with ``loinc=None``: recognised, never coded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LabTest:
    key: str
    display: str
    loinc: str | None
    units: frozenset[str]  # UCUM units the LOINC code is valid for; first-class unit below
    unit: str | None  # canonical UCUM unit values are converted to where exact
    aliases: tuple[str, ...]


def _t(key: str, display: str, loinc: str | None, units: str, *aliases: str) -> LabTest:
    unit_set = frozenset(u for u in units.split() if u)
    canonical = units.split()[0] if units else None
    return LabTest(key, display, loinc, unit_set, canonical, aliases)


CATALOG: tuple[LabTest, ...] = (
    # Haematology
    _t("hemoglobin", "Hemoglobin", "718-7", "g/dL",
       "haemoglobin", "hemoglobin", "hb", "hgb"),
    _t("leukocytes", "WBC count", "6690-2", "10*3/uL",
       "total wbc count", "wbc count", "total leucocyte count", "total leukocyte count",
       "white blood cell count", "white cell count", "leucocyte count", "leukocyte count",
       "tlc", "wbc"),
    _t("platelets", "Platelet count", "777-3", "10*3/uL",
       "platelet count", "platelets", "plt count", "plt"),
    _t("erythrocytes", "RBC count", "789-8", "10*6/uL",
       "total rbc count", "rbc count", "red blood cell count", "erythrocyte count", "rbc"),
    _t("hematocrit", "Hematocrit", "4544-3", "%",
       "haematocrit", "hematocrit", "packed cell volume", "pcv", "hct"),
    _t("mcv", "MCV", "787-2", "fL", "mean corpuscular volume", "mcv"),
    _t("mch", "MCH", "785-6", "pg", "mean corpuscular hemoglobin", "mch"),
    _t("mchc", "MCHC", "786-4", "g/dL", "mchc"),
    _t("neutrophils_pct", "Neutrophils %", "770-8", "%", "neutrophils", "polymorphs"),
    _t("lymphocytes_pct", "Lymphocytes %", "736-9", "%", "lymphocytes"),
    _t("monocytes_pct", "Monocytes %", "5905-5", "%", "monocytes"),
    _t("eosinophils_pct", "Eosinophils %", "713-8", "%", "eosinophils"),
    _t("basophils_pct", "Basophils %", "706-2", "%", "basophils"),
    _t("esr", "ESR", None, "mm/h", "erythrocyte sedimentation rate", "esr"),
    # Diabetes
    _t("glucose_fasting", "Fasting glucose", "1558-6", "mg/dL",
       "fasting blood glucose", "fasting plasma glucose", "fasting glucose", "glucose fasting",
       "glucose, fasting", "fbs", "fbg"),
    _t("glucose_pp", "Post-prandial glucose", None, "mg/dL",
       "post prandial glucose", "postprandial glucose", "glucose pp", "ppbs"),
    _t("glucose", "Glucose", "2345-7", "mg/dL",
       "random blood glucose", "random glucose", "blood glucose", "glucose random", "glucose",
       "rbs"),
    _t("hba1c", "HbA1c", "4548-4", "%",
       "glycated hemoglobin", "glycosylated hemoglobin", "hemoglobin a1c", "hba1c"),
    # Kidney, electrolytes
    _t("creatinine", "Creatinine", "2160-0", "mg/dL", "serum creatinine", "creatinine"),
    _t("bun", "Urea nitrogen", "3094-0", "mg/dL", "blood urea nitrogen", "bun"),
    _t("urea", "Urea", "3091-6", "mg/dL", "blood urea", "serum urea", "urea"),
    _t("sodium", "Sodium", "2951-2", "mmol/L meq/L", "serum sodium", "sodium", "na+", "na"),
    _t("potassium", "Potassium", "2823-3", "mmol/L meq/L",
       "serum potassium", "potassium", "k+"),
    _t("chloride", "Chloride", "2075-0", "mmol/L meq/L", "serum chloride", "chloride", "cl-"),
    _t("calcium", "Calcium", "17861-6", "mg/dL", "serum calcium", "total calcium", "calcium"),
    _t("uric_acid", "Uric acid", "3084-1", "mg/dL", "serum uric acid", "uric acid"),
    # Liver
    _t("bilirubin_total", "Total bilirubin", "1975-2", "mg/dL",
       "total bilirubin", "bilirubin total", "bilirubin, total", "s. bilirubin"),
    _t("alt", "ALT", "1742-6", "U/L", "sgpt", "alt", "alanine aminotransferase"),
    _t("ast", "AST", "1920-8", "U/L", "sgot", "ast", "aspartate aminotransferase"),
    _t("alp", "Alkaline phosphatase", "6768-6", "U/L", "alkaline phosphatase", "alp"),
    _t("albumin", "Albumin", "1751-7", "g/dL", "serum albumin", "albumin"),
    _t("protein_total", "Total protein", "2885-2", "g/dL", "total protein", "protein total"),
    # Thyroid
    _t("tsh", "TSH", "3016-3", "m[IU]/L",
       "thyroid stimulating hormone", "tsh", "s. tsh", "serum tsh"),
    # Lipids (LDL: the code depends on the method, so it is chosen per line)
    _t("cholesterol_total", "Total cholesterol", "2093-3", "mg/dL",
       "total cholesterol", "cholesterol total", "cholesterol, total", "serum cholesterol",
       "s. cholesterol", "cholesterol"),
    _t("hdl_cholesterol", "HDL cholesterol", "2085-9", "mg/dL",
       "hdl cholesterol", "hdl-cholesterol", "hdl-c", "hdl"),
    _t("ldl_cholesterol", "LDL cholesterol", None, "mg/dL",
       "ldl cholesterol", "ldl-cholesterol", "ldl-c", "ldl"),
    _t("vldl_cholesterol", "VLDL cholesterol", "13458-5", "mg/dL",
       "vldl cholesterol", "vldl-cholesterol", "vldl"),
    _t("triglycerides", "Triglycerides", "2571-8", "mg/dL",
       "triglycerides", "triglyceride", "tg"),
)  # fmt: skip

#: LDL codes by method, as printed on the line (calculated vs direct measurement).
LDL_CALCULATED = "13457-7"
LDL_DIRECT = "18262-6"


def _alias_pattern(alias: str) -> str:
    # Spaces in an alias match any run of spaces/dots (OCR drops or adds them);
    # letters may be separated by an OCR'd stray '.' only where the alias has one.
    # Digits in names (HbA1c, B12) are often read as letters: accept the lookalikes.
    parts = [re.escape(p).replace("1", "[1lI]").replace("0", "[0O]") for p in alias.split()]
    return r"[\s.]*".join(parts)


# One pattern per test, longest alias first so "total wbc count" beats "wbc".
_PATTERNS: list[tuple[re.Pattern[str], LabTest]] = []
for _test in CATALOG:
    _aliases = sorted(_test.aliases, key=len, reverse=True)
    _PATTERNS.append(
        (
            re.compile(
                r"^[^A-Za-z0-9]{0,3}(" + "|".join(_alias_pattern(a) for a in _aliases) + r")"
                r"(?![A-Za-z])",
                re.IGNORECASE,
            ),
            _test,
        )
    )


def match_test(line: str) -> tuple[LabTest, int, int] | None:
    """The test named at the start of ``line`` and the name's span, or ``None``.

    When several tests match (``glucose`` and ``glucose fasting``), the longest
    printed name wins.
    """
    best: tuple[LabTest, int, int] | None = None
    for pattern, test in _PATTERNS:
        match = pattern.match(line)
        if match and (best is None or match.end(1) > best[2]):
            best = (test, match.start(1), match.end(1))
    return best
