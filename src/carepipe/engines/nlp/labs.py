"""Common laboratory results said aloud: "your HbA1c is seven point eight percent".

    >>> [(x.kind, x.value, x.unit) for x in find_labs("TSH nine point four, potassium 4.2")]
    [('tsh', 9.4, 'm[IU]/L'), ('potassium', 4.2, 'mmol/L')]

Each result has its LOINC code and UCUM unit; a unit not said is the test's usual one,
chosen by the value where two are common (creatinine in mg/dL or umol/L, cholesterol in
mmol/L or mg/dL). Values outside the test's plausible range are kept and flagged
(``plausible=False``). Blood glucose is a vital sign here (``carepipe.engines.nlp.vitals``)
and is not repeated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carepipe.engines.nlp.numbers import normalize_numbers
from carepipe.engines.nlp.vitals import _FILL


@dataclass(frozen=True)
class LabTest:
    """What a spoken lab name means."""

    kind: str
    loinc: str
    display: str
    unit: str
    low: float
    high: float


# kind -> (trigger pattern, [(value upper bound for this unit, LabTest)])
_TESTS: list[tuple[str, str, list[tuple[float, LabTest]]]] = [
    (
        "hba1c",
        r"h\.?b\.?\s?a\s?1\s?c|hb a one c|a\s?1\s?c|a one c|(?:haemo|hemo)globin a ?1 ?c"
        r"|glycated (?:haemo|hemo)globin",
        [(30, LabTest("hba1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 3, 20))],
    ),
    (
        "tsh",
        r"tsh|thyroid stimulating hormone",
        [
            (
                1000,
                LabTest("tsh", "3016-3", "Thyrotropin [Units/volume] in Serum", "m[IU]/L", 0, 150),
            )
        ],
    ),
    (
        "hemoglobin",
        r"(?:haemo|hemo)globin(?! ?a ?1)|\bhb\b(?! ?a ?1)",
        [
            (
                30,
                LabTest("hemoglobin", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 3, 25),
            ),
            (
                300,
                LabTest("hemoglobin", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/L", 30, 250),
            ),
        ],
    ),
    (
        "creatinine",
        r"creatinine",
        [
            (
                20,
                LabTest(
                    "creatinine", "2160-0", "Creatinine [Mass/volume] in Serum", "mg/dL", 0.1, 20
                ),
            ),
            (
                3000,
                LabTest(
                    "creatinine", "2160-0", "Creatinine [Mass/volume] in Serum", "umol/L", 10, 2000
                ),
            ),
        ],
    ),
    (
        "potassium",
        r"potassium|\bk\b(?= (?:is|was|of|level))",
        [
            (
                15,
                LabTest(
                    "potassium", "2823-3", "Potassium [Moles/volume] in Serum", "mmol/L", 1.5, 10
                ),
            )
        ],
    ),
    (
        "sodium",
        r"sodium",
        [(250, LabTest("sodium", "2951-2", "Sodium [Moles/volume] in Serum", "mmol/L", 100, 180))],
    ),
    (
        "cholesterol",
        r"(?:total )?cholesterol",
        [
            (
                30,
                LabTest(
                    "cholesterol", "2093-3", "Cholesterol [Mass/volume] in Serum", "mmol/L", 1, 25
                ),
            ),
            (
                1000,
                LabTest(
                    "cholesterol", "2093-3", "Cholesterol [Mass/volume] in Serum", "mg/dL", 40, 900
                ),
            ),
        ],
    ),
    (
        "inr",
        r"\binr\b|international normali[sz]ed ratio",
        [
            (
                30,
                LabTest(
                    "inr",
                    "6301-6",
                    "INR in Platelet poor plasma by Coagulation assay",
                    "{INR}",
                    0.5,
                    15,
                ),
            )
        ],
    ),
]
_NOT_A_RESULT_AFTER = re.compile(
    r"^\s*(?:milligrams?|mg|micrograms?|mcg|grams?|tablets?|supplements?|chloride|times|days?"
    r"|weeks?|months?|years?)\b",
    re.IGNORECASE,
)


@dataclass
class LabMention:
    """One result: kind, value, unit, LOINC, where it was said and how sure we are."""

    kind: str
    value: float
    unit: str
    loinc: str
    display: str
    start: int
    end: int
    confidence: float
    plausible: bool
    surface: str = ""


def find_labs(text: str) -> list[LabMention]:
    """Every lab result in ``text``, in order of appearance (spans into ``text``)."""
    nt = normalize_numbers(text, colloquial=False)
    norm = nt.text
    out: list[LabMention] = []
    taken: list[tuple[int, int]] = []
    for _kind, trigger, units in _TESTS:
        rx = re.compile(
            r"\b(?P<trig>" + trigger + r")\b"
            r"(?:\s*(?:test|result|results|level|levels)\b)?(?:\s*(?:came|come|is) back\b)?"
            + _FILL
            + r"(?P<v>\d{1,4}(?:\.\d+)?)"
            r"(?P<unit>\s*(?:%|percent|per cent|millimoles?(?: per lit(?:er|re))?|mmol(?:/l)?"
            r"|micromoles?(?: per lit(?:er|re))?|umol(?:/l)?|grams? per decilit(?:er|re)|g/dl"
            r"|mg/dl|milligrams? per decilit(?:er|re)))?",
            re.IGNORECASE,
        )
        for m in rx.finditer(norm):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            if _NOT_A_RESULT_AFTER.match(norm, m.end("v")):
                continue
            value = float(m.group("v"))
            test = next((t for bound, t in units if value < bound), None)
            if test is None:
                continue
            plausible = test.low <= value <= test.high
            s, e = nt.to_original(m.start(), m.end())
            out.append(
                LabMention(
                    kind=test.kind,
                    value=value,
                    unit=test.unit,
                    loinc=test.loinc,
                    display=test.display,
                    start=s,
                    end=e,
                    confidence=0.9 if plausible else 0.3,
                    plausible=plausible,
                    surface=text[s:e],
                )
            )
            taken.append((m.start(), m.end()))
    out.sort(key=lambda x: x.start)
    return out
