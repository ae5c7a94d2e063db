"""A medication's signature: dose, tablet count, frequency, duration, route, steps.

``parse_sig(window, before, ...)`` reads the words after a drug name (up to the next
drug or the end of the clause) and the few words before it ("half a tablet of ...").
It understands, beside the usual "500 mg twice daily for 7 days":

- numbers with thousands separators and fractions: "60,000 IU", "½ tab", "1/2 tab";
- tablet counts times the strength: "25 mg half tab" is 12.5 mg, "Dolo 650 1 tab" 650 mg;
  counts of puffs, drops, sprays and sachets stay counts ("2 puffs");
- Indian schedules: "1-0-1" (morning-noon-night), "½-0-0", "1-1-1-1";
- shorthand: "x7d", "x 5/7", "BBF", "qhs", "q8h", "q5min", "SOS", "stat", "x1";
- weekly, alternate-day and once-only doses ("stat", "single dose": ``count`` 1);
- weight-based doses ("15 mg/kg") and combination strengths ("875/125 mg": no single dose);
- dose steps: "300 mg stat then 75 mg OD", "30 mg x 1 week then taper by 5 mg every
  week", "20 mg x 5 days then 10 mg x 5 days then stop".

Every piece of text the parser used is returned in ``consumed`` (offsets into the
window), so the engine can tell which words it did not understand.
"""

from __future__ import annotations

import re

from carepipe.engines.orders.lexicon import TIME_UNITS
from carepipe.engines.orders.models import DoseStep, Quantity, Timing
from carepipe.engines.orders.sig_words import (
    AFTER,
    APART,
    BARE,
    COMBO_STRENGTH,
    CONCENTRATION,
    COUNT,
    COUNT_AFTER,
    COUNTED_FORMS,
    DOSE_COUNT,
    DURATION,
    EVERY,
    FORMS,
    FREQ_RES,
    HOURLY,
    IMPLICIT_ONE,
    LONE_FRACTION,
    MAX,
    NOTATION,
    NUM,
    ONCE_ONLY,
    ORAL_PREFIX,
    PREFIX_FORM,
    PRN_IF,
    PRN_PATTERN,
    Q_BARE,
    ROUTE_RES,
    SCHEDULE,
    SOLID,
    STEP_SPLIT,
    STRENGTH,
    STRENGTH_UNITS,
    TAPER,
    TIMES_PER,
    TITRATE_UP,
    VARIANT_BEFORE,
    WHEN_ONLY,
    WORKED_OUT,
    Sig,
    alt,
    to_number,
)
from carepipe.engines.orders.titration import expand_taper, expand_titration

# --- the pieces ----------------------------------------------------------------------------


def _count_value(raw: str) -> float:
    low = raw.lower().replace(" ", "")
    if low == "half":
        return 0.5
    if low == "quarter":
        return 0.25
    if re.fullmatch(r"\d+/\d+", low):
        a, b = low.split("/")
        return int(a) / int(b)
    return to_number(raw)


def parse_timing(text: str, consumed: list[tuple[int, int]] | None = None) -> Timing | None:
    """Frequency words -> ``Timing`` (with ``count`` 1 for once-only doses)."""
    text = MAX.sub(lambda m: " " * len(m.group(0)), text)  # "max 3 per day" is a limit
    used = consumed if consumed is not None else []
    m = SCHEDULE.search(text)
    if m:
        parts = [m.group(k) for k in "abcd" if m.group(k) is not None]
        values = [to_number(p) for p in parts]
        nonzero = [v for v in values if v > 0]
        if nonzero:
            used.append(m.span())
            names = ("MORN", "AFT", "NIGHT") if len(values) == 3 else ("MORN", "AFT", "EVE", "HS")
            when = [w for w, v in zip(names, values, strict=True) if v > 0]
            return Timing(frequency=len(nonzero), period=1, periodUnit="d", when=when or None)
    m = APART.search(text) or (None if EVERY.search(text) else Q_BARE.search(text))
    if m:
        used.append(m.span())
        return Timing(frequency=1, period=float(m.group("p")), periodUnit="h")
    m = EVERY.search(text)
    if m:
        used.append(m.span())
        unit_word = m.group("unit").lower()
        unit = "h" if unit_word.startswith("h") else TIME_UNITS.get(unit_word, "d")
        if unit_word.startswith("min"):
            unit = "min"
        pmax = float(m.group("pmax")) if m.group("pmax") else None
        return Timing(frequency=1, period=float(m.group("p")), periodMax=pmax, periodUnit=unit)  # type: ignore[arg-type]
    m = HOURLY.search(text)
    if m:
        used.append(m.span())
        pmax = float(m.group("pmax")) if m.group("pmax") else None
        unit = "min" if m.group("min") else "h"
        return Timing(frequency=1, period=float(m.group("p")), periodMax=pmax, periodUnit=unit)
    m = TIMES_PER.search(text)
    if m:
        used.append(m.span())
        word = (m.group("unit") or m.group("ly")).lower().removesuffix("ly")
        unit = {"dai": "d", "day": "d", "week": "wk", "month": "mo"}[word]
        return Timing(frequency=int(m.group("n")), period=1, periodUnit=unit)  # type: ignore[arg-type]
    hits = []
    for rx, f, per, u, when in FREQ_RES:
        for mm in rx.finditer(text):
            hits.append((mm.start(), mm.end(), f, per, u, when))
    once = ONCE_ONLY.search(text)
    if hits and once is not None and all(set(h[5]) & WHEN_ONLY for h in hits):
        # "400 mg HS single dose": one dose (at bedtime), not a dose every night.
        used.extend((h[0], h[1]) for h in hits)
        used.append(once.span())
        return Timing(count=1)
    times = _dosed_times(text, hits)
    if times:
        # "15 mg qAM and 5 mg at 3 PM", "8 U before breakfast, 6 U before lunch, 8 U before
        # dinner": a dose at each of N times of day is N doses a day (eleventh pass)
        used.extend((h[0], h[1]) for h in hits)
        return Timing(frequency=times, period=1, periodUnit="d")
    if hits:
        used.extend((h[0], h[1]) for h in hits)
        counted = [h for h in hits if not (set(h[5]) & WHEN_ONLY)]
        # The earliest phrase; at one position the longest ("twice weekly", not "twice").
        chosen = min(counted or hits, key=lambda h: (h[0], -(h[1] - h[0])))
        when_codes = sorted(
            {w for h in hits for w in h[5] if h[2] == chosen[2] and h[4] == chosen[4]}
        )
        return Timing(
            frequency=chosen[2],
            period=chosen[3],
            periodUnit=chosen[4],  # type: ignore[arg-type]
            when=when_codes or None,
        )
    m = ONCE_ONLY.search(text)
    if m:
        used.append(m.span())
        return Timing(count=1)
    return None


_DOSE_BEFORE = re.compile(
    rf"{NUM}\s*(?:mg|mcg|g|units?|u|iu|ml|tabs?|tablets?|puffs?)\s*(?:s/?c\s+|po\s+|iv\s+)?$",
    re.IGNORECASE,
)


def hits_when(name: tuple[str, ...] | str) -> bool:
    """A time of day: a FHIR ``when`` code, or a clock time ("at 3 PM")."""
    return bool(name) if isinstance(name, tuple) else re.match(r"at\s+\d", name) is not None


def _dosed_times(text: str, hits: list[tuple[int, int, int, float, str, tuple[str, ...]]]) -> int:
    """How many once-a-day times each follow a dose of their own (0 unless two or more)."""
    daily = sorted({(h[0], h[1]) for h in hits if (h[2], h[3], h[4]) == (1, 1, "d")})
    if len(daily) < 2 or len(daily) != len({(h[0], h[1]) for h in hits}):
        return 0
    # each a time of day of its own (a meal, morning, a clock time), never "OD" twice
    names = {(h[0], h[1]): h[5] or text[h[0] : h[1]].lower() for h in hits}
    if not all(names[d] and (hits_when(names[d])) for d in daily):
        return 0
    if len({names[d] for d in daily}) != len(daily):
        return 0
    prev = 0
    for start, end in daily:
        if not _DOSE_BEFORE.search(text, prev, start):
            return 0
        prev = end
    return len(daily)


def parse_duration(text: str, consumed: list[tuple[int, int]] | None = None) -> Quantity | None:
    """ "x 5 days", "x7d", "for 2 weeks", "x 5/7" -> a Quantity."""
    for m in DURATION.finditer(text):
        if m.group("num"):
            value, unit = float(m.group("num")), NOTATION[m.group("den")]
        else:
            raw = m.group("value").lower()
            value = 1.0 if raw in ("a", "an", "one") else float(raw)
            unit_word = m.group("unit").lower()
            unit = TIME_UNITS.get(unit_word) or TIME_UNITS.get(unit_word.rstrip("s"), "d")
            if m.group(0).lower().startswith(("times", "over")) and unit not in ("d", "wk", "mo"):
                continue
        if value <= 0:
            continue
        if consumed is not None:
            consumed.append(m.span())
        return Quantity(value=value, unit=unit)  # type: ignore[arg-type]
    return None


def parse_prn(text: str, consumed: list[tuple[int, int]] | None = None) -> tuple[bool, str | None]:
    """(as_needed, reason) from "SOS", "prn pain", "if temp > 100 F"."""
    m = PRN_PATTERN.search(text)
    if m:
        if consumed is not None:
            consumed.append(m.span())
        reason = (m.group("reason") or "").strip() or None
        return True, reason
    m2 = PRN_IF.search(text)
    if m2:
        if consumed is not None:
            consumed.append(m2.span())
        return True, m2.group("reason").strip()
    return False, None


def parse_route(text: str, before: str = "") -> str | None:
    """Route words ("po", "IV", "subq", "SL", "nebs", "eye drops") -> FHIR-friendly words."""
    best: tuple[int, str] | None = None
    for rx, route in ROUTE_RES:
        m = rx.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), route)
    if best is not None:
        return best[1]
    if ORAL_PREFIX.search(before.lower().rstrip()):
        return "oral"
    return None


def _strengths(text: str, used: list[tuple[int, int]]) -> tuple[tuple[float, str] | None, bool]:
    """(first strength, whether a combination strength "75/10" was written)."""
    masked = text
    for m in CONCENTRATION.finditer(text):
        used.append(m.span())
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    combo = False
    for m in COMBO_STRENGTH.finditer(masked):
        _left, right = re.split(r"\s*/\s*", m.group(0).strip())[:2]
        if re.sub(r"\D", "", right) in ("7", "52", "12"):
            continue  # "5/7", "2/52": days and weeks, not a strength
        combo = True
        used.append(m.span())
        masked = masked[: m.start()] + " " * (m.end() - m.start()) + masked[m.end() :]
    found = list(STRENGTH.finditer(masked))
    low = _range_low(masked, found[0], used) if found else None
    if low is not None:
        return low, combo
    pair = _DESCENDING_PAIR.search(masked, 0, found[0].start()) if found else None
    if pair is not None and to_number(pair.group("hi")) > to_number(found[0].group("v")):
        # "lisinopril-HCTZ 20-12.5 mg", "Augmentin 875-125 mg" (fourteenth pass): a range
        # rises, so a falling pair is a combination strength, written as "875/125" is
        used.append((pair.start(), found[0].end()))
        return None, True
    for i, m in enumerate(found):
        unit = STRENGTH_UNITS[m.group("u").lower()]
        if m.group("perkg"):
            unit = per_body(unit, m.group("perkg"))
            worked = WORKED_OUT.match(masked, m.end(), m.end() + 80)
            if worked is not None:
                # "1 mg/kg OD (22 mg)": the dose worked out for this patient (eleventh pass)
                used.extend([m.span(), worked.span()])
                value = worked.group("v") or worked.group("v2") or worked.group("v3")
                told = worked.group("u") or worked.group("u2") or worked.group("u3")
                return (to_number(value), STRENGTH_UNITS[told.lower()]), combo
        used.append(m.span())
        later = found[i + 1] if i + 1 < len(found) else None
        if unit == "%" and later is not None and STRENGTH_UNITS[later.group("u").lower()] == "mL":
            # "Calcium gluconate 10% 10 mL": the percentage names the solution, the
            # volume is what is given.
            used.append(later.span())
            return (to_number(later.group("v")), "mL"), combo
        return (to_number(m.group("v")), unit), combo
    return None, combo


_DESCENDING_PAIR = re.compile(rf"(?<![\w./-])(?P<hi>{NUM})\s*[-\u2013]\s*$")
_RANGE_BEFORE = re.compile(rf"(?<![\w./-])(?P<lo>{NUM})\s*(?:-|\u2013|to)\s*$", re.IGNORECASE)


def _range_low(
    text: str, first: re.Match[str], used: list[tuple[int, int]]
) -> tuple[float, str] | None:
    """ "2.5-5 mg", "5 to 10 mg": the lower bound is the dose (tenth pass; the labels of
    batches 10 and 12 take it, a range's upper bound being a ceiling, not a dose)."""
    m = _RANGE_BEFORE.search(text, 0, first.start())
    if m is None or to_number(m.group("lo")) >= to_number(first.group("v")):
        return None
    unit = STRENGTH_UNITS[first.group("u").lower()]
    if unit == "%":
        return None
    used.append((m.start(), first.end()))
    return to_number(m.group("lo")), per_body(unit, first.group("perkg"))


def _count(text: str, used: list[tuple[int, int]]) -> tuple[float, str] | None:
    # "Tab Dolo 650 SOS (max 4 tabs/day)": a count inside a limit is no dose (seventeenth pass)
    limits = [mx.span() for mx in MAX.finditer(text)]
    for m in COUNT.finditer(text):
        value = _count_value(m.group("v"))
        limit = next(((s, e) for s, e in limits if s <= m.start() < e), None)
        if limit is not None:
            used.append(limit)  # the limit is the sig's, read as its text
        elif 0 < value <= 10:  # "250 rotacap" is a strength, not 250 capsules
            # "1-2 sprays": the lower bound, as a dose range gives (thirteenth pass)
            low = _RANGE_BEFORE.search(text, 0, m.start())
            if low is not None and 0 < to_number(low.group("lo")) < value:
                used.append((low.start(), m.end()))
                return to_number(low.group("lo")), FORMS[m.group("f").lower()]
            used.append(m.span())
            return value, FORMS[m.group("f").lower()]
    return None


def per_body(unit: str, per: str | None) -> str:
    """ "mg" with "/kg" or "/m2" after it: the dose by weight or by body surface area."""
    if not per:
        return unit
    return f"{unit}/kg" if "kg" in per.lower() else f"{unit}/m2"


_ROTACAP = re.compile(r"\brotacaps?\b", re.IGNORECASE)


def _one_step(text: str, default_unit: str, combination: bool, sig: Sig) -> None:
    """Fill dose, timing, duration, PRN of one step's text into ``sig``."""
    used = sig.consumed
    strength, combo = _strengths(text, used)
    count = _count(text, used)
    if count is None:
        after = COUNT_AFTER.search(text)
        if after is not None:
            used.append(after.span())
            count = (to_number(after.group("v")), FORMS[after.group("f").lower()])
    elif count[1] == "capsule" and _ROTACAP.search(text):
        count = (count[0], "rotacap")  # "Foracort 400 rotacap 1 cap BD" (eighteenth pass)
    timing = parse_timing(text, used)
    schedule = SCHEDULE.search(text)
    schedule_count: float | None = None
    if schedule is not None:
        values = [to_number(g) for g in schedule.groups() if g is not None]
        nonzero = {v for v in values if v > 0}
        if len(nonzero) == 1:
            schedule_count = nonzero.pop()
        elif nonzero:
            schedule_count = next(v for v in values if v > 0)
            sig.notes.append("unequal doses in the schedule: the first is given")
    if strength is None and not combo:
        bare = BARE.match(text)
        # "Coartem 4 tabs": a number already read as the tablet count is not a strength.
        if bare is not None and not any(s < bare.end("v") and bare.start("v") < e for s, e in used):
            value = to_number(bare.group("v")) * (1000 if bare.group("k") else 1)
            rest = text[bare.end() :]
            # "Glycomet GP 1 1-0-1": a tablet count; "Rocaltrol 0.25 OD": a strength.
            decimal_below_one = bare.group("v").startswith(("0", "."))
            if value <= 2 and combination and VARIANT_BEFORE.match(rest):
                pass  # "Glycomet GP 2 1-0-1": the product's variant, the count comes after
            elif (
                value <= 2
                and not decimal_below_one
                and (combination or re.match(r"\s*(?:[a-z]|\d-)", rest, re.I))
            ):
                if count is None:
                    count = (value, sig.form or "tablet")
            elif value > 0:
                strength = (value, default_unit)
                sig.notes.append("unit assumed")
            used.append(bare.span("v"))
    if count is None and strength is not None and schedule is None:
        # "Prolomet XL 50 mg ½ OD": a bare fraction after the strength is a tablet count.
        lone = LONE_FRACTION.search(text)
        if lone is not None and not any(s < lone.end() and lone.start() < e for s, e in used):
            count = (to_number(lone.group("v")), sig.form or "tablet")
            used.append(lone.span())
    if count is None and strength is None:
        implicit = IMPLICIT_ONE.match(text)
        if implicit is not None:
            count = (1.0, FORMS[implicit.group("f").lower()])
            used.append(implicit.span())
    sig.combination_strength = sig.combination_strength or combo
    if strength is not None:
        sig.strength, sig.strength_unit = strength
    if count is not None:
        sig.form_count, sig.form = count
        sig.count_written = True
    elif schedule_count is not None:
        sig.form_count = schedule_count
    sig.timing = timing
    sig.duration = parse_duration(text, used)
    dose_count = DOSE_COUNT.search(text)
    if dose_count is not None:
        used.append(dose_count.span())
        if sig.timing is not None and sig.timing.count is None:
            sig.timing.count = int(dose_count.group("n"))
    prn, reason = parse_prn(text, used)
    sig.as_needed = sig.as_needed or prn
    sig.as_needed_for = sig.as_needed_for or reason
    _divide_daily_dose(text, sig)
    _compose_dose(sig)


_PER_DAY_DIVIDED = re.compile(
    r"/\s*kg\s*/\s*(?:day|d)\b.*?\b(?:divided|in\s+(?:\d|two|three|four)\s+divided)\b",
    re.IGNORECASE,
)


def _divide_daily_dose(text: str, sig: Sig) -> None:
    """ "90 mg/kg/day divided BID": each dose is the day's amount over the doses a day
    (45 mg/kg; tenth pass). The weight is still not multiplied in."""
    t = sig.timing
    if (
        sig.strength is None
        or not (sig.strength_unit or "").endswith("/kg")
        or t is None
        or not t.frequency
        or t.period != 1
        or t.periodUnit != "d"
        or _PER_DAY_DIVIDED.search(text) is None
    ):
        return
    sig.strength = round(sig.strength / t.frequency, 6)


def _compose_dose(sig: Sig) -> None:
    """dose = strength x count for solid forms; a count of puffs/drops is the dose."""
    if sig.form in COUNTED_FORMS and sig.form_count is not None:
        sig.dose, sig.dose_unit = sig.form_count, sig.form
    elif sig.form == "rotacap" and sig.form_count is not None:
        sig.dose, sig.dose_unit = sig.form_count, "capsule"
    elif sig.strength is not None and sig.strength_unit == "%":
        # "1% cream": a concentration, not an amount given; the amount is not stated.
        sig.dose, sig.dose_unit = None, None
    elif sig.strength is not None:
        count = sig.form_count if (sig.form in SOLID or sig.form is None) else None
        if count is not None and count > 0 and sig.strength_unit != "mL":
            sig.dose = round(sig.strength * count, 6)
        else:
            sig.dose = sig.strength
        sig.dose_unit = sig.strength_unit
    elif sig.combination_strength and sig.count_written and sig.form in SOLID and sig.form_count:
        # "Co-codamol 30/500 two tablets": a slash strength has no single amount, but the
        # tablets written are the dose (12 of the 17 dev labels of such words; 2.16.0); a
        # count read off "Tab Telma-AM 40/5 1-0-0" is not written so (14 of 14 give none)
        sig.dose, sig.dose_unit = sig.form_count, sig.form
    elif sig.combination_strength:
        sig.dose, sig.dose_unit = None, None
    elif sig.form_count is not None:
        sig.dose, sig.dose_unit = sig.form_count, sig.form or "tablet"


def _before_count(before: str, sig: Sig) -> None:
    """ "half a tablet of (the) amlodipine", "2 puffs of salbutamol"."""
    m = re.search(
        rf"(?P<v>{NUM}|half|\d+\s*/\s*[24])\s*(?:a\s+|an\s+)?(?P<f>{alt(FORMS)})\s+"
        r"(?:of\s+)?(?:the\s+|your\s+)?(?:tab(?:let)?s?\.?\s+|cap(?:sule)?s?\.?\s+)?$",
        before,
        re.IGNORECASE,
    )
    if m is None:
        return
    sig.form_count = _count_value(m.group("v"))
    sig.form = FORMS[m.group("f").lower()]
    sig.count_written = True
    sig.before_start = m.start()


def _step_of(sig: Sig, text: str) -> DoseStep:
    return DoseStep(
        dose=sig.dose,
        dose_unit=sig.dose_unit,
        timing=sig.timing,
        duration=sig.duration,
        text=text.strip(" ,;"),
    )


# Titration up is looked for first: "increase by ... to 5 mg" is not a taper.
_STEP_RULES = ((TITRATE_UP, expand_titration), (TAPER, expand_taper))


def continue_steps(
    previous: DoseStep,
    text: str,
    default_unit: str = "mg",
    offset: int = 0,
    consumed: list[tuple[int, int]] | None = None,
) -> list[DoseStep]:
    """Steps that ``text`` adds after ``previous`` ("then 75 mg OD", "taper by 5 mg weekly").

    ``previous`` may be completed in place (a duration read from "after 2 weeks").
    """
    out: list[DoseStep] = []
    last = previous
    for seg_start, seg_end in _segments(text):
        seg = text[seg_start:seg_end]
        # A rule written once ("increase by 1.25 mg every 2 weeks to 5 mg", "taper by 5 mg
        # weekly") is laid out as steps; one not written out in full gives none.
        rule = next(
            ((m, expand) for rx, expand in _STEP_RULES if (m := rx.search(seg)) is not None),
            None,
        )
        if rule is not None:
            m, expand = rule
            if consumed is not None:
                consumed.append((offset + seg_start + m.start(), offset + seg_start + m.end()))
            expanded = expand(last, m)
            out.extend(expanded)
            last = expanded[-1] if expanded else last
            continue
        sub = Sig()
        _one_step(seg, default_unit, False, sub)
        if sub.dose is None and sub.timing is None:
            continue
        after = AFTER.search(seg)
        if after is not None and last.duration is None:
            raw = after.group("value").lower()
            value = 1.0 if raw in ("a", "an", "one") else float(raw)
            unit = TIME_UNITS.get(after.group("unit").lower()) or "d"
            last.duration = Quantity(value=value, unit=unit)  # type: ignore[arg-type]
            sub.consumed.append(after.span())
        if consumed is not None:
            consumed.extend(
                (offset + seg_start + s, offset + seg_start + e) for s, e in sub.consumed
            )
        step = _step_of(sub, seg)
        if step.timing is None and last.timing is not None:
            step.timing = last.timing.model_copy()
            if step.timing.count == 1:
                step.timing = None
        if step.dose is None:
            step.dose, step.dose_unit = last.dose, last.dose_unit
        elif step.dose_unit is None:
            step.dose_unit = last.dose_unit
        out.append(step)
        last = step
    return out


def _segments(text: str) -> list[tuple[int, int]]:
    out = []
    cursor = 0
    for m in STEP_SPLIT.finditer(text):
        out.append((cursor, m.start()))
        cursor = m.end()
    out.append((cursor, len(text)))
    return [(s, e) for s, e in out if text[s:e].strip()]


def parse_sig(
    window: str,
    before: str = "",
    default_unit: str = "mg",
    combination: bool = False,
) -> Sig:
    """Read the signature in ``window`` (the words after a drug name).

    ``before`` is the clause text before the name (for "half a tablet of X", "Tab", "Inj").
    """
    sig = Sig()
    prefix = PREFIX_FORM.search(before.rstrip())
    if prefix is not None:
        sig.form = FORMS.get(prefix.group("f").lower(), "tablet")
    _before_count(before, sig)
    segments = _segments(window)
    first_end = segments[0][1] if segments else len(window)
    first_text = window[:first_end]
    _one_step(first_text, default_unit, combination, sig)
    sig.route = parse_route(window, before)
    if sig.route is None and sig.form in COUNTED_FORMS and sig.form in ("puff", "respule"):
        sig.route = "inhaled"
    rest_start = first_end
    if rest_start < len(window):
        first = _step_of(sig, first_text)
        more = continue_steps(first, window[rest_start:], default_unit, rest_start, sig.consumed)
        if more:
            sig.steps = [first, *more]
            sig.duration = first.duration
    return sig
