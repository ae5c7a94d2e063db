"""The patient's past and what they already take: drug mentions that are not orders.

Written on 2026-11-28 (issue 12, seventh pass) from batch 9's false positives, in general
form. Two kinds of clause tell of drugs instead of ordering them:

- a clause with a strong narrative marker ("She was on metformin earlier", "he finished
  the course of amoxicillin", "used to take"): the drug is history even when a past-tense
  verb stands beside it ("... but stopped it herself");
- a clause with only a time in the past ("... six months ago", "last week", "earlier")
  and no verb at all.

Either way the clause orders nothing only when none of its drugs has a dose or a
schedule: "Had amoxicillin 500 mg TDS last week" may be a list of what to give again, so
it is left to the rest of the reader. A verb in the present ("Stopped metformin 2 weeks
ago, start insulin") keeps the order.

Eighth pass (2026-11-28, batch 10's false positives): some clauses tell what was done even
with a dose written, because their verb says so, not a bare time:

- a report that a drug was given or taken ("Received ceftriaxone 2 g in the ED", "Took an
  extra dose of metoprolol", "TT already given", "already has a repeat prescription",
  "reports taking ibuprofen", "Counselled regarding insulin"), or a passive past ("was
  started by her physician", "was increased to 5 mg at their review");
- a start or change verb in the past tense with a time in the past ("we started lisinopril 10 mg at
  the last visit", "Dermatology started isotretinoin last week", "Started on sertraline
  ... in March"): no verb in the present beside it.

Ninth pass (2026-11-28, batch 11's false positives), in the same form: a dose "given in
ED" (at triage, by the paramedics, overnight) was given, not ordered; "was on Tab
Glimestar 2 mg earlier" is history with its dose too (as "was on" is without one); and a
switch told in the past with its year or its agent ("switched to Eliquis by cardiology in
2022") is history. A present verb beside any of them still keeps the order.

Tenth pass (2026-11-28, batch 12's false positives and a known gap), in the same form: a
dose given somewhere or at some time told after "given" ("Was given ceftriaxone 1 g in
casualty", "Seen in A&E yesterday, given 1 g paracetamol"); what the patient takes now
("already taking paracetamol 1 g QDS", "She takes omeprazole 20 mg OD already", "they have
started hydroxychloroquine 200 mg BD"); a clause with no verb that tells a drug the patient
is on, or one taken since a time ("HTN on Tab Telma 40 OD", "On Tab Ecosprin 75 since
2021"). "d/c home on Fostair", "go home on cefdinir" are the discharge's orders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from carepipe.engines.orders import grammar, lexicon
from carepipe.engines.orders.models import Timing

_STRONG = re.compile(
    r"\b(?:(?:was|were|had\s+been)\s+(?:on|taking)|used\s+to\s+(?:take|be\s+on)"
    r"|(?:finished|completed)\s+(?:the\s+|a\s+|his\s+|her\s+|their\s+)?course)\b",
    re.IGNORECASE,
)
_WEAK = re.compile(
    r"\b(?:ago|last\s+(?:week|month|year|night)|earlier|previously|in\s+the\s+past)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z][a-z/-]*", re.IGNORECASE)
_PLACES = (
    r"(?:ed|a\s?&\s?e|er|casualty|emergency(?:\s+department)?|triage|resus|ambulance"
    r"|paramedics?|crew)"
)
_TOLD = re.compile(
    r"\b(?:received|took|(?:already|previously)\s+(?:given|received|has|had|prescribed)"
    r"|reports?\s+(?:taking|using)|counsell?ed\s+(?:regarding|about|on|re)"
    # "was started by her physician"; not "has been stopped and replaced with" (done now),
    # nor "was given IV ceftriaxone, which we will switch" (a stop to come, batch 8 m161)
    r"|(?:was|were|had\s+been)\s+(?:started|commenced|increased|decreased|reduced|changed"
    r"|prescribed|tried|trialled"
    # "Inj heparin was stopped on day 3" (seventeenth pass; as c090 and s027 label it)
    r"|stopped|discontinued|withdrawn)"
    # "She stopped amlodipine herself": the patient's own act ("Metformin stopped 2 days
    # ago", with no one named, stays a stop as in the seventh pass)
    r"|(?:she|he|they|patient|pt)\s+(?:has\s+|had\s+)?stopped|herself|himself|themselves"
    # "Has stopped taking her ramipril", "Stopped taking atorvastatin" (fifteenth pass)
    r"|stopped\s+taking|ran\s+out\s+of"
    # "Her GP started amlodipine 5 mg" (fifteenth pass): another's start, told
    r"|\b(?:gp|consultant|physician|doctor|\w+ologists?|\w+ology|team)\s+(?:started|commenced"
    r"|prescribed|stopped|increased|reduced|switched)"
    # "2 g IV given in ED", "given by the paramedics"; not "to be given in the ward"
    r"|(?<!be\s)given\s+(?:(?:in|at|by)\s+(?:the\s+)?(?:ed|a\s?&\s?e|er|casualty|emergency"
    r"|triage|resus|ambulance|paramedics?|crew)|earlier|overnight|last\s+night|yesterday"
    # "Loading dose of clopidogrel 300 mg given today" (thirteenth pass)
    r"|today|this\s+(?:morning|afternoon|evening))"
    # "admitted with CAP, treated with IV co-amoxiclav" (thirteenth pass)
    r"|(?<!be\s)(?<!been\s)treated\s+with"
    # "switched to Eliquis by cardiology", "stopped by previous physician"
    r"|(?:started|stopped|discontinued|withdrawn|switched|changed|prescribed)\s+(?:\w+\s+){0,3}"
    r"by\s+(?:the\s+|his\s+"
    r"|her\s+|their\s+|a\s+|previous\s+|another\s+|outside\s+)*"
    # "stopped by the renal team", "started by the diabetes nurse" (fourteenth pass): one
    # word may name whose team
    r"(?:(?:renal|diabetes|cardiac|heart\s+failure|stroke|medical|surgical|ward|hospital"
    r"|specialist|community|palliative|liver|chest|memory|pain)\s+)?(?:\w+olog(?:y|ist)|gp"
    r"|physician|doctor|consultant|surgeons?|team|specialist|hospital|dr\b"
    # "Started on aspirin by A&E which he has since stopped" (eleventh pass)
    r"|a\s?&\s?e\b|ed\b|er\b|casualty|emergency|paramedics?"
    r"|nurses?|pharmacists?|midwife|practitioners?|registrar|colleagues?)"  # fourteenth pass
    # eleventh pass: what was tried, what the patient keeps to, what they are on despite
    # a result ("She has tried paracetamol ... with little benefit", "good adherence to
    # metformin", "A1c 9.2 despite metformin 1000 mg BID")
    r"|(?:has|have|had)\s+(?:already\s+)?(?:tried|failed|trialled)"
    r"|(?:adheren(?:ce|t)|complian(?:ce|t))\s+(?:to|with)|despite"
    # "Was given ceftriaxone 1 g in casualty", "Seen in A&E yesterday, given 1 g paracetamol"
    r"|(?:was|were)\s+given\b.*\b(?:in|at|by)\s+(?:the\s+)?" + _PLACES + r"\b"
    r"|\b(?:in|at)\s+(?:the\s+)?" + _PLACES + r"\b.*\bgiven\b"
    r"|(?:was|were)\s+given\b.*\b(?:yesterday|overnight|last\s+night|earlier\s+today)"
    # a clause that opens with "given": "(Seen in A&E yesterday,) given 1 g paracetamol"
    r"|^\s*given\s+(?=\d|iv\b|im\b|po\b|oral\b|a\s+dose|one\s+dose)"
    # what the patient takes now: "already taking paracetamol", "takes omeprazole ... already"
    r"|already\s+(?:taking|on|using)|\b(?:takes|is\s+taking)\b.*\balready"
    # someone else's start: "they have started hydroxychloroquine" ("we have" is ours)
    r"|(?:they|he|she|team|gp)\s+(?:have|has)\s+(?:started|commenced|prescribed)"
    # twelfth pass: how the patient does on a drug ("Tolerating metformin 500 mg BD well",
    # "not tolerated", "Good response to omeprazole"), what they took of their own accord
    # ("self-medicating with ibuprofen", "Bought paracetamol"), another's start told in a
    # relative clause ("Seen by ENT, who started fluticasone spray")
    r"|tolerat(?:ing|es|ed)|intoleran(?:t|ce)|(?:good|poor|partial|no|some)\s+response\s+to"
    r"|responding\s+(?:well\s+)?to|self[-\s]?medicat\w*|bought"
    r"|\bwho\s+(?:has\s+|had\s+)?(?:started|commenced|prescribed)"
    # fourteenth pass: a stay told with what was given ("Was admitted in March with
    # pneumonia and given co-amoxiclav")
    r"|(?:was|were)\s+(?:admitted|seen|treated|discharged)\b.*\bgiven"
    # sixteenth pass: a dose given told with its subject and no "was" ("pt given amoxicillin
    # today"), and what the patient was on before ("Previously on ramipril - stopped 2021")
    r"|\b(?:pt|patient|she|he|they)\s+given\b|(?:previously|formerly)\s+on\b)\b",
    re.IGNORECASE,
)
# What a drug did to the patient (fourteenth pass): "Metformin caused diarrhoea",
# "Ibuprofen makes her asthma worse", "Amlodipine gave her ankle swelling".
_EFFECT = re.compile(
    r"\b(?:caused|causes|causing|triggered|(?:makes|made|gives|gave)\s+(?:him|her|them|me)"
    # "Gabapentin was ineffective", "Sertraline did not help" (fifteenth pass)
    # "Had loose stools with Tab Augmentin", "Developed a rash on co-trimoxazole" (seventeenth
    # pass): a reaction the drug gave
    r"|^\s*(?:had|developed|got)\s+(?:an?\s+)?(?:[a-z]+\s+){1,2}(?:with|on|after|from)\s"
    r"|(?:was|were|has\s+been|have\s+been|proved)\s+(?:ineffective|unhelpful|not\s+effective"
    r"|of\s+(?:no|little)\s+(?:benefit|help|use))|(?:did\s+not|didn't)\s+(?:help|work))\b",
    re.IGNORECASE,
)
# How a drug helps the patient, told (fifteenth pass): "Paracetamol helps the pain", "Reports
# good relief with paracetamol", "Finds ibuprofen helpful"; only with no verb in the clause
# or the rest of its sentence ("Ondansetron helps, continue 4 mg TDS PRN" continues it).
_HELPS = re.compile(
    r"\b(?:helps|(?:good|some|partial|little|no)\s+relief\s+(?:with|from)|finds?\b.*\bhelpful"
    # what a course did, what the patient is already under and on (twenty-first pass):
    # "Symptoms resolved with the nitrofurantoin course", "already under the memory clinic
    # and on donepezil 10 mg"; "improved on X, which he should continue" still continues it
    r"|(?:resolved|settled|cleared|improved|recovered)\s+(?:with|on|after)"
    r"|already\b[^.;]*?\band\s+on)\b",
    re.IGNORECASE,
)
# What the patient did with a drug, reported (fourteenth pass): "c/o gastritis after taking
# Tab Brufen", "Last dose of apixaban was yesterday evening", "Missed two doses of
# levothyroxine", "Overdose of paracetamol", "Tried omeprazole with no effect", "Uses
# salbutamol 2-3 times a week" - unless someone suggests it ("suggested she uses ...").
_REPORTED = re.compile(
    # "feeling better after the course of nitrofurantoin" (twentieth pass)
    r"\bafter\s+(?:taking|starting|using|(?:the|a|her|his|their)\s+(?:course|dose)\s+of)\b|\blast\s+dose\b(?!\s+(?:tomorrow|today|tonight|due))"
    # twenty-first pass: what the patient takes of their own accord ("Takes over-the-counter
    # ibuprofen occasionally")
    r"|\b(?:takes|buys)\s+(?:an?\s+|the\s+|some\s+)?(?:over[-\s]the[-\s]counter|otc)\b"
    r"|\btakes\b[^.;]*\b(?:occasionally|sometimes|now\s+and\s+then|from\s+time\s+to\s+time)\b"
    r"|\bmissed\b|\boverdose\s+of\b|\bingest(?:ed|ion\s+of)\b|^\s*(?:tried|trialled)\b|\buses\b"
    # "Failed metformin due to GI upset" (fifteenth pass)
    r"|^\s*(?:(?:has|have|had)\s+)?failed\b(?!\s+to\b)"
    # what the patient has by them: "Carries a GTN spray", "Has a salbutamol inhaler at home"
    r"|\bcarries\b|\b(?:has|have|keeps?)\b[^.;]*\bat\s+home\b|\bstock\s+of\b",
    re.IGNORECASE,
)
# A trial told as past (fifteenth pass): "Previous trial of pregabalin stopped due to
# drowsiness", "Prior course of doxycycline".
_PAST_TRIAL = re.compile(
    r"\b(?:previous|prior|past|earlier|failed)\s+(?:trials?|courses?|use)\s+of\b"
    r"|\bhad\s+(?:a\s+|an\s+)?(?:\d+[-\s](?:days?|weeks?|months?)\s+)?(?:trials?|courses?)\s+of\b"
    # "Completed 5 days of amoxicillin", "Has been off aspirin for 2 weeks"
    r"|\b(?:finished|completed)\s+\d+\s+(?:days?|weeks?|months?)\s+of\b"
    r"|\b(?:(?:has|have|had)\s+been|(?:is|are|was|were)\s+(?:currently\s+|now\s+)?)\s*off\b",
    re.IGNORECASE,
)
# "using X as advised" tells what the patient does (twentieth pass): no one suggests it now
_SUGGESTED = re.compile(r"\b(?<!\bas\s)(?:suggest|advis|recommend|ask|tell|told|instruct)\w*", re.I)
_WHY = re.compile(r"\b(?:as|because|since|due\s+to|given)\b", re.IGNORECASE)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
# A time in the past that an order is never written with ("in March", "at the last visit",
# "on 2 May", "yesterday"); "in 2 weeks" and "tomorrow" are times to come.
_PAST_TIME = re.compile(
    # not "earlier": "asked her to have dinner earlier" (batch 8 m024) is no time past
    r"\b(?:ago|last\s+(?:week|month|year|night|visit|review|admission)|yesterday"
    r"|previously|in\s+the\s+past|prior\s+to\s+admission|in\s+(?:" + _MONTHS + r")"
    r"|in\s+(?:19|20)\d\d"  # "switched ... in 2022"
    r"|on\s+\d{1,2}(?:st|nd|rd|th)?\s+(?:" + _MONTHS + r"))\b",
    re.IGNORECASE,
)
_SINCE = re.compile(
    r"\bsince\s+(?:(?:19|20)\d\d|last\b|(?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    + _MONTHS
    + r"|\d+\s+(?:days?|weeks?|months?|years?))\b",
    re.IGNORECASE,
)
# "HTN on Tab Telma 40 OD", "On Tab Ecosprin 75 ...": a few words, then "on" and the drug
# ("d/c home on Fostair", "go home on cefdinir" are discharge orders, not history).
_ON_DRUG = re.compile(
    r"^\s*(?:(?!(?:home|discharged?|d/c|dc|sent|go|going|to)\b)[a-z][\w/.-]*\s+){0,3}?"
    r"on\s+(?:tab|tablet|cap|capsule|inj|t|syp|syrup)\b"
    # "On warfarin for AF, INR 2.4 today": a clause that opens with "on" and the drug
    # (thirteenth pass), not a day or an occasion ("On discharge: ...", "On day 3")
    r"|^\s*on\s+(?!(?:alternate|days?|discharge|admission|arrival|the|a|an|an?\s+empty|empty"
    r"|waking|rising|weekends?|weekdays?|\w+days?|call|demand|review|return)\b)[a-z]",
    re.IGNORECASE,
)
_WAS_ON = re.compile(r"\b(?:was|were|had\s+been)\s+on\b", re.IGNORECASE)
# A result or a state, then the drug the patient is on: "TSH 0.08 on Thyronorm 100 mcg",
# "LDL 168 on Tab Atorva 10", "BP above goal on HCTZ", "well controlled on metformin"
# (eleventh pass; with no verb in its sentence, as _ON_DRUG). A value counts only after a
# test's name ("Tab Dolo 650 on alternate days" is a schedule).
_ON_AFTER = (
    r"\s+(?:while\s+)?on\s+(?!(?:alternate|days?|the\s+(?:morning|evening|day)|an?\s+empty|empty"
    r"|waking|rising|admission|arrival|discharge|demand|call)\b)"
    r"(?:tab\.?\s+|cap\.?\s+|the\s+|his\s+|her\s+)?[a-z]"
)
_STATE_ON = re.compile(
    r"\b(?:(?:above|below|at|near|not\s+at|off)\s+(?:goal|target)|controlled|stable|symptomatic)"
    + _ON_AFTER,
    re.IGNORECASE,
)
_VALUE_ON = re.compile(
    r"\b\d+(?:\.\d+)?\s*(?:%|mmol/mol|mg/dl|mmol/l|miu/l)?" + _ON_AFTER, re.IGNORECASE
)


def _state_on(text: str) -> bool:
    """True when ``text`` tells a result or a state, then the drug the patient is on."""
    if _STATE_ON.search(text):
        return True
    m = _VALUE_ON.search(text)
    return m is not None and lexicon.names_a_test(text[: m.start()])


# What the patient is on now, told and not ordered: "He is on metformin 1 g BD", "Remains on
# apixaban 5 mg BID, managed by cardiology", "Pt has been taking OTC ibuprofen 800 mg TID",
# "since starting Tab Envas 5 mg BD" (twelfth pass). With no other verb in the clause or
# in the rest of its sentence ("He is on metformin 500 mg BD, continue" goes on).
_ONGOING = re.compile(
    r"\b(?:(?:is|are|remains?|stays?)\s+on|(?:is|are)\s+(?:currently\s+)?(?:taking|using)"
    r"|(?:has|have)\s+been\s+(?:on|taking|using)"
    r"|since\s+(?:starting|commencing|being\s+started\s+on)"
    # "Pt using Candid-B cream as advised" (twentieth pass)
    r"|^\s*(?:pt|patient|he|she)\s+(?:using|taking))\b",
    re.IGNORECASE,
)


def _ongoing(text: str, rest: str) -> bool:
    m = _ONGOING.search(text)
    if m is None:
        return False
    # "as advised" says how the patient takes it, no order (twentieth pass)
    told = _AS_ADVISED.sub(" ", text[: m.start()] + " " + text[m.end() :])
    return not _verbs(told) and not _verbs(rest)


_AS_ADVISED = re.compile(r"\bas\s+(?:advised|directed|instructed|prescribed)\b", re.IGNORECASE)


# "stopped" is not among them: "Stopped metformin 2 weeks ago" still records the stop.
_PAST_FORMS = frozenset(
    {"started", "increased", "decreased", "reduced", "changed", "switched", "added"}
)


class _Drug(Protocol):
    dose: float | None
    timing: Timing | None


def _verbs(text: str) -> list[str]:
    return [w.group(0).lower() for w in _WORD.finditer(text) if w.group(0).lower() in lexicon.VERBS]


def tells_the_past(text: str, drugs: Sequence[_Drug], rest: str = "") -> bool:
    """True when the clause ``text`` tells what the patient took, not what to give.

    ``rest`` is the sentence after the clause: a verb there ("Pt on Tab Metformin 500 BD,
    continue") may act on the drug, so a clause with no verb is then not read as history."""
    if drugs and (_told_with_dose(text) or _ongoing(text, rest)):
        return True
    if drugs and _HELPS.search(text) and not _verbs(text) and not _verbs(rest):
        return True
    if (
        drugs
        and not _verbs(text)
        and not _verbs(rest)
        and (_SINCE.search(text) or _ON_DRUG.match(text) or _state_on(text))
    ):
        return True  # "On Tab Ecosprin 75 ... since 2021", "HTN on Tab Telma 40 OD"
    if not drugs or any(d.dose is not None or d.timing is not None for d in drugs):
        return False
    strong = _STRONG.search(text)
    if strong is not None:
        # "was on metformin ... but stopped it herself": only past-tense verbs beside the
        # marker ("take" in "used to take" is the marker's own).
        rest = text[: strong.start()] + " " + text[strong.end() :]
        return all(v.endswith("ed") for v in _verbs(rest))
    return _WEAK.search(text) is not None and not _verbs(text)


_MEDS_LIST = re.compile(r"\s*(?:meds|medications|medicines|drugs)\s*:", re.IGNORECASE)


def history_sentences(sentences: dict[int, str]) -> set[int]:
    """The sentences (by index) that open with history, and a medication list right after
    one ("PMH: HTN, GERD. Meds: amlodipine 10 ...": what the patient takes; tenth pass)."""
    found = {n for n, text in sentences.items() if grammar.HISTORY.match(text)}
    return found | {n for n, text in sentences.items() if n - 1 in found and _MEDS_LIST.match(text)}


def after_opening(text: str) -> str:
    """``text`` after the history that opens it ("Home meds reviewed: on metformin": the
    review is the opening's, no follow-up; twentieth pass)."""
    opening = grammar.HISTORY.match(text)
    return text[opening.end() :] if opening else text


def verb_after_opening(text: str) -> bool:
    """True when a verb follows the history that opens ``text`` (or, with no such
    opening, when ``text`` has a verb): "Already taking vitamin D" has none, its
    "taking" is part of the opening; "K/C/O HTN, start amlodipine" has one."""
    opening = grammar.HISTORY.match(text)
    return bool(_verbs(text[opening.end() :] if opening else text))


# "Sertraline stopped - not tolerated" (sixteenth pass): a stop with its reason, written
# with no one named, is the stop (as "Metformin stopped 2 days ago", seventh pass).
_STOPPED_FOR = re.compile(
    r"\b(?:stopped|discontinued)\s*(?:[-\u2013:,(]\s*|\s+(?:as|because|due\s+to)\s+)"
    r"(?:it\s+was\s+)?(?:not\s+tolerated|intoleran(?:t|ce)|side[-\s]effects?)",
    re.IGNORECASE,
)
_SUBJECT = re.compile(r"\b(?:she|he|they|patient|pt|gp|team|\w+ologists?)\b", re.IGNORECASE)


def _told_with_dose(text: str) -> bool:
    """The eighth pass's history, read even when a dose is written: every verb in the
    past ("Received ...", "was started by ...", "started ... last week"), none present."""
    if _STOPPED_FOR.search(text) and not _SUBJECT.search(text):
        return False
    verbs = _verbs(text)
    if _PAST_TRIAL.search(text):
        verbs = [v for v in verbs if v != "trial"]  # "Previous trial of X": a noun
    if any(not (v.endswith("ed") or v == "given") for v in verbs):
        return False  # "Received X yesterday, give Y now": an order stands beside it
    if _TOLD.search(text) is not None or _PAST_TRIAL.search(text) is not None:
        return True
    if _REPORTED.search(text) and not _SUGGESTED.search(text):
        return True  # "Missed two doses of levothyroxine"
    if _EFFECT.search(text) and not _WHY.search(text) and not grammar.SWITCH_VERB.search(text):
        return True  # "Metformin caused diarrhoea" ("switch, as X caused ..." is an order)
    if _WAS_ON.search(text) and (_WEAK.search(text) or _PAST_TIME.search(text)):
        return True  # "Was on Tab Glimestar 2 mg earlier" ("was on X 5 mg, increase ..." is not)
    return any(v in _PAST_FORMS for v in verbs) and _PAST_TIME.search(text) is not None
