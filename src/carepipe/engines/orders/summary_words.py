"""FHIR datatypes read aloud: numbers, codes, quantities, durations, routes, timings, dosages.

The pieces carepipe.engines.orders.summary composes into its sentences."""

from __future__ import annotations

from typing import Any

# --- small readers of FHIR datatypes ------------------------------------------------------


def num(value: Any) -> str:
    """500.0 -> "500", 0.25 -> "0.25"."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        f = float(value)
        return str(int(f)) if f.is_integer() else f"{f:g}"
    return str(value)


def concept(cc: Any) -> str:
    """Text of a CodeableConcept: text, else the first display, else the first code."""
    if not isinstance(cc, dict):
        return ""
    if cc.get("text"):
        return str(cc["text"])
    for coding in cc.get("coding") or []:
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    for coding in cc.get("coding") or []:
        if isinstance(coding, dict) and coding.get("code"):
            return str(coding["code"])
    return ""


def codes_of(cc: Any) -> set[str]:
    if not isinstance(cc, dict):
        return set()
    return {str(c.get("code")) for c in cc.get("coding") or [] if isinstance(c, dict)}


def soft(text: str) -> str:
    """Lower-case a capitalised common word ("Lipid panel" -> "lipid panel"), keep acronyms."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].isalpha() and first[1:].islower():
        return text[0].lower() + text[1:]
    return text


def join(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def sentence_of(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


_UNIT_WORDS = {
    "[iU]": ("unit", "units"),
    "[IU]": ("unit", "units"),
    "U": ("unit", "units"),
    "{puff}": ("puff", "puffs"),
    "puff": ("puff", "puffs"),
    "{tbl}": ("tablet", "tablets"),
    "tablet": ("tablet", "tablets"),
    "capsule": ("capsule", "capsules"),
    "drop": ("drop", "drops"),
    "{drop}": ("drop", "drops"),
}
_TIME_WORDS = {
    "s": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "d": ("day", "days"),
    "wk": ("week", "weeks"),
    "mo": ("month", "months"),
    "a": ("year", "years"),
}


def quantity(q: Any) -> str:
    """A Quantity as words: "500 mg", "10 units", "2 puffs"."""
    if not isinstance(q, dict) or q.get("value") is None:
        return ""
    value = q["value"]
    unit = q.get("unit") or q.get("code") or ""
    words = _UNIT_WORDS.get(unit) or _UNIT_WORDS.get(q.get("code") or "")
    if words:
        unit = words[0] if float(value) == 1 else words[1]
    return f"{num(value)} {unit}".strip()


def _duration(q: Any) -> str:
    """A Duration/Quantity of time: "3 months", "1 week"."""
    if not isinstance(q, dict) or q.get("value") is None:
        return ""
    code = q.get("code") or q.get("unit") or ""
    words = _TIME_WORDS.get(code)
    if words is None:
        # Free-text unit ("days"): use as given.
        return f"{num(q['value'])} {q.get('unit') or code}".strip()
    return f"{num(q['value'])} {words[0] if float(q['value']) == 1 else words[1]}"


_ROUTE_CODES = {
    "26643006": "by mouth",
    "47625008": "intravenously",
    "34206005": "subcutaneously",
    "78421000": "intramuscularly",
}
_ROUTE_WORDS = (
    ("oral", "by mouth"),
    ("mouth", "by mouth"),
    ("intravenous", "intravenously"),
    ("subcutaneous", "subcutaneously"),
    ("intramuscular", "intramuscularly"),
    ("inhal", "by inhalation"),
    ("sublingual", "under the tongue"),
    ("topical", "on the skin"),
    ("cutaneous", "on the skin"),
    ("transdermal", "through the skin"),
    ("rectal", "rectally"),
    ("nasal", "in the nose"),
    ("ophthalmic", "in the eye"),
    ("otic", "in the ear"),
    ("vaginal", "vaginally"),
)


def _route(cc: Any) -> str:
    for code in codes_of(cc):
        if code in _ROUTE_CODES:
            return _ROUTE_CODES[code]
    text = concept(cc).lower()
    if not text:
        return ""
    for key, words in _ROUTE_WORDS:
        if key in text:
            return words
    return f"by {text} route"


_WHEN = {
    "HS": "at bedtime",
    "WAKE": "on waking",
    "MORN": "in the morning",
    "AFT": "in the afternoon",
    "EVE": "in the evening",
    "NIGHT": "at night",
    "C": "with meals",
    "CM": "with breakfast",
    "CD": "with lunch",
    "CV": "with dinner",
    "AC": "before meals",
    "ACM": "before breakfast",
    "ACD": "before lunch",
    "ACV": "before dinner",
    "PC": "after meals",
    "PCM": "after breakfast",
    "PCD": "after lunch",
    "PCV": "after dinner",
}
_TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times"}


def _timing(timing: Any) -> str:
    """A Timing as words: "twice a day", "every 4 to 6 hours", "once a day at bedtime"."""
    if not isinstance(timing, dict):
        return ""
    rep = timing.get("repeat") or {}
    parts: list[str] = []
    freq = rep.get("frequency")
    period = rep.get("period")
    unit = rep.get("periodUnit")
    pmax = rep.get("periodMax")
    if period is not None and unit in _TIME_WORDS:
        one, many = _TIME_WORDS[unit]
        f = int(freq or 1)
        if float(period) == 1 and pmax is None:
            article = "an" if unit == "h" else "a"
            parts.append(f"{_TIMES.get(f, f'{f} times')} {article} {one}")
        else:
            span = num(period) + (f" to {num(pmax)}" if pmax is not None else "")
            every = "every other day" if unit == "d" and float(period) == 2 and pmax is None else ""
            every = every or f"every {span} {many}"
            parts.append(every if f == 1 else f"{_TIMES.get(f, f'{f} times')} {every}")
    elif freq:
        parts.append(f"{_TIMES.get(int(freq), f'{freq} times')}")
    when = [_WHEN.get(w, w.lower()) for w in rep.get("when") or []]
    if when:
        parts.append(join(when))
    if rep.get("timeOfDay"):
        parts.append("at " + join([str(t)[:5] for t in rep["timeOfDay"]]))
    if rep.get("dayOfWeek"):
        parts.append("on " + join([str(d).capitalize() for d in rep["dayOfWeek"]]))
    bounds = _duration(rep.get("boundsDuration"))
    if bounds:
        parts.append(f"for {bounds}")
    if rep.get("count") and not bounds:
        n = rep["count"]
        parts.append("once only" if n == 1 and not parts else f"for {num(n)} doses")
    if not parts:
        return soft(concept(timing.get("code")))
    return " ".join(parts)


def dosage_of(d: Any, name: str = "") -> str:
    """One Dosage as words: "500 mg by mouth twice a day for 7 days as needed for pain".

    Only when nothing is structured is the free text used (without a leading repeat of
    the medication ``name``, which the sentence already says).
    """
    if not isinstance(d, dict):
        return ""
    parts: list[str] = []
    for dr in d.get("doseAndRate") or []:
        if not isinstance(dr, dict):
            continue
        if dr.get("doseQuantity"):
            parts.append(quantity(dr["doseQuantity"]))
            break
        rng = dr.get("doseRange")
        if isinstance(rng, dict) and rng.get("low") and rng.get("high"):
            low, high = quantity(rng["low"]), quantity(rng["high"])
            low_value = low.split(" ")[0]
            parts.append(f"{low_value} to {high}")
            break
    route = _route(d.get("route"))
    if route:
        parts.append(route)
    timing = _timing(d.get("timing"))
    if timing:
        parts.append(timing)
    if d.get("asNeededCodeableConcept"):
        parts.append(f"as needed for {soft(concept(d['asNeededCodeableConcept']))}")
    elif d.get("asNeededBoolean"):
        parts.append("as needed")
    structured = " ".join(p for p in parts if p)
    if structured:
        return structured
    text = str(d.get("text") or d.get("patientInstruction") or "").strip()
    if name and text.lower().startswith(name.lower()):
        text = text[len(name) :].strip(" ,;:-")
    return text
