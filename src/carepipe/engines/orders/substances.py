"""Words that name both a lab test and a medicine: which one the order means.

"Check glucose and potassium" orders two tests; "IV potassium 40 mEq over 4 hours" and
"Glucose gel 15 g buccal" give a medicine. Reading the second kind as a test is the worst
kind of error an order reader can make: the drug the patient needs is missing and a test
nobody asked for is ordered. The analyte word is a medicine when a dose, a route or a
dosage form stands right next to it; only the analytes whose medicine is unambiguous are
mapped (IV potassium is potassium chloride, glucose given is dextrose, IV magnesium is
magnesium sulfate). Calcium is not: IV calcium is the gluconate or the chloride.

"OGTT with 75 g glucose" names the test's glucose load: neither a medicine nor a second
test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AMOUNT = r"\d+(?:\.\d+)?\s*(?:g|gm|grams?|mg|meq|mmol|ml|cc)\b"
_STRENGTH = r"(?:\d+(?:\.\d+)?\s*%\s*)?"
_FORM = r"(?:gel|tabs?|tablets?|infusion|drip|supplements?|sachets?|powder|syrup|replacement)\b"
# A dose, a percentage strength or a dosage form right after the word.
_GIVEN_AFTER = re.compile(rf"\s*{_STRENGTH}(?:{_FORM}\s*)?(?:{_AMOUNT}|{_FORM})", re.I)
# A route, a form, a giving verb or an amount right before it ("25 g glucose", "IV K").
_GIVEN_BEFORE = re.compile(
    rf"(?:\b(?:iv|i\.v\.|po|oral|tab\.?|tablet|inj\.?|injection|give|infuse|bolus)"
    rf"|\b{_AMOUNT}(?:\s+of)?|\d+(?:\.\d+)?\s*%)\s*$",
    re.I,
)
_IV = re.compile(r"\b(?:iv|i\.v\.|intravenous(?:ly)?|infusion|infuse|drip)\b", re.I)
# The load of a glucose tolerance or challenge test.
_TOLERANCE_TEST = re.compile(r"\b(?:o?gtt|tolerance|challenge)\b", re.I)
_GLUCOSE_LOAD = re.compile(rf"\b{_AMOUNT}(?:\s+of)?\s+(?:oral\s+)?$", re.I)


@dataclass(frozen=True)
class Substance:
    """An analyte word read as the medicine it names."""

    generic: str
    default_unit: str
    iv_only: bool = False  # "magnesium 400 mg PO" could be oxide, citrate...


_SUBSTANCES: dict[str, Substance | None] = {
    "glucose": Substance("dextrose", "g"),
    "potassium": Substance("potassium chloride", "meq"),
    "magnesium": Substance("magnesium sulfate", "g", iv_only=True),
    "calcium": None,  # a medicine when given, but which salt is not written
    # "albumin 25 g IV after the tap": human albumin given (thirteenth pass)
    "albumin": Substance("albumin human", "g", iv_only=True),
}
_WORD = re.compile(
    r"\b(" + "|".join(_SUBSTANCES) + r")\b(?!\s+(?:chloride|citrate|sulfate|sulphate|oxide"
    r"|gluconate|carbonate|acetate|bicarbonate|phosphate|tolerance|challenge))",
    re.I,
)


@dataclass(frozen=True)
class SubstanceHit:
    """Where an analyte word is written as a medicine, and the medicine (``None`` when the
    words do not say which: "calcium 1 g IV", "magnesium 400 mg PO")."""

    substance: Substance | None
    start: int
    end: int


def _hits(clause: str) -> list[SubstanceHit]:
    hits: list[SubstanceHit] = []
    for m in _WORD.finditer(clause):
        if is_test_load(clause, m.start()):
            continue
        if not (_GIVEN_AFTER.match(clause, m.end()) or _GIVEN_BEFORE.search(clause, 0, m.start())):
            continue
        word = m.group(1).lower()
        substance = _SUBSTANCES[word]
        iv = _IV.search(clause) is not None
        if word == "calcium" and not iv:
            continue  # oral calcium: the shared NLP's reading (calcium carbonate) stands
        if substance is not None and substance.iv_only and not iv:
            substance = None
        hits.append(SubstanceHit(substance, m.start(), m.end()))
    return hits


def given_as_medicine(clause: str) -> list[SubstanceHit]:
    """The analyte words of ``clause`` written as a known medicine given (a dose, a route
    or a form beside them: "IV potassium 40 mEq", "glucose gel 15 g")."""
    return [h for h in _hits(clause) if h.substance is not None]


def unnamed_salts(clause: str) -> list[SubstanceHit]:
    """The analyte words of ``clause`` given as a medicine whose salt is not written
    ("calcium 1 g IV": the gluconate or the chloride), which no reader should guess."""
    return [h for h in _hits(clause) if h.substance is None]


def written_as_given(clause: str, start: int, end: int) -> bool:
    """True when the test name at ``start:end`` of ``clause`` is written as a medicine
    given, known or not ("calcium 1 g IV" is not a calcium test either)."""
    return any(start <= h.start < end for h in _hits(clause))


def is_test_load(clause: str, start: int) -> bool:
    """True when the glucose at ``start`` is the load of a tolerance test in the same clause
    ("OGTT with 75 g glucose")."""
    return (
        clause[start : start + 7].lower() == "glucose"
        and _TOLERANCE_TEST.search(clause) is not None
        and _GLUCOSE_LOAD.search(clause, 0, start) is not None
    )
