"""Lab tests we recognise: names as printed, LOINC code, UCUM units and what is plausible.

A LOINC code is attached only when the reported unit matches the code's property
(mass concentration, substance concentration, count...). A glucose in mmol/L is not
2345-7 (mass/volume), so it gets no code rather than a wrong one. Tests whose
code we are not sure of are listed with ``loinc=None``: recognised, never coded.

Each test also carries what a reading is checked against (``plausibility``):

- ``typical``: the usual adult reference interval in the canonical unit. A printed
  range five or more times away from it was misread ("3.8 - 4.8" read as 38-48).
- ``limits``: values outside these are not results a living patient has (or a
  decimal point was lost): the value is held for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Range = tuple[float | None, float | None]


@dataclass(frozen=True)
class LabTest:
    key: str
    display: str
    loinc: str | None
    units: frozenset[str]  # UCUM units the LOINC code is valid for; first-class unit below
    unit: str | None  # canonical UCUM unit values are converted to where exact
    aliases: tuple[str, ...]
    typical: Range = (None, None)
    limits: Range = (None, None)

    @property
    def unitless(self) -> bool:
        """Ratios are printed without a unit."""
        return self.unit == "{ratio}"


def _t(
    key: str,
    display: str,
    loinc: str | None,
    units: str,
    aliases: tuple[str, ...],
    typical: Range = (None, None),
    limits: Range = (None, None),
) -> LabTest:
    unit_set = frozenset(u for u in units.split() if u)
    canonical = units.split()[0] if units else None
    return LabTest(key, display, loinc, unit_set, canonical, aliases, typical, limits)


CATALOG: tuple[LabTest, ...] = (
    # Haematology
    _t("hemoglobin", "Hemoglobin", "718-7", "g/dL",
       ("haemoglobin", "hemoglobin", "haemoglobin (hb)", "hemoglobin (hb)", "hb", "hgb"),
       (12.0, 17.5), (2.0, 25.0)),
    _t("leukocytes", "WBC count", "6690-2", "10*3/uL",
       ("total wbc count", "wbc count", "total leucocyte count", "total leukocyte count",
        "total leucocyte count (tlc)", "white blood cell count", "white cell count",
        "leucocyte count", "leukocyte count", "tlc", "wbc"),
       (4.0, 11.0), (0.1, 500.0)),
    _t("platelets", "Platelet count", "777-3", "10*3/uL",
       ("platelet count", "platelets", "plt count", "plt"), (150.0, 450.0), (1.0, 2500.0)),
    _t("erythrocytes", "RBC count", "789-8", "10*6/uL",
       ("total rbc count", "rbc count", "red blood cell count", "red cell count",
        "erythrocyte count", "rbc"), (3.8, 5.9), (0.5, 9.0)),
    _t("hematocrit", "Hematocrit", "4544-3", "%",
       ("haematocrit", "hematocrit", "packed cell volume", "pcv (packed cell volume)",
        "haematocrit (pcv)", "pcv", "hct"), (36.0, 50.0), (8.0, 75.0)),
    _t("mcv", "MCV", "787-2", "fL", ("mean corpuscular volume", "mcv"), (80.0, 101.0),
       (40.0, 150.0)),
    _t("mch", "MCH", "785-6", "pg", ("mean corpuscular hemoglobin", "mch"), (27.0, 33.0),
       (10.0, 50.0)),
    _t("mchc", "MCHC", "786-4", "g/dL", ("mchc",), (31.5, 36.0), (20.0, 45.0)),
    _t("rdw", "RDW", "788-0", "%", ("rdw-cv", "rdw cv", "rdw"), (11.5, 14.5), (8.0, 40.0)),
    _t("neutrophils_pct", "Neutrophils %", "770-8", "%", ("neutrophils", "polymorphs"),
       (40.0, 75.0), (0.0, 100.0)),
    _t("lymphocytes_pct", "Lymphocytes %", "736-9", "%", ("lymphocytes", "lymphs"),
       (20.0, 45.0), (0.0, 100.0)),
    _t("monocytes_pct", "Monocytes %", "5905-5", "%", ("monocytes",), (2.0, 10.0),
       (0.0, 100.0)),
    _t("eosinophils_pct", "Eosinophils %", "713-8", "%", ("eosinophils", "eos"), (1.0, 6.0),
       (0.0, 100.0)),
    _t("basophils_pct", "Basophils %", "706-2", "%", ("basophils",), (0.0, 2.0), (0.0, 100.0)),
    _t("esr", "ESR", None, "mm/h", ("erythrocyte sedimentation rate", "esr"), (0.0, 20.0),
       (0.0, 160.0)),
    # Diabetes
    _t("glucose_fasting", "Fasting glucose", "1558-6", "mg/dL",
       ("fasting blood glucose", "fasting plasma glucose", "fasting glucose", "glucose fasting",
        "glucose, fasting", "glucose fasting (plasma)", "plasma glucose - fasting",
        "plasma glucose fasting", "fasting blood sugar", "fasting blood sugar (fbs)", "fbs",
        "fbg"), (70.0, 100.0), (10.0, 1500.0)),
    _t("glucose_pp", "Post-prandial glucose", "1521-4", "mg/dL",
       ("post prandial glucose", "postprandial glucose", "glucose pp", "glucose pp (2 hrs)",
        "post prandial blood sugar", "post prandial blood sugar (ppbs)",
        "glucose, 2 hour postprandial", "glucose 2 hour postprandial", "ppbs"),
       (70.0, 140.0), (10.0, 1500.0)),
    _t("glucose", "Glucose", "2345-7", "mg/dL",
       ("random blood glucose", "random glucose", "blood glucose", "glucose random", "glucose",
        "rbs"), (70.0, 140.0), (10.0, 1500.0)),
    _t("hba1c", "HbA1c", "4548-4", "%",
       ("glycated hemoglobin", "glycated haemoglobin", "glycosylated hemoglobin",
        "glycosylated hemoglobin (hba1c)", "hba1c (glycated haemoglobin)", "hemoglobin a1c",
        "hba1c"), (4.0, 6.0), (2.0, 20.0)),
    _t("eag", "Estimated average glucose", "27353-2", "mg/dL",
       ("estimated average glucose (eag)", "estimated average glucose", "eag"), (68.0, 126.0),
       (20.0, 700.0)),
    # Thyroid
    _t("t3_total", "T3 total", "3053-6", "ng/dL",
       ("t3 (triiodothyronine), total", "triiodothyronine total", "t3, total", "total t3",
        "t3 total"), (80.0, 200.0), (10.0, 1000.0)),
    _t("t4_total", "T4 total", "3026-2", "ug/dL",
       ("t4 (thyroxine), total", "thyroxine total", "t4, total", "total t4", "t4 total"),
       (4.5, 12.5), (0.5, 40.0)),
    _t("ft4", "Free T4", "3024-7", "ng/dL",
       ("free t4 (ft4)", "free t4", "t4, free", "ft4"), (0.8, 1.8), (0.05, 10.0)),
    _t("tsh", "TSH", "3016-3", "m[IU]/L",
       ("thyroid stimulating hormone", "tsh (thyroid stimulating hormone)",
        "tsh - ultrasensitive", "tsh ultrasensitive", "tsh", "s. tsh", "serum tsh"),
       (0.3, 4.5), (0.001, 200.0)),
    # Kidney, electrolytes
    _t("creatinine", "Creatinine", "2160-0", "mg/dL",
       ("serum creatinine", "creatinine, serum", "creatinine"), (0.6, 1.3), (0.1, 25.0)),
    _t("bun", "Urea nitrogen", "3094-0", "mg/dL",
       ("blood urea nitrogen (bun)", "blood urea nitrogen", "urea nitrogen (bun)",
        "urea nitrogen", "bun"), (7.0, 23.0), (1.0, 250.0)),
    _t("urea", "Urea", "3091-6", "mg/dL", ("blood urea", "serum urea", "urea, serum", "urea"),
       (15.0, 45.0), (2.0, 500.0)),
    _t("sodium", "Sodium", "2951-2", "mmol/L meq/L",
       ("serum sodium", "sodium (na+)", "sodium", "na+", "na"), (135.0, 146.0), (90.0, 200.0)),
    _t("potassium", "Potassium", "2823-3", "mmol/L meq/L",
       ("serum potassium", "potassium (k+)", "potassium", "k+"), (3.5, 5.2), (1.0, 10.0)),
    _t("chloride", "Chloride", "2075-0", "mmol/L meq/L",
       ("serum chloride", "chloride (cl-)", "chloride", "cl-"), (96.0, 108.0), (60.0, 150.0)),
    _t("bicarbonate", "Bicarbonate", "1963-8", "mmol/L meq/L",
       ("bicarbonate (hco3)", "bicarbonate", "hco3"), (22.0, 30.0), (3.0, 60.0)),
    _t("co2_total", "Carbon dioxide, total", "2028-9", "mmol/L meq/L",
       ("carbon dioxide, total", "carbon dioxide total", "co2, total", "total co2", "co2"),
       (22.0, 30.0), (3.0, 60.0)),
    _t("calcium", "Calcium", "17861-6", "mg/dL",
       ("serum calcium", "calcium, total", "total calcium", "calcium"), (8.5, 10.5),
       (3.0, 20.0)),
    _t("uric_acid", "Uric acid", "3084-1", "mg/dL", ("serum uric acid", "uric acid"),
       (2.5, 7.5), (0.5, 25.0)),
    _t("egfr", "eGFR", "62238-1", "mL/min/{1.73_m2}",
       ("egfr (ckd-epi 2021)", "egfr (ckd-epi)", "egfr ckd-epi", "egfr"), (60.0, None),
       (1.0, 200.0)),
    # Liver
    _t("bilirubin_total", "Total bilirubin", "1975-2", "mg/dL",
       ("total bilirubin", "bilirubin total", "bilirubin, total", "s. bilirubin",
        "serum bilirubin"), (0.2, 1.2), (0.05, 50.0)),
    _t("bilirubin_direct", "Direct bilirubin", "1968-7", "mg/dL",
       ("direct bilirubin", "bilirubin direct", "bilirubin, direct", "conjugated bilirubin"),
       (0.0, 0.3), (0.0, 30.0)),
    _t("bilirubin_indirect", "Indirect bilirubin", "1971-1", "mg/dL",
       ("indirect bilirubin", "bilirubin indirect", "bilirubin, indirect",
        "unconjugated bilirubin"), (0.1, 1.0), (0.0, 40.0)),
    _t("alt", "ALT", "1742-6", "U/L",
       ("sgpt (alt)", "alt (sgpt)", "sgpt", "alt", "alanine aminotransferase"), (7.0, 56.0),
       (1.0, 10000.0)),
    _t("ast", "AST", "1920-8", "U/L",
       ("sgot (ast)", "ast (sgot)", "sgot", "ast", "aspartate aminotransferase"), (5.0, 40.0),
       (1.0, 10000.0)),
    _t("alp", "Alkaline phosphatase", "6768-6", "U/L", ("alkaline phosphatase", "alp"),
       (40.0, 150.0), (5.0, 5000.0)),
    _t("ggt", "GGT", "2324-2", "U/L",
       ("gamma gt (ggt)", "gamma glutamyl transferase", "gamma gt", "ggtp", "ggt"),
       (8.0, 60.0), (1.0, 5000.0)),
    _t("protein_total", "Total protein", "2885-2", "g/dL",
       ("total protein", "protein total", "protein, total"), (6.0, 8.3), (2.0, 15.0)),
    _t("albumin", "Albumin", "1751-7", "g/dL", ("serum albumin", "albumin"), (3.4, 5.4),
       (0.5, 8.0)),
    _t("globulin", "Globulin", "10834-0", "g/dL", ("globulin, total", "globulin"),
       (2.0, 3.5), (0.3, 10.0)),
    _t("ag_ratio", "Albumin/Globulin ratio", "1759-0", "{ratio}",
       ("a/g ratio", "albumin/globulin ratio", "a : g ratio"), (1.0, 2.2), (0.1, 6.0)),
    # Lipids (LDL: the code depends on the method, so it is chosen per line)
    _t("chol_hdl_ratio", "Cholesterol/HDL ratio", "9830-1", "{ratio}",
       ("total cholesterol / hdl ratio", "total cholesterol/hdl ratio", "chol/hdl ratio",
        "chol/hdlc ratio", "tc/hdl ratio", "cholesterol/hdl ratio"), (None, 5.0),
       (0.5, 20.0)),
    _t("non_hdl", "Non-HDL cholesterol", "43396-1", "mg/dL",
       ("non-hdl cholesterol", "non hdl cholesterol"), (None, 130.0), (10.0, 1000.0)),
    _t("cholesterol_total", "Total cholesterol", "2093-3", "mg/dL",
       ("total cholesterol", "cholesterol total", "cholesterol, total", "serum cholesterol",
        "s. cholesterol", "cholesterol"), (None, 200.0), (30.0, 1500.0)),
    _t("hdl_cholesterol", "HDL cholesterol", "2085-9", "mg/dL",
       ("hdl cholesterol - direct", "hdl cholesterol", "hdl-cholesterol", "hdl-c", "hdl"),
       (40.0, None), (3.0, 200.0)),
    _t("ldl_cholesterol", "LDL cholesterol", None, "mg/dL",
       ("ldl cholesterol (calculated)", "ldl cholesterol calc", "ldl-c (calc)",
        "ldl cholesterol", "ldl-cholesterol", "ldl-c", "ldl"), (None, 130.0), (5.0, 1000.0)),
    _t("vldl_cholesterol", "VLDL cholesterol", "13458-5", "mg/dL",
       ("vldl cholesterol cal", "vldl cholesterol", "vldl-cholesterol", "vldl"), (5.0, 40.0),
       (1.0, 500.0)),
    _t("triglycerides", "Triglycerides", "2571-8", "mg/dL",
       ("serum triglycerides", "triglycerides", "triglyceride", "tg"), (None, 150.0),
       (10.0, 10000.0)),
)  # fmt: skip

BY_KEY = {t.key: t for t in CATALOG}

#: LDL codes by method, as printed on the line (calculated vs direct measurement).
LDL_CALCULATED = "13457-7"
LDL_DIRECT = "18262-6"


def _alias_pattern(alias: str) -> str:
    # Spaces in an alias match any run of spaces/dots/tabs (OCR drops or adds them);
    # digits in names (HbA1c, B12) are often read as letters: accept the lookalikes.
    parts = []
    for p in alias.split():
        escaped = re.escape(p).replace("1", "[1lI]").replace("0", "[0O]")
        # Brackets and commas inside printed names are often lost or doubled.
        escaped = escaped.replace(r"\(", r"[(\[{]?").replace(r"\)", r"[)\]}]?")
        escaped = escaped.replace(",", ",?")
        parts.append(escaped)
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

#: Every alias, normalised for fuzzy matching of a damaged name cell.
ALIASES: list[tuple[str, LabTest]] = [
    (re.sub(r"[^a-z0-9]+", " ", a.lower()).strip(), t) for t in CATALOG for a in t.aliases
]


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
