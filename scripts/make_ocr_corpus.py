# ruff: noqa: E501 - long lines are the corpus's data tables (names, addresses, panels).
"""The OCR evaluation corpus: clinical documents written as HTML, rendered by Chromium.

Two steps:

``html``   writes ``tests/data/ocr/corpus/html/<id>.html`` and ``truth/<id>.json`` for
           every document, and ``corpus.json`` (the list, with each document's split).
           Deterministic (seeded): the committed files are what this step writes.
``render`` prints each HTML file to an A4 PDF with headless Chromium (Playwright,
           ``/usr/bin/chromium``), rasterises it with pdfium, and writes the clean
           document and its degraded copies into a cache folder (default
           ``var/cache/ocr-corpus``): ``<id>.<condition>.<png|jpg|pdf>``.

    .venv/bin/python scripts/make_ocr_corpus.py html
    .venv/bin/python scripts/make_ocr_corpus.py render [--out DIR] [--ids d01,d02]

Documents: lab reports (CBC, diabetes, thyroid, kidney + electrolytes, lipid, liver
panels) in eight layouts, Indian and US prescriptions, Indian and US discharge
summaries (two pages), in twelve layouts and as many fonts. Indian conventions
(UHID, "Name : Mr. X", "52 Y / M", cells/cumm, lakhs/cumm, day-first dates) and US
ones (MRN, "LAST, FIRST M", x10E3/uL, month-first dates). Every name, number and
value is invented.

Split: the test split is frozen in ``corpus.json`` (with a SHA-256 of its truth files,
checked by the benchmark): two layouts held out whole, plus one document of every
other layout. Extraction rules were written and tuned on the dev split only.

Conditions: ``clean`` (single pages as 200 dpi PNG, multi-page documents as the PDF),
``rotated`` (1.5 degrees), ``lowres`` (150 dpi, JPEG q80), ``blur`` (Gaussian, 200 dpi),
``noise`` (Gaussian and salt-and-pepper noise, JPEG q60).
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import random
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "ocr" / "corpus"
CACHE = ROOT / "var" / "cache" / "ocr-corpus"
CHROMIUM = "/usr/bin/chromium"
CONDITIONS = ("clean", "rotated", "lowres", "blur", "noise")
REQUIRED_FONTS = (
    "Liberation Sans", "Liberation Serif", "Liberation Mono", "Liberation Sans Narrow",
    "FreeSans", "FreeSerif", "FreeMono", "Carlito", "Caladea", "DejaVu Sans",
    "DejaVu Serif", "Noto Mono",
)  # fmt: skip

# --- tests: what a lab prints and what the bundle must carry -------------------------------


@dataclass(frozen=True)
class Unit:
    printed: str  # as printed on the report
    ucum: str  # the unit the bundle must carry
    factor: float  # printed value x factor = value in ucum


@dataclass(frozen=True)
class Test:
    key: str
    loinc: str
    names_in: tuple[str, ...]
    names_us: tuple[str, ...]
    units_in: tuple[Unit, ...]
    units_us: tuple[Unit, ...]
    ref_m: tuple[float | None, float | None]  # in printed units of the first unit
    ref_f: tuple[float | None, float | None] | None = None
    decimals: int = 1


def U(printed: str, ucum: str, factor: float = 1.0) -> Unit:
    return Unit(printed, ucum, factor)


MGDL = (U("mg/dL", "mg/dL"), U("mg/dl", "mg/dL"))
GDL = (U("g/dL", "g/dL"), U("gm/dL", "g/dL"))
PCT = (U("%", "%"),)
UL = (U("U/L", "U/L"), U("IU/L", "U/L"))
MMOL = (U("mmol/L", "mmol/L"), U("mEq/L", "meq/L"))
RATIO = (U("", "{ratio}"),)

TESTS: dict[str, Test] = {t.key: t for t in [
    # CBC
    Test("hemoglobin", "718-7", ("Haemoglobin", "Hemoglobin (Hb)", "Haemoglobin (Hb)"),
         ("Hemoglobin", "HGB"), GDL, (U("g/dL", "g/dL"),), (13.0, 17.0), (12.0, 15.5)),
    Test("leukocytes", "6690-2",
         ("Total Leucocyte Count (TLC)", "Total WBC Count", "WBC Count"),
         ("WBC", "White Blood Cell Count"),
         (U("cells/cumm", "10*3/uL", 0.001), U("/cumm", "10*3/uL", 0.001)),
         (U("x10E3/uL", "10*3/uL"), U("K/uL", "10*3/uL"), U("10^3/µL", "10*3/uL")),
         (4000, 11000), decimals=0),
    Test("erythrocytes", "789-8", ("RBC Count", "Total RBC Count", "Red Cell Count"),
         ("RBC", "Red Blood Cell Count"),
         (U("mill/cumm", "10*6/uL"), U("10^6/µL", "10*6/uL")),
         (U("x10E6/uL", "10*6/uL"), U("M/uL", "10*6/uL"), U("10^6/µL", "10*6/uL")),
         (4.5, 5.5), (3.8, 4.8), decimals=2),
    Test("hematocrit", "4544-3", ("PCV (Packed Cell Volume)", "Haematocrit (PCV)"),
         ("Hematocrit", "HCT"), PCT, PCT, (40.0, 50.0), (36.0, 46.0)),
    Test("mcv", "787-2", ("MCV",), ("MCV",), (U("fL", "fL"), U("fl", "fL")),
         (U("fL", "fL"),), (83.0, 101.0)),
    Test("mch", "785-6", ("MCH",), ("MCH",), (U("pg", "pg"),), (U("pg", "pg"),), (27.0, 32.0)),
    Test("mchc", "786-4", ("MCHC",), ("MCHC",), GDL, (U("g/dL", "g/dL"),), (31.5, 34.5)),
    Test("rdw", "788-0", ("RDW-CV", "RDW"), ("RDW", "RDW-CV"), PCT, PCT, (11.6, 14.0)),
    Test("platelets", "777-3", ("Platelet Count", "Platelets"), ("Platelets", "PLT"),
         (U("lakhs/cumm", "10*3/uL", 100.0), U("Lakh/cumm", "10*3/uL", 100.0)),
         (U("x10E3/uL", "10*3/uL"), U("K/uL", "10*3/uL")),
         (1.5, 4.1), decimals=2),
    Test("neutrophils_pct", "770-8", ("Neutrophils",), ("Neutrophils",), PCT, PCT,
         (40.0, 80.0), decimals=0),
    Test("lymphocytes_pct", "736-9", ("Lymphocytes",), ("Lymphs", "Lymphocytes"), PCT, PCT,
         (20.0, 40.0), decimals=0),
    Test("monocytes_pct", "5905-5", ("Monocytes",), ("Monocytes",), PCT, PCT, (2.0, 10.0),
         decimals=0),
    Test("eosinophils_pct", "713-8", ("Eosinophils",), ("Eos", "Eosinophils"), PCT, PCT,
         (1.0, 6.0), decimals=0),
    # Diabetes
    Test("glucose_fasting", "1558-6",
         ("Fasting Blood Sugar (FBS)", "Glucose Fasting (Plasma)", "Plasma Glucose - Fasting"),
         ("Glucose, Fasting", "Fasting Glucose"), MGDL, MGDL, (70.0, 100.0), decimals=0),
    Test("glucose_pp", "1521-4",
         ("Post Prandial Blood Sugar (PPBS)", "Glucose PP (2 hrs)"),
         ("Glucose, 2 Hour Postprandial",), MGDL, MGDL, (70.0, 140.0), decimals=0),
    Test("hba1c", "4548-4", ("HbA1c (Glycated Haemoglobin)", "Glycosylated Hemoglobin (HbA1c)"),
         ("Hemoglobin A1c", "HbA1c"), PCT, PCT, (4.0, 5.6)),
    Test("eag", "27353-2", ("Estimated Average Glucose (eAG)",),
         ("Estimated Average Glucose",), MGDL, MGDL, (68.0, 114.0), decimals=0),
    # Thyroid
    Test("t3_total", "3053-6", ("T3 (Triiodothyronine), Total", "Total T3"), ("T3, Total",),
         (U("ng/dL", "ng/dL"),), (U("ng/dL", "ng/dL"),), (80.0, 200.0), decimals=0),
    Test("t4_total", "3026-2", ("T4 (Thyroxine), Total", "Total T4"), ("T4, Total",),
         (U("µg/dL", "ug/dL"),), (U("mcg/dL", "ug/dL"), U("ug/dL", "ug/dL")), (5.1, 14.1)),
    Test("tsh", "3016-3", ("TSH (Thyroid Stimulating Hormone)", "TSH - Ultrasensitive"),
         ("TSH",), (U("µIU/mL", "m[IU]/L"),), (U("uIU/mL", "m[IU]/L"), U("mIU/L", "m[IU]/L")),
         (0.27, 4.20), decimals=2),
    Test("ft4", "3024-7", ("Free T4 (FT4)",), ("Free T4", "T4, Free"),
         (U("ng/dL", "ng/dL"),), (U("ng/dL", "ng/dL"),), (0.93, 1.70), decimals=2),
    # Kidney and electrolytes
    Test("urea", "3091-6", ("Blood Urea", "Urea, Serum"), ("Urea",), MGDL, MGDL, (17.0, 43.0),
         decimals=0),
    Test("bun", "3094-0", ("Blood Urea Nitrogen (BUN)",), ("BUN", "Urea Nitrogen (BUN)"),
         MGDL, MGDL, (7.0, 20.0), decimals=0),
    Test("creatinine", "2160-0", ("Serum Creatinine", "Creatinine, Serum"), ("Creatinine",),
         MGDL, MGDL, (0.70, 1.30), (0.60, 1.10), decimals=2),
    Test("uric_acid", "3084-1", ("Uric Acid", "Serum Uric Acid"), ("Uric Acid",), MGDL, MGDL,
         (3.5, 7.2), (2.6, 6.0)),
    Test("sodium", "2951-2", ("Sodium (Na+)", "Serum Sodium"), ("Sodium",), MMOL,
         (U("mmol/L", "mmol/L"),), (136.0, 145.0), decimals=0),
    Test("potassium", "2823-3", ("Potassium (K+)", "Serum Potassium"), ("Potassium",), MMOL,
         (U("mmol/L", "mmol/L"),), (3.5, 5.1)),
    Test("chloride", "2075-0", ("Chloride (Cl-)", "Serum Chloride"), ("Chloride",), MMOL,
         (U("mmol/L", "mmol/L"),), (98.0, 107.0), decimals=0),
    Test("bicarbonate", "1963-8", ("Bicarbonate (HCO3)",), ("Bicarbonate",),
         (U("mmol/L", "mmol/L"),), (U("mmol/L", "mmol/L"),), (22.0, 29.0), decimals=0),
    Test("calcium", "17861-6", ("Calcium, Total", "Serum Calcium"), ("Calcium",), MGDL, MGDL,
         (8.6, 10.3)),
    Test("egfr", "62238-1", ("eGFR (CKD-EPI)",), ("eGFR", "eGFR (CKD-EPI 2021)"),
         (U("mL/min/1.73m2", "mL/min/{1.73_m2}"),),
         (U("mL/min/1.73m2", "mL/min/{1.73_m2}"),), (60.0, None), decimals=0),
    # Lipids
    Test("cholesterol_total", "2093-3", ("Total Cholesterol", "Cholesterol, Total"),
         ("Cholesterol, Total",), MGDL, MGDL, (None, 200.0), decimals=0),
    Test("triglycerides", "2571-8", ("Triglycerides", "Serum Triglycerides"),
         ("Triglycerides",), MGDL, MGDL, (None, 150.0), decimals=0),
    Test("hdl_cholesterol", "2085-9", ("HDL Cholesterol", "HDL Cholesterol - Direct"),
         ("HDL Cholesterol", "HDL-C"), MGDL, MGDL, (40.0, None), decimals=0),
    Test("ldl_cholesterol", "13457-7", ("LDL Cholesterol (Calculated)", "LDL-C (Calc)"),
         ("LDL Cholesterol Calc", "LDL-C (calc)"), MGDL, MGDL, (None, 100.0), decimals=0),
    Test("vldl_cholesterol", "13458-5", ("VLDL Cholesterol",), ("VLDL Cholesterol Cal",),
         MGDL, MGDL, (5.0, 40.0), decimals=0),
    Test("chol_hdl_ratio", "9830-1", ("Total Cholesterol / HDL Ratio", "Chol/HDL Ratio"),
         ("Chol/HDLC Ratio",), RATIO, RATIO, (None, 5.0)),
    # Liver
    Test("bilirubin_total", "1975-2", ("Bilirubin, Total", "Total Bilirubin"),
         ("Bilirubin, Total",), MGDL, MGDL, (0.3, 1.2), decimals=2),
    Test("bilirubin_direct", "1968-7", ("Bilirubin, Direct", "Direct Bilirubin"),
         ("Bilirubin, Direct",), MGDL, MGDL, (0.0, 0.3), decimals=2),
    Test("bilirubin_indirect", "1971-1", ("Bilirubin, Indirect", "Indirect Bilirubin"),
         ("Bilirubin, Indirect",), MGDL, MGDL, (0.2, 0.9), decimals=2),
    Test("ast", "1920-8", ("SGOT (AST)", "AST (SGOT)"), ("AST", "AST (SGOT)"), UL,
         (U("U/L", "U/L"),), (5.0, 40.0), decimals=0),
    Test("alt", "1742-6", ("SGPT (ALT)", "ALT (SGPT)"), ("ALT", "ALT (SGPT)"), UL,
         (U("U/L", "U/L"),), (7.0, 56.0), decimals=0),
    Test("alp", "6768-6", ("Alkaline Phosphatase",), ("Alkaline Phosphatase", "ALP"),
         (U("U/L", "U/L"),), (U("U/L", "U/L"), U("IU/L", "U/L")), (44.0, 147.0), decimals=0),
    Test("ggt", "2324-2", ("Gamma GT (GGT)", "GGTP"), ("GGT",), UL, (U("U/L", "U/L"),),
         (9.0, 48.0), decimals=0),
    Test("protein_total", "2885-2", ("Total Protein", "Protein, Total"), ("Protein, Total",),
         GDL, (U("g/dL", "g/dL"),), (6.4, 8.3)),
    Test("albumin", "1751-7", ("Albumin",), ("Albumin",), GDL, (U("g/dL", "g/dL"),),
         (3.5, 5.2)),
    Test("globulin", "10834-0", ("Globulin",), ("Globulin, Total",), GDL,
         (U("g/dL", "g/dL"),), (2.0, 3.5)),
    Test("ag_ratio", "1759-0", ("A/G Ratio",), ("A/G Ratio",), RATIO, RATIO, (1.0, 2.1),
         decimals=2),
]}  # fmt: skip

PANELS: dict[str, tuple[str, list[str]]] = {
    "cbc": ("COMPLETE BLOOD COUNT (CBC)", ["hemoglobin", "leukocytes", "erythrocytes",
            "hematocrit", "mcv", "mch", "mchc", "rdw", "platelets", "neutrophils_pct",
            "lymphocytes_pct", "monocytes_pct", "eosinophils_pct"]),
    "diabetes": ("DIABETES PROFILE", ["glucose_fasting", "glucose_pp", "hba1c", "eag"]),
    "thyroid": ("THYROID PROFILE", ["t3_total", "t4_total", "tsh", "ft4"]),
    "kidney": ("KIDNEY FUNCTION TEST WITH ELECTROLYTES", ["urea", "bun", "creatinine",
               "uric_acid", "sodium", "potassium", "chloride", "bicarbonate", "calcium",
               "egfr"]),
    "lipid": ("LIPID PROFILE", ["cholesterol_total", "triglycerides", "hdl_cholesterol",
              "ldl_cholesterol", "vldl_cholesterol", "chol_hdl_ratio"]),
    "liver": ("LIVER FUNCTION TEST", ["bilirubin_total", "bilirubin_direct",
              "bilirubin_indirect", "ast", "alt", "alp", "ggt", "protein_total", "albumin",
              "globulin", "ag_ratio"]),
}  # fmt: skip
US_SKIP = {"urea"}  # US reports print BUN, not urea
IN_SKIP = {"bun"}

# --- people and places --------------------------------------------------------------------

IN_MALE = ["RAJESH", "SURESH", "ARJUN", "VIKRAM", "ANAND", "MANOJ", "KIRAN", "PRAKASH",
           "SANJAY", "RAHUL", "DEEPAK", "HARISH"]  # fmt: skip
IN_FEMALE = ["PRIYA", "LAKSHMI", "ANITA", "SUNITA", "KAVITA", "MEERA", "DIVYA", "REKHA",
             "POOJA", "NEHA", "SHALINI", "GEETA"]  # fmt: skip
IN_MIDDLE = ["KUMAR", "DEVI", "LAL", "PRASAD", "RANI", "NATH", "", "", ""]
IN_FAMILY = ["IYER", "SHARMA", "REDDY", "NAIR", "GUPTA", "PATEL", "VERMA", "MENON", "RAO",
             "SINGH", "JOSHI", "PILLAI", "BANERJEE", "KULKARNI"]  # fmt: skip
US_MALE = ["MICHAEL", "JAMES", "ROBERT", "DAVID", "WILLIAM", "THOMAS", "DANIEL", "MARK",
           "STEVEN", "KEVIN"]  # fmt: skip
US_FEMALE = ["JENNIFER", "LINDA", "PATRICIA", "SUSAN", "KAREN", "NANCY", "LISA", "EMILY",
             "SARAH", "DONNA"]  # fmt: skip
US_FAMILY = ["HARRIS", "JOHNSON", "MILLER", "DAVIS", "GARCIA", "WILSON", "ANDERSON",
             "TAYLOR", "MOORE", "JACKSON", "MARTIN", "THOMPSON", "WHITE", "CLARK"]  # fmt: skip


@dataclass
class Person:
    family: str
    given: list[str]
    sex: str  # male | female
    dob: date
    age: int
    identifier_label: str
    identifier: str
    title: str = ""

    def indian(self) -> str:
        return " ".join([*self.given, self.family])

    def us(self) -> str:
        first, *rest = self.given
        middle = f" {rest[0][0]}" if rest else ""
        return f"{self.family}, {first}{middle}"


@dataclass
class Doc:
    id: str
    layout: str
    kind: str  # lab_report | prescription | discharge_summary
    convention: str  # IN | US
    rng: random.Random
    patient: Person
    report_date: date
    panels: list[str] = field(default_factory=list)
    labs: list[dict[str, Any]] = field(default_factory=list)
    medications: list[dict[str, Any]] = field(default_factory=list)
    other_numbers: list[str] = field(default_factory=list)
    show_dob: bool = True
    flag_style: str = "column"  # column | attached | spaced | word
    name_style: str = "indian"
    extra: dict[str, Any] = field(default_factory=dict)


def _date_text(d: date, convention: str, style: int = 0) -> str:
    if convention == "US":
        return d.strftime("%m/%d/%Y")
    return [d.strftime("%d/%m/%Y"), d.strftime("%d-%m-%Y"), d.strftime("%d-%b-%Y")][style % 3]


def make_person(rng: random.Random, convention: str, label: str, ident: str) -> Person:
    sex = rng.choice(["male", "female"])
    if convention == "IN":
        first = rng.choice(IN_MALE if sex == "male" else IN_FEMALE)
        middle = rng.choice(IN_MIDDLE)
        given = [first, middle] if middle else [first]
        family = rng.choice(IN_FAMILY)
        title = "Mr." if sex == "male" else rng.choice(["Mrs.", "Ms."])
    else:
        first = rng.choice(US_MALE if sex == "male" else US_FEMALE)
        given = [first, rng.choice("ABCDEFGHJKLMNPRST")]
        family = rng.choice(US_FAMILY)
        title = ""
    age = rng.randint(24, 78)
    today = date(2026, 11, 14)
    dob = today - timedelta(days=age * 365 + rng.randint(30, 330))
    age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
    return Person(family, given, sex, dob, age, label, ident, title)


# --- values -------------------------------------------------------------------------------


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _ref(test: Test, sex: str) -> tuple[float | None, float | None]:
    return test.ref_f if (sex == "female" and test.ref_f) else test.ref_m


def _scale_ref(
    ref: tuple[float | None, float | None], unit: Unit, base: Unit
) -> tuple[float | None, float | None]:
    # Reference ranges are written in the first unit; other units convert through UCUM.
    ratio = base.factor / unit.factor
    return tuple(None if r is None else r * ratio for r in ref)  # type: ignore[return-value]


def _range_text(lo: float | None, hi: float | None, decimals: int) -> str:
    if lo is not None and hi is not None:
        return f"{_fmt(lo, decimals)} - {_fmt(hi, decimals)}"
    if hi is not None:
        return f"< {_fmt(hi, decimals)}"
    return f"> {_fmt(lo, decimals)}"  # type: ignore[arg-type]


def _draw(rng: random.Random, lo: float | None, hi: float | None, abnormal: str | None) -> float:
    if lo is None:
        lo = hi * 0.45  # type: ignore[operator]
    if hi is None:
        hi = lo * 1.9
    span = hi - lo
    if abnormal == "H":
        return hi + span * rng.uniform(0.08, 0.6) + hi * 0.02
    if abnormal == "L":
        return max(lo * 0.25, lo - span * rng.uniform(0.08, 0.4) - lo * 0.02)
    return rng.uniform(lo + span * 0.12, hi - span * 0.12)


def make_labs(doc: Doc, panels: list[str], forced: dict[str, tuple[str, str | None]] | None = None
              ) -> None:  # fmt: skip
    """Values for ``panels``; ``forced`` pins (printed value, flag) for regression examples."""
    rng = doc.rng
    forced = forced or {}
    values: dict[str, float] = {}
    for panel in panels:
        for key in PANELS[panel][1]:
            if key in (US_SKIP if doc.convention == "US" else IN_SKIP):
                continue
            test = TESTS[key]
            units = test.units_us if doc.convention == "US" else test.units_in
            unit = units[rng.randrange(len(units))] if doc.extra.get("unit_variety") else units[0]
            decimals = test.decimals
            if (key == "leukocytes" and doc.convention == "US") or (
                key == "leukocytes" and unit.ucum == unit.printed
            ):
                decimals = 1
            base = (test.units_us if doc.convention == "US" else test.units_in)[0]
            lo, hi = _scale_ref(_ref(test, doc.patient.sex), unit, base)
            if key == "platelets" and doc.convention == "US":
                lo, hi, decimals = 150.0, 450.0, 0
            if key == "leukocytes" and doc.convention == "US":
                lo, hi = 4.5, 11.0
            if key == "erythrocytes" and doc.convention == "US":
                lo, hi = (4.5, 5.9) if doc.patient.sex == "male" else (4.1, 5.1)
            abnormal = None
            roll = rng.random()
            if roll < 0.3:
                options = [f for f, b in (("H", hi), ("L", lo)) if b is not None]
                if key in ("hba1c", "glucose_fasting", "glucose_pp", "cholesterol_total",
                           "triglycerides", "ldl_cholesterol", "tsh", "alt", "ast"):  # fmt: skip
                    options = ["H"] if hi is not None else options
                abnormal = rng.choice(options)
            value = _draw(rng, lo, hi, abnormal)
            # Derived values are computed from the others, as the analysers print them.
            if key == "eag" and "hba1c" in values:
                value = 28.7 * values["hba1c"] - 46.7
            if key == "vldl_cholesterol" and "triglycerides" in values:
                value = values["triglycerides"] / 5
            if key == "ldl_cholesterol" and {"cholesterol_total", "hdl_cholesterol",
                                             "triglycerides"} <= values.keys():  # fmt: skip
                value = (
                    values["cholesterol_total"]
                    - values["hdl_cholesterol"]
                    - (values["triglycerides"] / 5)
                )
                value = max(value, 35.0)
            if (
                key == "chol_hdl_ratio"
                and {"cholesterol_total", "hdl_cholesterol"} <= values.keys()
            ):
                value = values["cholesterol_total"] / values["hdl_cholesterol"]
            if (
                key == "bilirubin_indirect"
                and {"bilirubin_total", "bilirubin_direct"} <= values.keys()
            ):
                value = max(0.05, values["bilirubin_total"] - values["bilirubin_direct"])
            if key == "globulin" and {"protein_total", "albumin"} <= values.keys():
                value = values["protein_total"] - values["albumin"]
            if key == "ag_ratio" and {"albumin", "globulin"} <= values.keys():
                value = values["albumin"] / values["globulin"]
            printed = _fmt(value, decimals)
            flag = None
            if key in forced:
                printed, flag_forced = forced[key]
                value = float(printed)
                flag = flag_forced
            values[key] = float(printed)
            number = float(printed)
            if flag is None:
                if lo is not None and number < lo:
                    flag = "L"
                elif hi is not None and number > hi:
                    flag = "H"
            ucum_value = round(number * unit.factor, 6)
            rdec = 0 if key in ("leukocytes",) and unit.factor < 1 else (
                test.decimals if key != "platelets" or doc.convention == "IN" else 0
            )  # fmt: skip
            if key == "leukocytes" and unit.factor == 1:
                rdec = 1
            doc.labs.append({
                "test": key, "loinc": test.loinc, "panel": panel,
                "name": rng.choice(test.names_us if doc.convention == "US" else test.names_in),
                "printed_value": printed, "printed_unit": unit.printed,
                "range": _range_text(lo, hi, rdec), "ref_low": lo, "ref_high": hi,
                "value": ucum_value, "unit": unit.ucum, "flag": flag,
            })  # fmt: skip


# --- medications --------------------------------------------------------------------------

# (generic, strength, unit, form) for Indian and US lists.
IN_DRUGS = [("Metformin", 500, "mg", "Tab."), ("Telmisartan", 40, "mg", "Tab."),
            ("Atorvastatin", 10, "mg", "Tab."), ("Pantoprazole", 40, "mg", "Tab."),
            ("Amlodipine", 5, "mg", "Tab."), ("Paracetamol", 650, "mg", "Tab."),
            ("Amoxicillin", 500, "mg", "Cap."), ("Cetirizine", 10, "mg", "Tab."),
            ("Glimepiride", 1, "mg", "Tab."), ("Azithromycin", 500, "mg", "Tab."),
            ("Omeprazole", 20, "mg", "Cap."), ("Losartan", 50, "mg", "Tab.")]  # fmt: skip
US_DRUGS = [("Lisinopril", 10, "mg"), ("Metoprolol succinate", 25, "mg"),
            ("Atorvastatin", 40, "mg"), ("Aspirin", 81, "mg"), ("Furosemide", 20, "mg"),
            ("Metformin", 1000, "mg"), ("Amlodipine", 5, "mg"), ("Sertraline", 50, "mg"),
            ("Levothyroxine", 50, "mcg"), ("Omeprazole", 20, "mg")]  # fmt: skip
# Indian schedule -> (frequency per day, text); US sig -> (frequency, period, unit, text).
IN_SCHEDULES = [("1-0-1", 2), ("1-0-0", 1), ("0-0-1", 1), ("1-1-1", 3)]
US_SIGS = [(1, "once daily"), (2, "twice daily"), (1, "at bedtime"), (3, "three times daily")]


def make_meds(doc: Doc, count: int) -> None:
    rng = doc.rng
    if doc.convention == "IN":
        for generic, strength, unit, form in rng.sample(IN_DRUGS, count):
            schedule, freq = rng.choice(IN_SCHEDULES)
            days = rng.choice([5, 7, 14, 30])
            food = rng.choice(["after food", "before food", ""])
            doc.medications.append({
                "name": generic.lower(), "dose": strength, "dose_unit": unit, "frequency": freq,
                "period": 1, "period_unit": "d", "duration": days, "duration_unit": "d",
                "form": form, "schedule": schedule, "food": food, "printed_name": generic,
            })  # fmt: skip
    else:
        for generic, strength, unit in rng.sample(US_DRUGS, count):
            freq, sig = rng.choice(US_SIGS)
            days = rng.choice([None, 7, 30, 90])
            doc.medications.append({
                "name": generic.lower(), "dose": strength, "dose_unit": unit, "frequency": freq,
                "period": 1, "period_unit": "d", "duration": days,
                "duration_unit": "d" if days else None, "sig": sig, "printed_name": generic,
            })  # fmt: skip


# --- layouts ------------------------------------------------------------------------------

BASE_CSS = """
@page { size: A4; margin: 14mm 14mm 16mm 14mm; }
body { margin: 0; color: #111; }
table { border-collapse: collapse; width: 100%; }
h1, h2, h3 { margin: 0.2em 0; }
.small { font-size: 0.85em; color: #333; }
.right { text-align: right; }
.pt td { white-space: nowrap; }
"""


def e(text: Any) -> str:
    return html.escape(str(text))


def _value_cell(lab: dict[str, Any], style: str) -> tuple[str, str]:
    """(value cell, flag cell) for a flag style."""
    flag = lab["flag"] or ""
    value = lab["printed_value"]
    if style == "attached":
        return f"{value}{flag}", ""
    if style == "spaced":
        return (f"{value} {flag}" if flag else value), ""
    if style == "word":
        return value, {"H": "HIGH", "L": "LOW"}.get(flag, "")
    return value, flag


def page_html(css: str, body: str, title: str = "Report") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{BASE_CSS}{css}</style></head><body>{body}</body></html>")  # fmt: skip


def _in_patient_block(doc: Doc, cols: int = 2) -> str:
    p = doc.patient
    age_sex = doc.extra.get("age_sex") or f"{p.age} Y / {'M' if p.sex == 'male' else 'F'}"
    name = f"{p.title} {p.indian()}"
    ref = doc.extra["referrer"]
    cells = [
        ("Name", name), ("Age / Sex", age_sex), (p.identifier_label, p.identifier),
        ("Lab No", doc.extra["lab_no"]), ("Ref. By", ref),
        ("Collected", _date_text(doc.report_date, "IN", doc.extra.get("date_style", 0)) + " 08:12"),
        ("Reported", _date_text(doc.report_date, "IN") + " 14:30"),
    ]  # fmt: skip
    if doc.show_dob:
        cells.insert(2, ("DOB", _date_text(p.dob, "IN", doc.extra.get("date_style", 0))))
    colon = doc.extra.get("colon", " : ")
    rows = []
    for i in range(0, len(cells), cols):
        chunk = cells[i : i + cols]
        rows.append("<tr>" + "".join(
            f"<td class='lbl'>{e(k)}</td><td>{e(colon.strip())} {e(v)}</td>" for k, v in chunk
        ) + "</tr>")  # fmt: skip
    return "<table class='pt'>" + "".join(rows) + "</table>"


def _us_patient_block(doc: Doc) -> str:
    p = doc.patient
    cells = [
        ("Patient", p.us()), ("DOB", _date_text(p.dob, "US")),
        ("Sex", "M" if p.sex == "male" else "F"), ("Age", f"{p.age}"),
        (p.identifier_label, p.identifier), ("Acct #", doc.extra["account"]),
        ("Ordering", doc.extra["referrer"]),
        ("Collected", _date_text(doc.report_date, "US") + " 07:45"),
        ("Reported", _date_text(doc.report_date + timedelta(days=1), "US") + " 09:10"),
    ]  # fmt: skip
    rows = []
    for i in range(0, len(cells), 3):
        rows.append("<tr>" + "".join(
            f"<td class='lbl'>{e(k)}:</td><td>{e(v)}</td>" for k, v in cells[i : i + 3]
        ) + "</tr>")  # fmt: skip
    return "<table class='pt'>" + "".join(rows) + "</table>"


def _lab_table(doc: Doc, headers: list[str], panel_title: bool = True) -> str:
    out = []
    for panel in doc.panels:
        rows = [lab for lab in doc.labs if lab["panel"] == panel]
        if panel_title:
            out.append(f"<h3>{e(PANELS[panel][0])}</h3>")
        out.append("<table class='res'><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers)
                   + "</tr>")  # fmt: skip
        for lab in rows:
            value, flag = _value_cell(lab, doc.flag_style)
            cells = {"name": lab["name"], "value": value, "flag": flag,
                     "unit": lab["printed_unit"], "range": lab["range"]}  # fmt: skip
            order = doc.extra.get("columns", ["name", "value", "flag", "unit", "range"])
            bold = " class='ab'" if lab["flag"] else ""
            out.append("<tr>" + "".join(
                f"<td{bold if c in ('value', 'flag') else ''}>{e(cells[c])}</td>" for c in order
            ) + "</tr>")  # fmt: skip
        out.append("</table>")
    return "".join(out)


def layout_in_lab_boxed(doc: Doc) -> str:
    css = """body { font-family: 'Liberation Sans'; font-size: 11pt; }
    .hdr { border-bottom: 3px double #225; padding-bottom: 4px; }
    .hdr h1 { font-size: 20pt; color: #123; } .pt { border: 1px solid #555; margin: 8px 0; }
    .pt td { padding: 3px 6px; } .lbl { font-weight: bold; width: 18%; }
    .res th { border-top: 1px solid #000; border-bottom: 1px solid #000; text-align: left;
              padding: 4px; } .res td { padding: 4px; border-bottom: 1px dotted #aaa; }
    .ab { font-weight: bold; } h3 { text-align: center; text-decoration: underline; }"""
    body = (
        f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
        f"<div class='small'>{e(doc.extra['address'])}</div></div>"
        + _in_patient_block(doc)
        + _lab_table(doc, ["Test Name", "Result", "Flag", "Unit", "Biological Ref. Interval"])
        + "<p class='small'>*** End of Report ***</p>"
        + f"<p class='right'>{e(doc.extra['signatory'])}<br>Consultant Pathologist</p>"
    )
    return page_html(css, body)  # fmt: skip


def layout_in_lab_serif(doc: Doc) -> str:
    css = """body { font-family: 'Caladea'; font-size: 12pt; }
    .hdr { text-align: center; } .hdr h1 { font-size: 22pt; letter-spacing: 1px; }
    .pt td { padding: 2px 8px; } .lbl { width: 16%; }
    .res th { background: #ddd; text-align: left; padding: 5px; font-variant: small-caps; }
    .res td { padding: 3px 5px; } .ab { font-weight: bold; }"""
    doc.extra["columns"] = ["name", "value", "unit", "range"]
    body = (
        f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
        f"<div class='small'>{e(doc.extra['address'])}</div><hr></div>"
        + _in_patient_block(doc)
        + "<hr>"
        + _lab_table(
            doc, ["Investigation", "Observed Value", "Unit", "Biological Reference Interval"]
        )
        + f"<p class='small'>Checked by: {e(doc.extra['signatory'])}</p>"
    )
    return page_html(css, body)  # fmt: skip


def _courier_rows(doc: Doc, widths: tuple[int, int, int, int]) -> list[str]:
    lines = []
    for panel in doc.panels:
        lines += ["", PANELS[panel][0], "-" * 78]
        for lab in doc.labs:
            if lab["panel"] != panel:
                continue
            value, flag = _value_cell(lab, doc.flag_style)
            lines.append(
                f"{lab['name'][: widths[0] - 1]:<{widths[0]}}{value:<{widths[1]}}"
                f"{flag:<{widths[2]}}{lab['printed_unit']:<{widths[3]}}{lab['range']}"
            )
    return lines


def layout_in_lab_courier(doc: Doc) -> str:
    p = doc.patient
    sex = "M" if p.sex == "male" else "F"
    head = [
        f"{doc.extra['facility']}",
        doc.extra["address"],
        "=" * 78,
        f"Name : {p.title} {p.indian():<34}Age/Sex : {p.age} Y / {sex}",
        f"{p.identifier_label} : {p.identifier:<35}Lab No  : {doc.extra['lab_no']}",
        f"Ref. By : {doc.extra['referrer']}",
        f"Date : {_date_text(doc.report_date, 'IN', doc.extra.get('date_style', 0))}",
        *([f"DOB : {_date_text(p.dob, 'IN')}"] if doc.show_dob else []),
        "=" * 78,
        f"{'TEST':<34}{'RESULT':<11}{'':<4}{'UNITS':<16}REF. RANGE",
    ]
    body = head + _courier_rows(doc, (34, 11, 4, 16)) + ["", "-- END OF REPORT --"]
    css = """body { font-family: 'Liberation Mono'; font-size: 9.6pt; }
    pre { font-family: inherit; margin: 0; line-height: 1.35; }"""
    return page_html(css, "<pre>" + e("\n".join(body)) + "</pre>")


def layout_us_lab_courier(doc: Doc) -> str:
    p = doc.patient
    head = [
        f"{doc.extra['facility']:<50}LIS REPORT",
        doc.extra["address"],
        "-" * 76,
        f"PATIENT: {p.us():<32}MRN: {p.identifier}",
        f"DOB: {_date_text(p.dob, 'US'):<14}SEX: {'M' if p.sex == 'male' else 'F':<4}"
        f"AGE: {p.age:<6}ACCT: {doc.extra['account']}",
        f"PHYSICIAN: {doc.extra['referrer']}",
        f"COLLECTED: {_date_text(doc.report_date, 'US')} 07:45",
        "-" * 76,
        f"{'TEST':<30}{'RESULT':<10}{'FLAG':<6}{'UNITS':<14}REFERENCE",
    ]
    body = head + _courier_rows(doc, (30, 10, 6, 14)) + ["", "*** FINAL REPORT ***"]
    css = """body { font-family: 'Noto Mono'; font-size: 9.8pt; }
    pre { font-family: inherit; margin: 0; line-height: 1.3; }"""
    return page_html(css, "<pre>" + e("\n".join(body)) + "</pre>")


def layout_us_lab_quest(doc: Doc) -> str:
    """Quest-like: a value sits in the In Range or the Out of Range column."""
    css = """body { font-family: 'Carlito'; font-size: 11.5pt; }
    .hdr h1 { font-size: 18pt; } .pt td { padding: 2px 6px; } .lbl { font-weight: bold; }
    .res th { border-bottom: 2px solid #000; text-align: left; padding: 4px; }
    .res td { padding: 3px 4px; } .ab { font-weight: bold; }"""
    out = []
    for panel in doc.panels:
        out.append(f"<h3>{e(PANELS[panel][0])}</h3><table class='res'><tr><th>Test Name</th>"
                   "<th>In Range</th><th>Out Of Range</th><th>Reference Range</th>"
                   "<th>Units</th></tr>")  # fmt: skip
        for lab in doc.labs:
            if lab["panel"] != panel:
                continue
            inside = "" if lab["flag"] else lab["printed_value"]
            outside = f"{lab['printed_value']} {lab['flag']}" if lab["flag"] else ""
            out.append(f"<tr><td>{e(lab['name'])}</td><td>{e(inside)}</td>"
                       f"<td class='ab'>{e(outside)}</td><td>{e(lab['range'])}</td>"
                       f"<td>{e(lab['printed_unit'])}</td></tr>")  # fmt: skip
        out.append("</table>")
    body = (
        f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
        f"<div class='small'>{e(doc.extra['address'])}</div></div><hr>"
        + _us_patient_block(doc)
        + "<hr>"
        + "".join(out)
        + f"<p class='small'>Electronically signed by {e(doc.extra['signatory'])}</p>"
    )
    return page_html(css, body)  # fmt: skip


def layout_us_lab_hospital(doc: Doc) -> str:
    css = """body { font-family: 'DejaVu Sans'; font-stretch: condensed; font-size: 10pt; }
    .hdr { background: #eee; padding: 6px; } .hdr h1 { font-size: 16pt; }
    .pt td { padding: 2px 5px; } .lbl { color: #444; }
    .res th { text-align: left; border-bottom: 1px solid #444; padding: 3px; }
    .res td { padding: 3px; } .ab { font-weight: bold; }"""
    doc.extra["columns"] = ["name", "value", "flag", "range", "unit"]
    body = (
        f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
        f"<div class='small'>{e(doc.extra['address'])}</div></div>"
        + _us_patient_block(doc)
        + _lab_table(doc, ["Component", "Value", "Flag", "Ref Range", "Units"])
        + f"<p class='small'>Resulted by: {e(doc.extra['signatory'])}</p>"
    )
    return page_html(css, body)  # fmt: skip


def layout_us_lab_cmp(doc: Doc) -> str:
    css = """body { font-family: 'FreeSans'; font-size: 11pt; }
    .hdr h1 { font-size: 17pt; border-bottom: 2px solid #333; } .pt td { padding: 2px 5px; }
    .res th { text-align: left; background: #f0f0f0; padding: 4px; }
    .res td { padding: 3px 4px; border-bottom: 1px solid #ddd; } .ab { font-weight: bold; }"""
    doc.extra["columns"] = ["name", "value", "flag", "unit", "range"]
    body = (
        f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
        f"<div class='small'>{e(doc.extra['address'])}</div></div>"
        + _us_patient_block(doc)
        + _lab_table(doc, ["Test", "Result", "Flag", "Units", "Reference Interval"])
        + f"<p class='small'>Performing lab director: {e(doc.extra['signatory'])}</p>"
    )
    return page_html(css, body)  # fmt: skip


def layout_in_lab_multi(doc: Doc) -> str:
    """Two pages: the header block repeated, one panel group per page."""
    css = """body { font-family: 'DejaVu Serif'; font-size: 10.5pt; }
    .hdr h1 { font-size: 17pt; } .pt td { padding: 2px 6px; } .lbl { font-weight: bold; }
    .res th { text-align: left; border-bottom: 1px solid #000; padding: 3px; }
    .res td { padding: 3px; } .ab { font-weight: bold; }
    .page { page-break-after: always; } .page:last-child { page-break-after: auto; }"""
    panels = doc.panels
    half = (len(panels) + 1) // 2
    pages = []
    for chunk in (panels[:half], panels[half:]):
        sub = Doc(**{**doc.__dict__, "panels": chunk})
        pages.append("<div class='page'>"
                     f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
                     f"<div class='small'>{e(doc.extra['address'])}</div></div><hr>"
                     + _in_patient_block(sub, cols=3) + "<hr>"
                     + _lab_table(sub, ["Parameter", "Result", "Flag", "Units", "Normal Range"])
                     + "</div>")  # fmt: skip
    return page_html(css, "".join(pages))


def layout_in_rx(doc: Doc) -> str:
    p = doc.patient
    css = """body { font-family: 'FreeSerif'; font-size: 13pt; }
    .lh { border-bottom: 2px solid #036; padding-bottom: 6px; } .lh h1 { font-size: 22pt; }
    .rx { font-size: 26pt; font-weight: bold; margin: 10px 0 4px 0; }
    ol li { margin: 6px 0; } .pt td { padding: 3px 8px; }"""
    meds = []
    for m in doc.medications:
        food = f" &nbsp; {e(m['food'])}" if m["food"] else ""
        meds.append(
            f"<li>{e(m['form'])} {e(m['printed_name'])} {m['dose']} {e(m['dose_unit'])}"
            f" &nbsp; {e(m['schedule'])}{food} &nbsp; x {m['duration']} days</li>"
        )
    sex = "M" if p.sex == "male" else "F"
    body = (f"<div class='lh'><h1>{e(doc.extra['doctor'])}</h1>"
            f"<div>{e(doc.extra['qualification'])}</div>"
            f"<div>Reg. No.: {e(doc.extra['reg_no'])}</div>"
            f"<div class='small'>{e(doc.extra['facility'])}, {e(doc.extra['address'])}</div>"
            "</div><table class='pt'>"
            f"<tr><td>{e(p.identifier_label)}: {e(p.identifier)}</td>"
            f"<td class='right'>Date: {_date_text(doc.report_date, 'IN')}</td></tr>"
            f"<tr><td>Name : {e(p.title)} {e(p.indian())}</td>"
            f"<td class='right'>Age/Sex : {p.age} Y / {sex}</td></tr></table>"
            f"<p>Diagnosis: {e(doc.extra['diagnosis'])}</p>"
            "<div class='rx'>Rx</div><ol>" + "".join(meds) + "</ol>"
            f"<p>Advice: {e(doc.extra['advice'])}</p>"
            f"<p class='right'>{e(doc.extra['doctor'])}</p>")  # fmt: skip
    return page_html(css, body)


def layout_us_rx(doc: Doc) -> str:
    p = doc.patient
    css = """body { font-family: 'Liberation Sans Narrow'; font-size: 13pt; }
    .lh h1 { font-size: 18pt; margin-bottom: 0; } .box { border: 1px solid #000; padding: 8px;
    margin: 8px 0; } .med { margin: 10px 0; } .sig { margin-left: 24px; }"""
    meds = []
    for i, m in enumerate(doc.medications, 1):
        duration = f" for {m['duration']} days" if m["duration"] else ""
        qty = (m["duration"] or 30) * m["frequency"]
        meds.append(
            f"<div class='med'>{i}. {e(m['printed_name'])} {m['dose']} "
            f"{e(m['dose_unit'])} oral tablet<div class='sig'>Sig: Take 1 tablet by "
            f"mouth {e(m['sig'])}{duration}. Disp: {qty} tablets. Refills: 1</div></div>"
        )
    body = (f"<div class='lh'><h1>{e(doc.extra['facility'])}</h1>"
            f"<div class='small'>{e(doc.extra['address'])}</div></div>"
            f"<div class='box'>Prescriber: {e(doc.extra['doctor'])} &nbsp; "
            f"NPI: {e(doc.extra['npi'])} &nbsp; DEA: {e(doc.extra['dea'])}</div>"
            f"<div class='box'>Patient: {e(p.us())} &nbsp;&nbsp; DOB: {_date_text(p.dob, 'US')}"
            f" &nbsp;&nbsp; Sex: {'M' if p.sex == 'male' else 'F'}<br>"
            f"{e(p.identifier_label)}: {e(p.identifier)} &nbsp;&nbsp; "
            f"Date: {_date_text(doc.report_date, 'US')}</div>"
            "<h2>PRESCRIPTION</h2>" + "".join(meds)
            + f"<p>Signed: {e(doc.extra['doctor'])}</p>")  # fmt: skip
    return page_html(css, body)


_COURSE = (
    "The patient was admitted with {complaint}. Initial evaluation in the emergency "
    "department showed stable vital signs. {management} The patient improved steadily over "
    "the following days, tolerated a regular diet and was mobilised with physiotherapy. "
    "Medications were reconciled before discharge and the plan was explained to the patient "
    "and family, who voiced understanding. "
)


def _discharge_labs_table(doc: Doc, headers: list[str]) -> str:
    rows = "".join(
        f"<tr><td>{e(lab['name'])}</td><td>{e(_value_cell(lab, 'spaced')[0])}</td>"
        f"<td>{e(lab['printed_unit'])}</td><td>{e(lab['range'])}</td></tr>"
        for lab in doc.labs
    )
    return ("<table class='res'><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>"
            + rows + "</table>")  # fmt: skip


def layout_us_discharge(doc: Doc) -> str:
    p = doc.patient
    css = """body { font-family: 'Liberation Serif'; font-size: 12pt; line-height: 1.35; }
    h1 { font-size: 18pt; text-align: center; } h2 { font-size: 13pt; margin-top: 14px;
    text-transform: uppercase; } .pt td { padding: 2px 6px; }
    .res th, .res td { text-align: left; padding: 2px 6px; } .brk { page-break-before: always; }"""
    course = " ".join(_COURSE.format(**doc.extra) for _ in range(3))
    meds = "".join(
        f"<li>{e(m['printed_name'])} {m['dose']} {e(m['dose_unit'])} PO {e(m['sig'])}"
        + (f" for {m['duration']} days" if m["duration"] else "")
        + "</li>"
        for m in doc.medications
    )
    body = (f"<h1>{e(doc.extra['facility'])}<br>DISCHARGE SUMMARY</h1>"
            f"<div class='small' style='text-align:center'>{e(doc.extra['address'])}</div>"
            "<table class='pt'>"
            f"<tr><td>Patient Name: {e(p.us())}</td><td>{e(p.identifier_label)}: "
            f"{e(p.identifier)}</td></tr>"
            f"<tr><td>Date of Birth: {_date_text(p.dob, 'US')}</td><td>Sex: "
            f"{'Male' if p.sex == 'male' else 'Female'}</td></tr>"
            f"<tr><td>Admission Date: {_date_text(doc.report_date - timedelta(days=4), 'US')}"
            f"</td><td>Discharge Date: {_date_text(doc.report_date, 'US')}</td></tr>"
            f"<tr><td>Attending: {e(doc.extra['doctor'])}</td><td>NPI: {e(doc.extra['npi'])}"
            "</td></tr></table>"
            f"<h2>Principal Diagnosis</h2><p>{e(doc.extra['diagnosis'])}</p>"
            f"<h2>Hospital Course</h2><p>{e(course)}</p>"
            "<h2 class='brk'>Pertinent Results</h2>"
            + _discharge_labs_table(doc, ["Test", "Result", "Units", "Reference"])
            + f"<h2>Discharge Medications</h2><ol>{meds}</ol>"
            f"<h2>Follow-up</h2><p>{e(doc.extra['advice'])}</p>"
            f"<p>Electronically signed: {e(doc.extra['doctor'])}</p>")  # fmt: skip
    return page_html(css, body)


def layout_in_discharge(doc: Doc) -> str:
    p = doc.patient
    css = """body { font-family: 'Carlito'; font-size: 12.5pt; line-height: 1.35; }
    .hdr { text-align: center; border-bottom: 2px solid #600; } .hdr h1 { font-size: 20pt; }
    h2 { font-size: 13pt; background: #eee; padding: 2px 4px; } .pt td { padding: 2px 6px; }
    .res th, .res td { text-align: left; padding: 2px 6px; border: 1px solid #999; }
    .brk { page-break-before: always; }"""
    course = " ".join(_COURSE.format(**doc.extra) for _ in range(3))
    meds = "".join(
        f"<tr><td>{e(m['form'])} {e(m['printed_name'])} {m['dose']} {e(m['dose_unit'])}</td>"
        f"<td>{e(m['schedule'])}</td><td>{e(m['food'] or '-')}</td>"
        f"<td>{m['duration']} days</td></tr>"
        for m in doc.medications
    )
    sex = "M" if p.sex == "male" else "F"
    body = (f"<div class='hdr'><h1>{e(doc.extra['facility'])}</h1>"
            f"<div class='small'>{e(doc.extra['address'])}</div></div>"
            "<h1 style='text-align:center;font-size:15pt'>DISCHARGE SUMMARY</h1>"
            "<table class='pt'>"
            f"<tr><td>Name : {e(p.title)} {e(p.indian())}</td><td>Age / Sex : {p.age} Y / {sex}"
            "</td></tr>"
            f"<tr><td>{e(p.identifier_label)} : {e(p.identifier)}</td><td>IP No : "
            f"{e(doc.extra['ip_no'])}</td></tr>"
            f"<tr><td>DOA : {_date_text(doc.report_date - timedelta(days=5), 'IN')}</td>"
            f"<td>DOD : {_date_text(doc.report_date, 'IN')}</td></tr>"
            f"<tr><td>Consultant : {e(doc.extra['doctor'])}</td><td>Reg. No. : "
            f"{e(doc.extra['reg_no'])}</td></tr></table>"
            f"<h2>Final Diagnosis</h2><p>{e(doc.extra['diagnosis'])}</p>"
            f"<h2>Course in Hospital</h2><p>{e(course)}</p>"
            "<h2 class='brk'>Investigations</h2>"
            + _discharge_labs_table(doc, ["Test", "Result", "Unit", "Normal Range"])
            + "<h2>Discharge Medications</h2><table class='res'><tr><th>Medicine</th>"
            "<th>Dose</th><th>Instructions</th><th>Duration</th></tr>" + meds + "</table>"
            f"<h2>Advice on Discharge</h2><p>{e(doc.extra['advice'])}</p>")  # fmt: skip
    return page_html(css, body)


LAYOUTS = {
    "in_lab_boxed": (layout_in_lab_boxed, "lab_report", "IN"),
    "in_lab_serif": (layout_in_lab_serif, "lab_report", "IN"),
    "in_lab_courier": (layout_in_lab_courier, "lab_report", "IN"),
    "in_lab_multi": (layout_in_lab_multi, "lab_report", "IN"),
    "us_lab_quest": (layout_us_lab_quest, "lab_report", "US"),
    "us_lab_hospital": (layout_us_lab_hospital, "lab_report", "US"),
    "us_lab_courier": (layout_us_lab_courier, "lab_report", "US"),
    "us_lab_cmp": (layout_us_lab_cmp, "lab_report", "US"),
    "in_rx": (layout_in_rx, "prescription", "IN"),
    "us_rx": (layout_us_rx, "prescription", "US"),
    "in_discharge": (layout_in_discharge, "discharge_summary", "IN"),
    "us_discharge": (layout_us_discharge, "discharge_summary", "US"),
}
FONTS = {
    "in_lab_boxed": "Liberation Sans", "in_lab_serif": "Caladea",
    "in_lab_courier": "Liberation Mono", "in_lab_multi": "DejaVu Serif",
    "us_lab_quest": "Carlito", "us_lab_hospital": "DejaVu Sans Condensed",
    "us_lab_courier": "Noto Mono", "us_lab_cmp": "FreeSans", "in_rx": "FreeSerif",
    "us_rx": "Liberation Sans Narrow", "in_discharge": "Carlito",
    "us_discharge": "Liberation Serif",
}  # fmt: skip
#: Layouts held out whole for the test split (never seen while writing the rules).
HELD_OUT = ("in_lab_serif", "us_lab_cmp")

# Panels per lab document, by layout (three documents each).
LAB_PLAN = {
    "in_lab_boxed": [["cbc"], ["kidney"], ["thyroid", "diabetes"]],
    "in_lab_serif": [["cbc"], ["lipid", "liver"], ["diabetes", "kidney"]],
    "in_lab_courier": [["cbc"], ["liver"], ["lipid", "thyroid"]],
    "in_lab_multi": [["cbc", "lipid"], ["kidney", "liver"], ["diabetes", "thyroid", "lipid"]],
    "us_lab_quest": [["lipid", "diabetes"], ["cbc"], ["thyroid", "liver"]],
    "us_lab_hospital": [["cbc"], ["kidney", "lipid"], ["liver"]],
    "us_lab_courier": [["liver"], ["kidney"], ["cbc"]],
    "us_lab_cmp": [["kidney", "liver"], ["lipid", "diabetes"], ["thyroid", "cbc"]],
}
FLAG_STYLES = {
    "in_lab_boxed": "column", "in_lab_serif": "attached", "in_lab_courier": "attached",
    "in_lab_multi": "spaced", "us_lab_quest": "column", "us_lab_hospital": "column",
    "us_lab_courier": "column", "us_lab_cmp": "word",
}  # fmt: skip

FACILITIES_IN = [
    ("SUNRISE PATHOLOGY LABS", "Plot 14, Sector 21, Dwarka, New Delhi - 110075. Ph: +91 11 4567 8901. NABL Cert. No. MC-2231"),
    ("MEDIPOINT DIAGNOSTICS", "2nd Floor, Anna Salai, Chennai - 600002. Tel: 044-2852 7711. CIN U85100TN2009PTC071234"),
    ("SHREE LAXMI CLINICAL LABORATORY", "Near Bus Stand, FC Road, Pune - 411004. Ph: 020-2567 4410. Lic. No. PN/LAB/2231"),
    ("CITY CARE HOSPITAL", "MG Road, Bengaluru - 560001. Ph: 080-4112 9900. GSTIN 29ABCDE1234F1Z5"),
]  # fmt: skip
FACILITIES_US = [
    ("Riverside Clinical Laboratories", "2200 Main St, Houston, TX 77030. Phone (713) 555-0134. CLIA 45D0987654"),
    ("Lakeshore Medical Center Laboratory", "801 N Lake Shore Dr, Chicago, IL 60611. (312) 555-0199. CLIA 14D0456123"),
    ("Summit Reference Lab", "44 Elm Street, Denver, CO 80203. Tel (303) 555-0147. CAP #7701234"),
    ("Bayview Family Health", "1200 Harbor Blvd, San Diego, CA 92101. (619) 555-0123"),
]  # fmt: skip
DOCTORS_IN = [
    ("Dr. ANIL MEHTA", "DMC/R/40112"),
    ("Dr. S. RAGHAVAN", "TNMC 55871"),
    ("Dr. KAVERI DESHPANDE", "MMC 2009/04/1187"),
    ("Dr. R. K. SINHA", "KMC 45678"),
]
DOCTORS_US = [("Jane Whitfield, MD", "1487693320", "BW1234563"),
              ("Robert Okafor, DO", "1629071874", "FO7654321"),
              ("Emily Chen, MD", "1356482217", "AC2468135")]  # fmt: skip
IN_ID_LABELS = ["UHID", "Patient ID", "MR No", "UHID"]
US_ID_LABELS = ["MRN", "MRN", "Patient ID", "MRN"]
DIAGNOSES = [("Type 2 diabetes mellitus with hypertension", "uncontrolled blood sugars",
              "Insulin infusion was started and later changed to oral agents."),
             ("Community acquired pneumonia", "fever, cough and breathlessness",
              "Intravenous antibiotics and oxygen were given; sputum cultures were sent."),
             ("Acute gastroenteritis with dehydration", "vomiting and loose stools",
              "Intravenous fluids and antiemetics were given and electrolytes corrected."),
             ("Heart failure with reduced ejection fraction", "worsening breathlessness",
              "Intravenous diuretics were given and guideline medical therapy optimised.")]  # fmt: skip


def _identifier(rng: random.Random, convention: str, label: str) -> str:
    if convention == "US":
        return rng.choice(
            [f"{rng.randint(100000, 9999999):08d}", f"E{rng.randint(1000000, 9999999)}"]
        )
    if label == "UHID":
        return rng.choice(
            [
                f"SPL-{rng.randint(10000, 99999):07d}",
                f"UH{rng.randint(100000, 999999)}",
                f"CCH/{rng.randint(2019, 2026)}/{rng.randint(1000, 99999)}",
            ]
        )
    return f"{rng.choice(['MR', 'PID'])}{rng.randint(100000, 999999)}"


def build_docs() -> list[Doc]:
    docs: list[Doc] = []
    counter = 0

    def new(layout: str, index: int) -> Doc:
        nonlocal counter
        counter += 1
        _, kind, convention = LAYOUTS[layout]
        rng = random.Random(f"{layout}:{index}")
        labels = IN_ID_LABELS if convention == "IN" else US_ID_LABELS
        label = labels[index % len(labels)]
        if kind == "prescription" and convention == "IN":
            label = "OPD No"
        person = make_person(rng, convention, label, "")
        person.identifier = (f"OPD-26-{rng.randint(10000, 99999)}" if label == "OPD No"
                             else _identifier(rng, convention, label))  # fmt: skip
        doc = Doc(f"d{counter:02d}", layout, kind, convention, rng, person,
                  date(2026, 11, rng.randint(3, 28)))  # fmt: skip
        if convention == "IN":
            facility, address = FACILITIES_IN[rng.randrange(len(FACILITIES_IN))]
            doctor, reg = DOCTORS_IN[rng.randrange(len(DOCTORS_IN))]
            doc.extra.update(facility=facility, address=address, doctor=doctor, reg_no=reg,
                             referrer=f"{doctor} (Reg. No. {reg})" if index % 2 == 0 else doctor,
                             lab_no=f"{rng.randint(2600000000, 2699999999)}",
                             signatory="Dr. MEENA KRISHNAN, MD (Path)",
                             date_style=index, ip_no=f"IP/26/{rng.randint(1000, 9999)}")  # fmt: skip
            doc.other_numbers += [reg, doc.extra["lab_no"]]
            doc.show_dob = index % 3 == 1
            doc.extra["unit_variety"] = index == 2
        else:
            facility, address = FACILITIES_US[rng.randrange(len(FACILITIES_US))]
            doctor, npi, dea = DOCTORS_US[rng.randrange(len(DOCTORS_US))]
            doc.extra.update(facility=facility, address=address, doctor=doctor, npi=npi, dea=dea,
                             referrer=f"{doctor}  NPI {npi}",
                             account=f"{rng.randint(1000000, 9999999)}",
                             signatory="Mark Feldman, MD, Laboratory Director")  # fmt: skip
            doc.other_numbers += [npi, dea, doc.extra["account"]]
            doc.extra["unit_variety"] = index >= 1
        diagnosis, complaint, management = DIAGNOSES[rng.randrange(len(DIAGNOSES))]
        doc.extra.update(diagnosis=diagnosis, complaint=complaint, management=management,
                         advice="Review after 2 weeks with reports. Low salt diet.")  # fmt: skip
        doc.flag_style = FLAG_STYLES.get(layout, "spaced")
        plant_patient(doc, index)
        return doc

    for layout, plans in LAB_PLAN.items():
        for index, panels in enumerate(plans):
            doc = new(layout, index)
            doc.panels = panels
            forced = REGRESSION_VALUES.get((layout, index))
            make_labs(doc, panels, forced)
            docs.append(doc)
    for layout in ("in_rx", "us_rx"):
        for index in range(3):
            doc = new(layout, index)
            make_meds(doc, doc.rng.randint(3, 4))
            docs.append(doc)
    for layout in ("in_discharge", "us_discharge"):
        for index in range(2):
            doc = new(layout, index)
            doc.panels = [doc.rng.choice(["kidney", "cbc"])]
            make_labs(doc, doc.panels)
            # A discharge summary lists a few results, not the whole panel.
            doc.labs = doc.labs[:5]
            make_meds(doc, doc.rng.randint(3, 4))
            docs.append(doc)
    return docs


#: The examples of issue 12, planted in dev documents (they are regression tests).
REGRESSION_VALUES: dict[tuple[str, int], dict[str, tuple[str, str | None]]] = {
    # "10.8L" written against the value, on a clean Indian CBC (Courier LIS layout).
    ("in_lab_courier", 0): {
        "hemoglobin": ("10.8", "L"),
        "hematocrit": ("33.9", "L"),
        "erythrocytes": ("4.12", None),
    },
    # A Courier "68" (ALT, flagged H) in a US LIS printout.
    ("us_lab_courier", 0): {"alt": ("68", "H")},
}


def plant_patient(doc: Doc, index: int) -> None:
    """The issue-12 identity examples, planted in dev documents (regression tests)."""
    p = doc.patient
    if doc.layout == "us_lab_quest" and index == 0:
        # "HARRIS, MICHAEL T", born 11/02/1975 (US month-first).
        p.family, p.given, p.sex = "HARRIS", ["MICHAEL", "T"], "male"
        p.dob, p.age = date(1975, 11, 2), 51
    if doc.layout == "in_rx" and index == 0:
        # The prescriber's DMC number in the letterhead; the patient's OPD number.
        doc.extra["doctor"], doc.extra["reg_no"] = "Dr. ANIL MEHTA", "DMC/R/40112"
        doc.other_numbers = ["DMC/R/40112"]
        p.identifier = "OPD-26-55871"
        p.family, p.given, p.sex, p.title = "IYER", ["RAJESH", "KUMAR"], "male", "Mr."
    if doc.layout == "in_lab_courier" and index == 0:
        # A female CBC whose RBC range is printed "3.8 - 4.8" (read as 38-48 when degraded).
        p.family, p.given, p.sex, p.title = "NAIR", ["LAKSHMI"], "female", "Mrs."
    doc.extra.setdefault("qualification", "MBBS, MD (General Medicine)")


def split_of(doc: Doc, docs: list[Doc]) -> str:
    if doc.layout in HELD_OUT:
        return "test"
    same = [d for d in docs if d.layout == doc.layout]
    return "test" if doc is same[-1] else "dev"


def printed_dob(doc: Doc) -> bool:
    """US documents print the date of birth; Indian lab reports only some; others never."""
    if doc.convention == "US":
        return True
    return doc.kind == "lab_report" and doc.show_dob


def truth_of(doc: Doc, split: str) -> dict[str, Any]:
    p = doc.patient
    return {
        "id": doc.id,
        "layout": doc.layout,
        "font": FONTS[doc.layout],
        "kind": doc.kind,
        "convention": doc.convention,
        "split": split,
        "panels": doc.panels,
        "patient": {
            "family": p.family,
            "given": p.given,
            "birth_date": p.dob.isoformat() if printed_dob(doc) else None,
            "sex": p.sex,
            "age": p.age,
            "identifier_label": p.identifier_label,
            "identifier": p.identifier,
        },
        "other_numbers": doc.other_numbers,
        "labs": [
            {
                k: lab[k]
                for k in (
                    "test",
                    "loinc",
                    "value",
                    "unit",
                    "flag",
                    "printed_value",
                    "printed_unit",
                    "range",
                    "name",
                )
            }
            for lab in doc.labs
        ],
        "medications": [
            {
                k: m.get(k)
                for k in (
                    "name",
                    "dose",
                    "dose_unit",
                    "frequency",
                    "period",
                    "period_unit",
                    "duration",
                    "duration_unit",
                )
            }
            for m in doc.medications
        ],
    }


#: Small pages for the pipeline tests, each printing one thing that must be held:
#: a range misread as ten times the usual (38 - 48 for an RBC count) and a value whose
#: printed flag contradicts it (ALT "6 H" against 7 - 56: a lost digit).
FIXTURES = {
    "hold_misread_range": [("RBC Count", "4.12", "", "mill/cumm", "38 - 48"),
                           ("Haemoglobin", "12.6", "", "g/dL", "12.0 - 15.5")],
    "hold_digit_loss": [("SGPT (ALT)", "6", "H", "U/L", "7 - 56"),
                        ("SGOT (AST)", "31", "", "U/L", "5 - 40")],
}  # fmt: skip
#: Rendered pages committed for the smoke tests (dev documents only).
SMOKE_PAGES = [
    ("d07", "clean"),
    ("d13", "clean"),
    ("d25", "clean"),
    ("d10", "lowres"),
    # Degraded dev pages the API tests of held and repaired lab values read (issue 12).
    ("d01", "rotated"),
    ("d07", "blur"),
    ("d07", "lowres"),
    ("d08", "noise"),
]


def fixture_html(name: str) -> str:
    rows = "".join(
        f"<tr><td>{e(t)}</td><td>{e(v)}</td><td>{e(f)}</td><td>{e(u)}</td><td>{e(r)}</td></tr>"
        for t, v, f, u, r in FIXTURES[name]
    )
    body = ("<h1>SUNRISE PATHOLOGY LABS</h1><p class='small'>Sector 21, Dwarka, New Delhi - "
            "110075</p><table class='pt'><tr><td>Name : Mrs. ANITA DESAI</td><td>Age / Sex : "
            "45 Y / F</td></tr><tr><td>UHID : SPL-0099123</td><td>Collected : 23/11/2026</td>"
            "</tr></table><h3>LABORATORY REPORT</h3><table class='res'><tr><th>Test Name</th>"
            "<th>Result</th><th>Flag</th><th>Unit</th><th>Biological Ref. Interval</th></tr>"
            + rows + "</table>")  # fmt: skip
    css = """body { font-family: 'Liberation Sans'; font-size: 12pt; } h1 { font-size: 20pt; }
    .res th { text-align: left; border-bottom: 1px solid #000; padding: 4px; }
    .res td { padding: 4px; } .pt td { padding: 3px 8px; }"""
    return page_html(css, body)


def write_html(out: Path) -> None:
    docs = build_docs()
    (out / "html").mkdir(parents=True, exist_ok=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    entries = []
    test_digest = hashlib.sha256()
    for doc in docs:
        split = split_of(doc, docs)
        page = LAYOUTS[doc.layout][0](doc)
        truth = truth_of(doc, split)
        (out / "html" / f"{doc.id}.html").write_text(page)
        text = json.dumps(truth, indent=1, ensure_ascii=False) + "\n"
        (out / "truth" / f"{doc.id}.json").write_text(text)
        if split == "test":
            test_digest.update(text.encode())
        entries.append({"id": doc.id, "layout": doc.layout, "kind": doc.kind,
                        "convention": doc.convention, "split": split,
                        "pages": 2 if doc.layout in ("in_lab_multi", "in_discharge",
                                                     "us_discharge") else 1})  # fmt: skip
    manifest = {
        "documents": entries,
        "conditions": list(CONDITIONS),
        "held_out_layouts": list(HELD_OUT),
        "test_truth_sha256": test_digest.hexdigest(),
    }
    (out / "corpus.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (out / "fixtures").mkdir(exist_ok=True)
    for name in FIXTURES:
        (out / "fixtures" / f"{name}.html").write_text(fixture_html(name))
    n_test = sum(1 for x in entries if x["split"] == "test")
    print(f"wrote {len(entries)} documents ({n_test} test) in {len(LAYOUTS)} layouts to {out}")


# --- rendering and degradation ------------------------------------------------------------


def check_fonts() -> None:
    listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    families = {f.strip() for line in listed.splitlines() for f in line.split(",")}
    missing = [f for f in REQUIRED_FONTS if f not in families]
    if missing:
        sys.exit(
            f"fonts missing: {', '.join(missing)}; install them with `apt-get install -y "
            "fonts-liberation fonts-freefont-ttf fonts-crosextra-carlito "
            "fonts-crosextra-caladea fonts-dejavu-core fonts-noto-mono`"
        )


def render_pdfs(html_files: list[Path], out: Path) -> dict[str, bytes]:
    from playwright.sync_api import sync_playwright

    pdfs: dict[str, bytes] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        for path in html_files:
            page.set_content(path.read_text(), wait_until="load")
            pdfs[path.stem] = page.pdf(
                format="A4", print_background=True, prefer_css_page_size=True
            )
        browser.close()
    return pdfs


def rasterise(pdf: bytes, dpi: int) -> list[Any]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
                for i in range(len(doc))]  # fmt: skip
    finally:
        doc.close()


def degrade(image: Any, condition: str, seed: int) -> tuple[Any, int]:
    """One page degraded as ``condition``; returns the image and its DPI."""
    import numpy as np
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    if condition == "rotated":
        angle = 1.5 if seed % 2 else -1.5
        return image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True,
                            fillcolor=255), 200  # fmt: skip
    if condition == "lowres":
        w, h = image.size
        return image.resize((w * 150 // 200, h * 150 // 200), Image.Resampling.LANCZOS), 150
    if condition == "blur":
        return image.filter(ImageFilter.GaussianBlur(1.3)), 200
    if condition == "noise":
        arr = np.asarray(image, dtype=np.float32)
        arr = arr + rng.normal(0, 22, arr.shape)
        mask = rng.random(arr.shape)
        arr[mask < 0.002] = 0
        arr[mask > 0.998] = 255
        return Image.fromarray(np.clip(arr, 0, 255).astype("uint8")), 200
    return image, 200


def encode(pages: list[Any], condition: str, dpi: int) -> tuple[bytes, str]:
    buffer = io.BytesIO()
    if len(pages) > 1:
        pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:],
                      resolution=float(dpi))  # fmt: skip
        return buffer.getvalue(), "pdf"
    if condition in ("lowres", "noise"):
        pages[0].save(buffer, format="JPEG", quality=80 if condition == "lowres" else 60,
                      dpi=(dpi, dpi))  # fmt: skip
        return buffer.getvalue(), "jpg"
    pages[0].save(buffer, format="PNG", dpi=(dpi, dpi), optimize=True)
    return buffer.getvalue(), "png"


def render(corpus: Path, out: Path, ids: set[str] | None = None,
           conditions: tuple[str, ...] = CONDITIONS) -> None:  # fmt: skip
    """Render every document (or ``ids``) in every condition into ``out``."""
    check_fonts()
    out.mkdir(parents=True, exist_ok=True)
    files = sorted((corpus / "html").glob("*.html"))
    if ids:
        files = [f for f in files if f.stem in ids]
    pdfs = render_pdfs(files, out)
    for doc_id, pdf in pdfs.items():
        pages = rasterise(pdf, 200)
        seed = int(doc_id[1:])
        for condition in conditions:
            if condition == "clean" and len(pages) > 1:
                data, ext = pdf, "pdf"
            else:
                degraded = [degrade(p, condition, seed * 10 + i) for i, p in enumerate(pages)]
                data, ext = encode([d[0] for d in degraded], condition, degraded[0][1])
            (out / f"{doc_id}.{condition}.{ext}").write_bytes(data)
    stamp = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    (out / "STAMP").write_text(stamp + "\n")
    print(f"rendered {len(pdfs)} documents x {len(conditions)} conditions into {out}")


def write_pages(corpus: Path, cache: Path) -> None:
    """Copy the smoke-test pages from the cache and render the fixtures, for committing."""
    pages = corpus / "pages"
    pages.mkdir(exist_ok=True)
    for doc_id, condition in SMOKE_PAGES:
        (found,) = cache.glob(f"{doc_id}.{condition}.*")
        (pages / found.name).write_bytes(found.read_bytes())
    pdfs = render_pdfs(sorted((corpus / "fixtures").glob("*.html")), pages)
    for name, pdf in pdfs.items():
        data, ext = encode(rasterise(pdf, 200), "clean", 200)
        (pages / f"{name}.{ext}").write_bytes(data)
    print(f"wrote {len(SMOKE_PAGES) + len(pdfs)} pages into {pages}")


def html_stamp(corpus: Path = CORPUS) -> str:
    """SHA-256 over the HTML sources: the render cache is stale when it changes."""
    files = sorted((corpus / "html").glob("*.html"))
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("html", help="write the HTML sources and truth files")
    r = sub.add_parser("render", help="render and degrade into a cache folder")
    r.add_argument("--out", type=Path, default=CACHE)
    r.add_argument("--ids", default="", help="comma-separated document ids")
    r.add_argument("--conditions", default=",".join(CONDITIONS))
    sub.add_parser("pages", help="write the committed smoke-test pages (after render)")
    args = ap.parse_args()
    if args.command == "html":
        write_html(CORPUS)
    elif args.command == "pages":
        write_pages(CORPUS, CACHE)
    else:
        ids = {i for i in args.ids.split(",") if i} or None
        render(CORPUS, args.out, ids, tuple(c for c in args.conditions.split(",") if c))


if __name__ == "__main__":
    main()
