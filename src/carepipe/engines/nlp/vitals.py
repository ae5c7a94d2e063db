"""Vital signs in spoken or written text, with LOINC codes and UCUM units.

    >>> v = find_vitals("BP one forty over ninety, pulse seventy two")
    >>> [(x.kind, x.value_text, x.unit) for x in v]
    [('blood_pressure', '140/90', 'mm[Hg]'), ('heart_rate', '72', '/min')]

Units are kept as said (a temperature said in Fahrenheit stays Fahrenheit). When no unit
was said it is inferred from the value's range and the item says so (``unit_inferred``,
lower confidence). A value outside the plausible range is kept, flagged ``plausible=False``
with a low confidence, so a reviewer sees it rather than losing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from carepipe.engines.nlp.numbers import normalize_numbers

LOINC_SYSTEM = "http://loinc.org"

# kind -> (LOINC, display)
LOINC: dict[str, tuple[str, str]] = {
    "blood_pressure": ("85354-9", "Blood pressure panel with all children optional"),
    "systolic": ("8480-6", "Systolic blood pressure"),
    "diastolic": ("8462-4", "Diastolic blood pressure"),
    "heart_rate": ("8867-4", "Heart rate"),
    "temperature": ("8310-5", "Body temperature"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
    "weight": ("29463-7", "Body weight"),
    "height": ("8302-2", "Body height"),
    "respiratory_rate": ("9279-1", "Respiratory rate"),
    "blood_glucose": ("2339-0", "Glucose [Mass/volume] in Blood"),
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]"),
    "fetal_heart_rate": ("55283-6", "Fetal Heart rate"),
}
# A glucose in mmol/L is a substance concentration: LOINC's Moles/volume code, not the
# Mass/volume one (a receiving system converts by the code's property).
GLUCOSE_MOLAR = ("15074-8", "Glucose [Moles/volume] in Blood")
# FHIR's vital-signs profile wants 2708-6 beside 59408-5 for pulse oximetry.
EXTRA_CODES: dict[str, tuple[str, ...]] = {"spo2": ("2708-6",)}

# Plausible ranges per (kind, unit); outside them a value is flagged.
PLAUSIBLE: dict[tuple[str, str], tuple[float, float]] = {
    ("systolic", "mm[Hg]"): (60, 260),
    ("diastolic", "mm[Hg]"): (30, 160),
    ("heart_rate", "/min"): (25, 250),
    ("temperature", "Cel"): (30, 45),
    ("temperature", "[degF]"): (86, 113),
    ("spo2", "%"): (50, 100),
    ("weight", "kg"): (0.5, 350),
    ("weight", "[lb_av]"): (1, 770),
    ("height", "cm"): (30, 250),
    ("height", "m"): (0.3, 2.5),
    ("bmi", "kg/m2"): (10, 80),
    ("fetal_heart_rate", "/min"): (60, 220),
    ("respiratory_rate", "/min"): (4, 70),
    ("blood_glucose", "mg/dL"): (20, 1000),
    ("blood_glucose", "mmol/L"): (1, 55),
}


@dataclass
class VitalSign:
    """One measurement. Blood pressure carries ``systolic``/``diastolic`` components."""

    kind: str  # blood_pressure | heart_rate | temperature | spo2 | weight | height | bmi...
    value: float | None  # None for blood pressure (see components)
    value_text: str  # "140/90", "38.2"
    unit: str  # UCUM: mm[Hg], /min, Cel, [degF], %, kg, [lb_av]
    loinc: str
    start: int
    end: int
    confidence: float
    components: dict[str, float] = field(default_factory=dict)  # systolic/diastolic
    unit_inferred: bool = False
    plausible: bool = True
    surface: str = ""
    extra_codes: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        """LOINC display name."""
        return GLUCOSE_MOLAR[1] if self.loinc == GLUCOSE_MOLAR[0] else LOINC[self.kind][1]


_NUM = r"(?P<v>\d{1,3}(?:\.\d+)?)"
# Up to four filler words between a trigger and its number ("BP today was about 130/85"),
# but never another vital's trigger word.
_OTHER_TRIGGERS = (
    r"bp|blood|pressure|pulse|heart|hr|sat|sats|saturation|spo2|oxygen|temp|temperature|weight|"
    r"weighs|weigh|resp|respiratory|rr|breathing|sugar|glucose|height|over|bmi|tall"
)
# Only connecting words may sit between a trigger and its value: in run-on speech a free
# filler would bridge clauses ("weight gain we'll start levothyroxine 50 micrograms").
_FILLER_WORDS = (
    r"is|was|are|were|be|been|being|has|had|have|it|its|it's|that|this|today|todays|today's|now"
    r"|currently|still|about|around|approximately|approx|roughly|nearly|almost|of|at|on|in|to"
    r"|reading|reads|read|came|comes|come|out|measured|checked|noted|recorded|taken|showing"
    r"|shows|your|his|her|their|the|a|an|and|normal|regular|irregular|fine|stable|high|low"
    r"|raised|elevated|up|down|only|just|bit|slightly|little|quite|very|rate|rates|level"
    r"|levels|value|sitting|standing|lying|supine|room|air|clinic|here|again|last|time"
    r"|recheck|repeat|repeated|manual|rest|resting|morning|evening|night|also|oral|axillary"
    r"|tympanic|i|we|got|get|found|find|make|made|was"
)
_FILL = (
    r"(?:[\s,:=\-]*(?:(?!(?:" + _OTHER_TRIGGERS + r")\b)(?:" + _FILLER_WORDS + r")\b)){0,5}?"
    r"[\s,:=\-]*"
)
_BP_RE = re.compile(
    r"\b(?P<trig>blood pressure|b\.?p\.?|bp|pressure)\b"
    + _FILL
    + r"(?P<sys>\d{2,3})\s*(?:/|\bover\b|\bby\b|\bon\b)\s*(?P<dia>\d{2,3})"
    r"(?P<unit>\s*(?:mm\s*(?:of\s*)?(?:hg|mercury)|millimet(?:er|re)s? of mercury|mmhg))?",
    re.IGNORECASE,
)
_BP_BARE_RE = re.compile(
    r"(?<![\d/])(?P<sys>\d{2,3})\s*(?:/|\bover\b)\s*(?P<dia>\d{2,3})(?![\d/])"
    r"(?P<unit>\s*(?:mm\s*(?:of\s*)?(?:hg|mercury)|millimet(?:er|re)s? of mercury|mmhg))?",
    re.IGNORECASE,
)
_HR_RE = re.compile(
    r"\b(?P<trig>heart rate|pulse rate|pulse|hr|heartbeat|heart beat)\b"
    + _FILL
    + _NUM
    + r"(?P<unit>\s*(?:beats per minute|beats a minute|beats/min|bpm|per minute|/min|/ min))?",
    re.IGNORECASE,
)
_HR_BARE_RE = re.compile(
    r"\b" + _NUM + r"(?P<unit>\s*(?:beats per minute|beats a minute|bpm|beats/min))", re.IGNORECASE
)
_TEMP_RE = re.compile(
    r"\b(?P<trig>temperature|temp|febrile (?:at|to|with)|fever (?:of|up to|as high as|was|is|"
    r"around|about|touching|reaching)|fever)\b"
    + _FILL
    + _NUM
    + r"(?P<unit>\s*(?:degrees?|deg|°)?\s*(?:celsius|centigrade|fahrenheit|c|f)\b|\s*°)?"
    r"(?P<deg>\s*degrees?)?",
    re.IGNORECASE,
)
_TEMP_BARE_RE = re.compile(
    r"\b" + _NUM + r"(?P<unit>\s*(?:degrees?|deg|°)\s*(?:celsius|centigrade|fahrenheit|c|f)\b)",
    re.IGNORECASE,
)
_SPO2_RE = re.compile(
    r"\b(?P<trig>oxygen saturation|o2 saturation|o2 sats?|oxygen sats?|spo2|sp o2|sao2|"
    r"saturations?|saturating|sats?|pulse ox(?:imetry)?|oxygen level|oxygen)\b"
    + _FILL
    + _NUM
    + r"(?P<unit>\s*(?:%|percent|per cent))?",
    re.IGNORECASE,
)
_WEIGHT_RE = re.compile(
    r"\b(?P<trig>weight|weighs|weigh|weighing|weighed|wt|body weight)\b"
    r"(?!\s+(?:gain|loss|lost|reduction|bearing|gained|change))"
    + _FILL
    + r"(?P<v>\d{1,3}(?:\.\d+)?)"
    r"(?P<unit>\s*(?:kgs?|kilos?|kilograms?|kilogrammes?|lbs?|pounds?)\b)?",
    re.IGNORECASE,
)
_HEIGHT_RE = re.compile(
    r"\b(?P<trig>height|tall|stands?)\b" + _FILL + r"(?P<v>\d{1,3}(?:\.\d+)?)"
    r"(?P<unit>\s*(?:centimet(?:er|re)s?|cms?|met(?:er|re)s?|m)\b)?",
    re.IGNORECASE,
)
_BMI_RE = re.compile(
    r"\b(?P<trig>bmi|body mass index)\b" + _FILL + r"(?P<v>\d{1,2}(?:\.\d+)?)"
    r"(?P<unit>\s*(?:kg/m2|kilograms? per (?:square )?met(?:er|re) squared|kg per m2))?",
    re.IGNORECASE,
)
# The fetus is the subject when the heart rate is the baby's ("the baby's heart rate").
_FETAL_RE = re.compile(
    r"\b(?:baby'?s?|fetal|foetal|fetus|foetus|fetal heart|foetal heart)\W+(?:\w+\W+){0,1}$",
    re.IGNORECASE,
)
_WEIGHT_BARE_RE = re.compile(
    r"\b(?P<v>\d{1,3}(?:\.\d+)?)(?P<unit>\s*(?:kgs?|kilos|kilograms?))\b(?!\s*(?:of|per))",
    re.IGNORECASE,
)
_RR_RE = re.compile(
    r"\b(?P<trig>respiratory rate|resp(?:iratory)? rate|resps?|rr|respirations?|breathing rate"
    r"|respiration rate)\b" + _FILL + r"(?P<v>\d{1,2})"
    r"(?P<unit>\s*(?:breaths? per minute|breaths? a minute|per minute|/min|breaths))?",
    re.IGNORECASE,
)
_RR_BARE_RE = re.compile(r"\b(?P<v>\d{1,2})(?P<unit>\s*breaths? (?:per|a) minute)", re.IGNORECASE)
_GLUCOSE_RE = re.compile(
    r"\b(?P<trig>random blood sugar|fasting blood sugar|blood sugar|blood glucose|sugar level|"
    r"(?:random |fasting |post ?prandial )?sugars?(?: levels?| readings?)?|glucose|rbs|fbs|grbs"
    r"|cbg|ppbs|fasting (?:readings?|levels?|values?))\b"
    # A one-digit value needs its decimals ("five point six"): mmol/L, never "2 sugars".
    + _FILL
    + r"(?P<v>\d{2,3}(?:\.\d+)?|\d\.\d+)"
    r"(?P<unit>\s*(?:mg/dl|mg per dl|milligrams? per decilit(?:er|re)"
    r"|mmol(?:/l| per lit(?:er|re))?))?",
    re.IGNORECASE,
)


_DURATION_AFTER_RE = re.compile(
    r"\s*(?:more\s+)?(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|times?|episodes?)\b",
    re.IGNORECASE,
)
_THRESHOLD_RE = re.compile(
    r"\b(?:above|over|below|under|more than|less than|greater than|exceeds?|exceeding|beyond"
    r"|upto|up to|target|goal|keep it|aim for)\s*(?:of\s+)?$",
    re.IGNORECASE,
)
# "your weight is up to 102 kilos", "sugar has come down to 140": where a reading now is,
# not a threshold.
_NOW_AT_RE = re.compile(
    r"\b(?:is|was|'s|has|have|had|gone|went|come|came|now)\s+(?:gone\s+|come\s+)?(?:up|down)"
    r"\s+to\s*$",
    re.IGNORECASE,
)
_CHANGE_RE = re.compile(
    r"\b(?:up|down|lost|lose|losing|loss of|gained|gain|gaining|put on|dropped|drop of|by|another"
    r"|extra)\b(?:\s+(?:about|around|nearly|almost|over))?\s*$",
    re.IGNORECASE,
)


def _unit_of(kind: str, said: str | None, value: float) -> tuple[str, bool]:
    """(UCUM unit, inferred?) from what was said, or from the value's range."""
    s = (said or "").strip().lower()
    if kind == "temperature":
        if re.search(r"f\b|fahrenheit", s):
            return "[degF]", False
        if re.search(r"c\b|celsius|centigrade", s):
            return "Cel", False
        return ("Cel" if value < 50 else "[degF]"), True
    if kind == "height":
        if re.search(r"cent|cm", s):
            return "cm", False
        if s:
            return "m", False
        return ("m" if value < 3 else "cm"), True
    if kind == "bmi":
        return "kg/m2", False
    if kind == "weight":
        if re.search(r"lb|pound", s):
            return "[lb_av]", False
        if s:
            return "kg", False
        return "kg", True
    if kind == "blood_glucose":
        if "mmol" in s:
            return "mmol/L", False
        if s:
            return "mg/dL", False
        return ("mmol/L" if value < 30 else "mg/dL"), True
    # Pulse, respiratory rate and saturation have one unit: saying it adds nothing.
    fixed = {
        "heart_rate": "/min",
        "spo2": "%",
        "respiratory_rate": "/min",
        "fetal_heart_rate": "/min",
    }
    return fixed[kind], False


def _plausible(kind: str, unit: str, value: float) -> bool:
    lo, hi = PLAUSIBLE.get((kind, unit), (float("-inf"), float("inf")))
    return lo <= value <= hi


def _confidence(triggered: bool, unit_inferred: bool, plausible: bool) -> float:
    if not plausible:
        return 0.3
    conf = 0.95 if triggered else 0.75
    if unit_inferred:
        conf -= 0.1
    return round(conf, 3)


def find_vitals(text: str) -> list[VitalSign]:
    """Every vital sign in ``text``, in order of appearance (spans in ``text``)."""
    nt = normalize_numbers(text, colloquial=True)
    norm = nt.text
    found: list[VitalSign] = []
    taken: list[tuple[int, int]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    def add(kind: str, m: re.Match[str], value_span: tuple[int, int], vital: VitalSign) -> None:
        os_, oe = nt.to_original(m.start(), m.end())
        vital.start, vital.end = os_, oe
        vital.surface = text[os_:oe]
        found.append(vital)
        taken.append((m.start(), m.end()))

    # Blood pressure first: its two numbers must not be read as pulse or temperature.
    for rx, triggered in ((_BP_RE, True), (_BP_BARE_RE, False)):
        for m in rx.finditer(norm):
            if not free(m.start(), m.end()):
                continue
            sys_v, dia_v = float(m.group("sys")), float(m.group("dia"))
            has_unit = bool(m.group("unit"))
            said_bp = re.search(
                r"\b(?:bp|blood pressure|pressure)\b",
                norm[max(0, m.start() - 60) : m.start()],
                re.IGNORECASE,
            )
            looks_like_bp = 70 <= sys_v <= 250 and 40 <= dia_v <= 150 and sys_v > dia_v
            if not (triggered or has_unit or said_bp or looks_like_bp):
                continue  # a bare "3/4" is not a blood pressure
            ok = (
                _plausible("systolic", "mm[Hg]", sys_v)
                and _plausible("diastolic", "mm[Hg]", dia_v)
                and sys_v > dia_v
            )
            conf = _confidence(triggered or has_unit, False, ok)
            if not triggered and not has_unit:
                conf = min(conf, 0.65)
            v = VitalSign(
                kind="blood_pressure",
                value=None,
                value_text=f"{_fmt(sys_v)}/{_fmt(dia_v)}",
                unit="mm[Hg]",
                loinc=LOINC["blood_pressure"][0],
                start=0,
                end=0,
                confidence=conf,
                components={"systolic": sys_v, "diastolic": dia_v},
                plausible=ok,
            )
            add("blood_pressure", m, m.span("sys"), v)

    single: list[tuple[str, re.Pattern[str], bool]] = [
        ("spo2", _SPO2_RE, True),
        ("heart_rate", _HR_RE, True),
        ("heart_rate", _HR_BARE_RE, False),
        ("temperature", _TEMP_RE, True),
        ("temperature", _TEMP_BARE_RE, False),
        ("respiratory_rate", _RR_RE, True),
        ("respiratory_rate", _RR_BARE_RE, False),
        ("weight", _WEIGHT_RE, True),
        ("weight", _WEIGHT_BARE_RE, False),
        ("height", _HEIGHT_RE, True),
        ("bmi", _BMI_RE, True),
        ("blood_glucose", _GLUCOSE_RE, True),
    ]
    for kind, rx, triggered in single:
        for m in rx.finditer(norm):
            if not free(m.start(), m.end()):
                continue
            if _DURATION_AFTER_RE.match(norm, m.end("v")):
                continue  # "a temperature for 2 days": a duration, not a reading
            before = norm[max(0, m.start("v") - 24) : m.start("v")]
            if _THRESHOLD_RE.search(before[-16:]) and not _NOW_AT_RE.search(before):
                continue  # "if the temperature is above 100": an instruction, not a reading
            if kind == "weight" and _CHANGE_RE.search(norm[max(0, m.start() - 25) : m.start("v")]):
                continue  # "lost four kilos", "up three kilos": a change, not a weight
            value = float(m.group("v"))
            said = m.groupdict().get("unit")
            trig = (m.groupdict().get("trig") or "").lower()
            # "fever 3 days": only a temperature when the number looks like one.
            if (
                kind == "temperature"
                and trig == "fever"
                and not (said or 35 <= value <= 45 or 95 <= value <= 110)
            ):
                continue
            # "oxygen 2 litres" is a flow rate, not a saturation.
            if kind == "spo2" and not said and trig == "oxygen" and not 70 <= value <= 100:
                continue
            if kind == "weight" and value < 1 and not said:
                continue
            if kind == "height" and trig in ("tall", "stand", "stands") and not said:
                continue  # "stands for", "tall" without a number-and-unit is not a height
            if kind == "heart_rate" and _FETAL_RE.search(norm[max(0, m.start() - 30) : m.start()]):
                kind = "fetal_heart_rate"  # the baby's, not the mother's
            unit, inferred = _unit_of(kind, said, value)
            ok = _plausible(kind, unit, value)
            v = VitalSign(
                kind=kind,
                value=value,
                value_text=_fmt(value),
                unit=unit,
                loinc=GLUCOSE_MOLAR[0] if unit == "mmol/L" else LOINC[kind][0],
                start=0,
                end=0,
                confidence=_confidence(triggered, inferred, ok),
                unit_inferred=inferred,
                plausible=ok,
                extra_codes=EXTRA_CODES.get(kind, ()),
            )
            add(kind, m, m.span("v"), v)
            kind = {"fetal_heart_rate": "heart_rate"}.get(kind, kind)
    found.sort(key=lambda v: v.start)
    return found


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
