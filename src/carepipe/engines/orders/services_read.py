"""Tests, studies, referrals and follow-ups in one clause (the rules engine's readers).

Split out of ``rules.py`` on 2026-11-29 (eleventh pass), unchanged but for a duration
after "over" ("over 3 hours": no target), to keep each module under 600 lines.
"""

from __future__ import annotations

import re

from carepipe.engines.nlp.numbers import NormalizedText
from carepipe.engines.orders import grammar, lexicon, not_orders, results, substances
from carepipe.engines.orders.clauses import Clause
from carepipe.engines.orders.models import FollowUp, OrderSet, ServiceOrder, Span
from carepipe.engines.orders.read_state import ReadState

# A test name followed by a comparison is a target or a result ("to FBS < 130"); "over 3
# hours" is how long something takes, not a target (eleventh pass).
_TARGET_AFTER = re.compile(
    r"\s*(?:<|>|<=|>=|≤|≥|=|below|above|under"
    r"|over(?!\s*\d+(?:\.\d+)?\s*(?:h|hrs?|hours?|mins?|minutes?|days?)\b))\s*\d",
    re.IGNORECASE,
)

# "TSH with reflex to free T4", "TSH w/ reflex FT4": the lab adds the second test only if
# the first is abnormal; the order is the first test's (nineteenth pass)
_REFLEX_BEFORE = re.compile(r"\breflex(?:ed)?\s+(?:to\s+)?$", re.IGNORECASE)

# eleventh pass: a procedure after "post" / "s/p" is a time ("Post PTCA - continue ...",
# "post-transfusion H/H"), and a nutrient before "diet" is advice ("low potassium diet").
_POST_BEFORE = re.compile(r"\b(?:post|s/p|status\s+post)[-\s]*$", re.IGNORECASE)
# Thirteenth pass: the topic of counselling ("Counselled regarding ... home glucose
# monitoring"), what the patient measures at home, and a test already read ("HR 48 on
# today's ECG") are no orders.
_TOPIC_BEFORE = re.compile(
    r"\b(?:counsell?ed|educated)\s+(?:regarding|about|on|re)\b"
    r"|\b(?:today|yesterday|this\s+morning|last\s+night)['\u2019]s\s+$",
    re.IGNORECASE,
)
# "GP to restart when creatinine back to baseline" (sixteenth pass): a test whose value
# sets when something is done is a condition, not an order ("until" and "if" are
# grammar.CONDITION_BEFORE's)
# "Discussed CT chest for lung cancer screening": the topic of a talk, as a drug discussed
# is (not_orders._CONTEXT), unless the clause goes on to order it (eighteenth pass)
_DISCUSSED_BEFORE = re.compile(
    r"\bdiscuss(?:ed|ion\s+(?:of|about|re))\s+(?:(?:the|a|an|his|her|their|option\s+of)\s+)*$",
    re.IGNORECASE,
)
_THEN_ORDERED = re.compile(
    r"\b(?:order(?:ed)?|book(?:ed)?|arranged?|request(?:ed)?|scheduled?|refer(?:red)?|agree[ds]?"
    r"|plan(?:ned)?|will\s+(?:do|get|send|arrange|book|order))\b",
    re.IGNORECASE,
)
_WHEN_BEFORE = re.compile(
    r"\b(?:when|once|as\s+soon\s+as)\s+(?:the\s+|his\s+|her\s+|their\s+|serum\s+)?$", re.I
)
_STATE_AFTER = re.compile(
    r"\s*(?:is\s+|are\s+|has\s+|have\s+|gets?\s+)?(?:back\b|returns?\b|normali[sz]e[sd]?\b"
    r"|settle[sd]?\b|improve[sd]?\b|stabili[sz]e[sd]?\b|stable\b|normal\b|falls?\b|rises?\b"
    r"|drops?\b|below\b|above\b|under\b|less\s+than\b|more\s+than\b|<|>)",
    re.I,
)
_HOME_BEFORE = re.compile(r"\bhome\s+$", re.IGNORECASE)  # a lab test only: "home sleep study"
# "Spirometry at annual review", "CMP a week before the next annual visit" (thirteenth
# pass): the visit times the test; it is not booked here
_AT_BEFORE = re.compile(
    r"\b(?:at|before|prior\s+to|ahead\s+of)\s+(?:(?:the|his|her|their|next)\s+)*$", re.I
)
_PURPOSE_BEFORE = re.compile(
    r"\b(?:review|follow[-\s]?up|f/u|rtc|return|come(?:\s+back)?|see\s+(?:me|you|him|her|them))\b"
    r"[^.;]*?\bfor\s+(?:(?:a|an|the|his|her|their)\s+)?$",
    re.IGNORECASE,
)
# "increasing by 100 mg every 4 weeks guided by serum urate" (fourteenth pass): the test
# a titration follows is named, not ordered
_GUIDE_BEFORE = re.compile(
    r"\b(?:guided\s+by|according\s+to|depending\s+on|based\s+on|titrated?\s+(?:to|against))"
    r"\s+(?:(?:the|his|her|their|a|repeat)\s+)?$",
    re.IGNORECASE,
)
# "Seen by physio last week", "under the care of rheumatology": who saw the patient, no
# referral (fourteenth pass)
_SEEN_BY_BEFORE = re.compile(
    r"\b(?:(?:seen|reviewed|assessed|followed(?:\s+up)?|managed|known)\s+by|under\s+(?:the\s+)?"
    r"(?:care\s+of|follow[-\s]?up\s+(?:of|with))"
    # "Has an appointment with ENT next week": one already made
    r"|(?:has|have|had|got)\s+(?:an?\s+|the\s+)?(?:upcoming\s+|existing\s+)?(?:appointment|appt)"
    r"\s+with)\s+(?:(?:the|a|an|his|her|their)\s+)?$",
    re.IGNORECASE,
)
# "Pain improved with physiotherapy", "Physiotherapy has helped": a service that was had,
# told for its effect; "Was referred to cardiology last year": a referral made before
# (fourteenth pass)
_HAD_BEFORE = re.compile(
    r"\b(?:improved|better|helped|settled|benefit+ed|responded(?:\s+well)?)\s+"
    r"(?:with|from|to|by)\s+(?:(?:the|his|her|their|some)\s+)?$",
    re.IGNORECASE,
)
_HAD_AFTER = re.compile(
    r"\s+(?:(?:has|have|had)\s+(?:really\s+)?(?:helped|worked|been\s+helpful)|helped"
    r"|did\s+not\s+help|didn'?t\s+help|was\s+(?:helpful|unhelpful))\b",
    re.IGNORECASE,
)
_WAS_REFERRED = re.compile(
    r"\b(?:(?:was|were|had\s+been)\s+(?:previously\s+|already\s+)?referred|previously\s+referred"
    # "Referral to ENT was sent last month" (fifteenth pass): a referral made before, told
    # with its time ("Physiotherapy referral made" is this visit's)
    r"|referral\b.*\b(?:was|were|had\s+been)\s+(?:sent|made|done|faxed|placed)\b.*\b(?:ago"
    r"|last\s+(?:week|month|year|visit)|previously|in\s+(?:19|20)\d\d))\b",
    re.IGNORECASE,
)
_AGO_AFTER = re.compile(r"\s*ago\b", re.IGNORECASE)
# "see this 58 y/o gentleman", "a 64 yr old": the patient's age, never an interval
# (eighteenth pass)
_AGE_AFTER = re.compile(r"\s*/\s*o\b|[-\s]*old\b", re.IGNORECASE)
# "RUQ ultrasound for elevated ALT", "referral for a raised PSA": the finding an order is
# for names its test, which is not ordered (eighteenth pass)
_FINDING_BEFORE = re.compile(
    r"\bfor\s+(?:an?\s+|the\s+|(?:his|her|their)\s+)?(?:elevated|raised|high|low|abnormal"
    r"|deranged|rising|falling|increased|decreased|positive|borderline|persistently\s+\w+)\s+$"
    # "34 wks, reactive NST, AFI 12" (twentieth pass): the verdict written before the test
    # that opens the clause is its result
    r"|^\s*(?:reactive|non-?reactive|normal|unremarkable|reassuring)\s+$",
    re.IGNORECASE,
)
# "RTC 2 wks w/ glucose log", "BP diary": the patient's own readings brought in, no test
# (eighteenth pass)
_RECORD_AFTER = re.compile(r"\s+(?:logs?|diar(?:y|ies)|charts?|records?|readings)\b", re.I)
_DIET_AFTER = re.compile(
    r"[-\s]+(?:(?:rich|restricted|restriction|free|controlled)\s+)?diet\b", re.IGNORECASE
)
# "H. pylori eradication x 14 days:", "HIV treatment": the infection a treatment is for,
# not its test (fifteenth pass)
_TREATED_AFTER = re.compile(
    r"\s+(?:eradication|treatment|triple\s+therapy|quadruple\s+therapy|therapy|regimen)\b", re.I
)


def read_services(
    clause: Clause,
    norm: NormalizedText,
    out: OrderSet,
    med_spans: list[tuple[int, int]],
    state: ReadState,
) -> list[tuple[int, int]]:
    text = clause.text
    reason = lexicon.REASON.search(text)
    limit = reason.start() if reason else len(text)
    heading = grammar.HEADING.match(text)
    first = heading.end("label") if heading else 0  # "Blood sugar monitoring: FBS..."
    if heading and not_orders.referral_context(heading.group("label")):
        first = 0  # "Referral to haematology: Hb 7.2": the referral, then its reason (13th pass)
    referral_ctx = not_orders.referral_context(text) or lexicon.specialty_for(text)
    order_ctx = (
        referral_ctx
        or lexicon.ORDER_VERBS.search(text) is not None
        or lexicon.lone_test(text)  # "UA", "Hb after 1 month" as a clause of their own
        or lexicon.follow_up_with_test(text)  # "Follow-up after 1 year with ECHO"
        or clause.sentence in state.test_sentences  # "S. creatinine, Hb, TLC"
    )
    hits: list[tuple[int, int, lexicon.ServiceEntry, bool]] = []
    for cs in lexicon.compiled_services():
        if cs.entry.category == "referral" and not referral_ctx:
            if cs.standalone is not None:
                for m in cs.standalone.finditer(text, first, limit):
                    hits.append((m.start(), m.end(), cs.entry, False))
            continue
        for m in cs.pattern.finditer(text, first, limit):
            hits.append((m.start(), m.end(), cs.entry, False))
        if cs.ambiguous is not None and order_ctx:
            for m in cs.ambiguous.finditer(text, first, limit):
                hits.append((m.start(), m.end(), cs.entry, True))
    hits.extend(_shared_head_hits(text, first, limit))
    last = state.last_med
    level = lexicon.level_of(last[1].name, text) if last and last[0] == state.clause_no else None
    if level is None and len(out.medications) == 1:
        level = lexicon.level_of(out.medications[0].name, text, within=True)
    if level is not None:
        hits.append((*level, False))  # "Vanc 1 g IV q12h, trough before 4th dose"
    # Longest match first; a span already taken (or inside a medication name) is
    # skipped.
    hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
    taken: list[tuple[int, int]] = list(med_spans)
    result_clause = results.is_result(text) or (
        clause.sentence in state.result_sentences and not lexicon.ORDER_VERBS.search(text)
    )
    chosen: list[tuple[int, int, lexicon.ServiceEntry, bool]] = []
    for h in hits:
        if any(h[0] < e and s < h[1] for s, e in taken):
            continue
        if grammar.CONDITION_BEFORE.search(text, 0, h[0]) and not grammar.RECHECKED.match(
            text, h[1]
        ):
            taken.append((h[0], h[1]))  # "hold until creatinine improves": a condition
            continue
        if _WHEN_BEFORE.search(text, 0, h[0]) and _STATE_AFTER.match(text, h[1]):
            taken.append((h[0], h[1]))  # "restart when creatinine back to baseline"
            continue
        if result_clause or results.is_finding(text, h[1]):
            taken.append((h[0], h[1]))  # "DEXA last month showed osteopenia": a result
            continue
        if h[2].category in ("procedure", "imaging") and _POST_BEFORE.search(text, 0, h[0]):
            taken.append((h[0], h[1]))  # "Post PTCA - continue ...": when, not what to do
            continue
        if (
            _TOPIC_BEFORE.search(text, 0, h[0])
            or _GUIDE_BEFORE.search(text, 0, h[0])
            or _FINDING_BEFORE.search(text, 0, h[0])
            or (_DISCUSSED_BEFORE.search(text, 0, h[0]) and not _THEN_ORDERED.search(text, h[1]))
            or (h[2].category == "laboratory" and _HOME_BEFORE.search(text, 0, h[0]))
        ):
            taken.append((h[0], h[1]))
            continue
        if _HAD_BEFORE.search(text, 0, h[0]) or _HAD_AFTER.match(text, h[1]):
            taken.append((h[0], h[1]))  # "Pain improved with physiotherapy"
            continue
        if h[2].category == "referral" and _WAS_REFERRED.search(text):
            taken.append((h[0], h[1]))  # "Was referred to cardiology last year"
            continue
        if h[2].category == "referral" and _SEEN_BY_BEFORE.search(text, 0, h[0]):
            taken.append((h[0], h[1]))  # "Seen by physio last week": no referral
            continue
        if h[2].category == "procedure" and _PURPOSE_BEFORE.search(text, 0, h[0]):
            taken.append((h[0], h[1]))  # "Review after 7 days for suture removal": the visit's
            continue  # purpose (twelfth pass; as "f/u in 3 days for wound check")
        if (
            _DIET_AFTER.match(text, h[1])
            or _RECORD_AFTER.match(text, h[1])
            or (h[2].category == "laboratory" and _TREATED_AFTER.match(text, h[1]))
        ):
            taken.append((h[0], h[1]))  # "Low potassium diet sheet given": advice
            continue
        if substances.is_test_load(text, h[0]):
            taken.append((h[0], h[1]))  # "OGTT with 75 g glucose": the test's load
            continue
        if substances.written_as_given(text, h[0], h[1]):
            continue  # "magnesium 400 mg PO": a medicine, not a test (if unknown, listed)
        reflex = _REFLEX_BEFORE.search(text, 0, h[0])
        if reflex is not None:
            taken.append(
                (reflex.start(), h[1])
            )  # "TSH w/ reflex FT4": run only on the first's result
            continue
        if _TARGET_AFTER.match(text, h[1]):
            taken.append((h[0], h[1]))  # "titrate to FBS < 130": a target, not a test
            continue
        if any(c[2] is h[2] for c in chosen):
            taken.append((h[0], h[1]))  # the same test named twice: one order
            continue
        taken.append((h[0], h[1]))
        chosen.append(h)
    for start, end, entry, ambiguous in lexicon.without_bracketed_names(text, chosen):
        if entry.display in state.ordered:
            state.repeats += 1
            continue  # "TLC, DLC, platelet count": one CBC
        state.ordered.add(entry.display)
        s, e = norm.to_original(clause.start + start, clause.start + end)
        out.services.append(
            ServiceOrder(
                display=entry.display,
                code=entry.code,
                system=entry.system,
                category=entry.category,
                text=norm.original[s:e],
                span=Span(start=s, end=e),
                confidence=0.75 if ambiguous else 0.9,
            )
        )
    return taken[len(med_spans) :]


# A condition between the visit and its time: the time is the condition's ("RTC if not
# improved in 2 wks"); "Come back in 3 days if no better" books the visit.
_IF_WITHIN = re.compile(r"\b(?:if|unless|should)\b", re.IGNORECASE)


def one_visit_per_interval(follow_ups: list[FollowUp]) -> list[FollowUp]:
    """The first follow-up of each interval: "Annual review. ... Next review 1 year." books
    one visit, as a test named twice is one order (sixteenth pass)."""
    seen: set[tuple[float, str]] = set()
    kept = []
    for f in follow_ups:
        if (f.value, f.unit) not in seen:
            seen.add((f.value, f.unit))
            kept.append(f)
    return kept


def read_follow_ups(clause: Clause, norm: NormalizedText, out: OrderSet) -> list[tuple[int, int]]:
    covered = []
    for m in _follow_up_matches(clause.text):
        if _AGO_AFTER.match(clause.text, m.end()) or _AGE_AFTER.match(clause.text, m.end()):
            continue  # "Reviewed in clinic 3 months ago": a visit past (fourteenth pass)
        if _IF_WITHIN.search(m.group(0)):
            continue  # "RTC if not improved in 2 wks": a safety net (fifteenth pass)
        groups = m.groupdict()
        if groups.get("tomorrow") or groups.get("annual"):
            value, unit = (1.0, "d") if groups.get("tomorrow") else (1.0, "a")
        elif groups.get("num"):
            value = float(m.group("num"))
            unit = lexicon.FRACTION_UNITS[m.group("den")]
        else:
            raw = m.group("value").lower()
            value = 1.0 if raw in ("a", "an", "one") else float(raw)
            unit_word = m.group("unit").lower()
            unit = lexicon.TIME_UNITS[unit_word]
            if unit_word.startswith("fortnight"):
                value *= 2
        if value <= 0:
            continue
        s, e = norm.to_original(clause.start + m.start(), clause.start + m.end())
        out.follow_ups.append(
            FollowUp(
                value=value,
                unit=unit,  # type: ignore[arg-type]
                text=norm.original[s:e],
                span=Span(start=s, end=e),
                confidence=0.9,
            )
        )
        covered.append(m.span())
    return covered


def _follow_up_matches(text: str) -> list[re.Match[str]]:
    """Each follow-up's match, and a second booking joined to one by "and" (eleventh
    pass: "... with cardiology in 1 week and PCP in 2 weeks"); "Annual review", "Recheck
    ears in 48 hours" (twelfth pass)."""
    found = list(lexicon.FOLLOW_UP_TOMORROW.finditer(text))
    found += (  # not "Spirometry at annual review": when a test is done (batch 13's s132)
        m
        for m in lexicon.FOLLOW_UP_ANNUAL.finditer(text)
        if not _AT_BEFORE.search(text, 0, m.start())
    )
    if not lexicon.FOLLOW_UP.search(text):  # one booking ("recheck the wound in clinic in 2/52")
        found += lexicon.FOLLOW_UP_RECHECK.finditer(text)
        found += lexicon.FOLLOW_UP_RECHECK_WITH.finditer(text)
    for m in lexicon.FOLLOW_UP.finditer(text):
        found.append(m)
        more = lexicon.FOLLOW_UP_AND.match(text, m.end())
        if more is not None:
            found.append(more)
    return found


# eleventh pass: one specimen or one head noun written once for two tests ("Stool routine
# and culture", "Dengue NS1 and IgM", "Legionella and pneumococcal urinary antigens",
# "Serum and urine osmolality"). The test it lends its word to is read only when the whole
# name, so rebuilt, is a table entry.
_SPECIMEN_FIRST = re.compile(
    r"\b(?P<spec>stool|urine|serum|blood|csf|sputum|dengue|pleural\s+fluid|ascitic\s+fluid)\s+"
    r"[a-z0-9][\w/-]*(?:\s+[a-z0-9][\w/-]*)?\s*(?:,\s*|\s+and\s+|\s*&\s*)"
    r"(?P<second>[a-z][\w/-]*(?:\s+[a-z][\w/-]*)?)",
    re.IGNORECASE,
)
_HEAD_LAST = re.compile(
    r"\b(?P<first>[a-z][\w-]*)\s+(?:and|&)\s+[a-z][\w-]*\s+"
    r"(?P<head>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)",
    re.IGNORECASE,
)


def _entry_named(name: str) -> lexicon.ServiceEntry | None:
    for cs in lexicon.compiled_services():
        if cs.entry.category != "referral" and cs.pattern.fullmatch(name):
            return cs.entry
    return None


def _shared_head_hits(
    text: str, first: int, limit: int
) -> list[tuple[int, int, lexicon.ServiceEntry, bool]]:
    """Tests named by a specimen or head noun written once for two of them."""
    hits = []
    for m in _SPECIMEN_FIRST.finditer(text, first, limit):
        words = m.group("second").split()
        for n in (len(words), 1):
            entry = _entry_named(f"{m.group('spec')} {' '.join(words[:n])}")
            if entry is not None:
                start = m.start("second")
                hits.append((start, start + len(" ".join(words[:n])), entry, False))
                break
    for m in _HEAD_LAST.finditer(text, first, limit):
        head = m.group("head")
        for name in (f"{m.group('first')} {head}", f"{m.group('first')} {head.rstrip('s')}"):
            entry = _entry_named(name)
            if entry is not None:
                hits.append((m.start("first"), m.end("first"), entry, False))
                break
    return hits
