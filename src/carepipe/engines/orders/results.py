"""Words that make a named test a result already in hand, not a test to order.

"ECG done - sinus rhythm", "Her DEXA last month showed osteopenia", "Reports reviewed:
HbA1c 7.1 %, lipids within target": the test is named because its result is being read.
A clause with such a word orders none of its tests unless it also has an order verb
("repeat the echo, last one showed EF 35%" still orders the echo).

A test followed at once by its value or its trend is a finding too (seventh pass,
2026-11-28): "platelets 48k", "HbA1c 8.2%", "creatinine 1.1", "TSH 2.4", "platelets
dropping", "(creat up)", unless the clause has an order verb. Only values no order is
written with count: a decimal with no dose or time unit after it, or a number with a lab
unit, a percent or "k"; "CBC 2 days later" and "troponin 0.5 h after" stay orders.

Eighth pass (2026-11-28, batch 10's false positives): "grew", "pending" and "negative
for" read a result ("Sputum culture from Tuesday grew Haemophilus", "Blood cultures from
admission are still pending", "CT from yesterday negative for appendicitis"); a test
followed at once by its verdict is a finding ("USG abdomen normal", "Dengue NS1
positive"), and a value may follow the day it was read on ("TSH today 12.4").

Ninth pass (2026-11-28, batch 11's false positives): a whole number that ends the test's
item ("Hb 128, eGFR 74", "FBS 98.") is its value as much as a decimal is (an order writes
a unit or a time after a number: "CBC 2 days later"), and "mmol/mol" is a lab unit; a
count of tests before the verdict ("Troponin x2 negative") is still a finding; "pending"
that ends the clause ("urine culture pending") and "already sent / done / drawn" tell that
the test is in hand; a sentence that only judges the one before ("All normal.", "All
reviewed, nothing further needed.") makes that sentence's tests results.

Tenth pass (2026-11-28, batch 12): "read as" gives a verdict ("CT A/P read as
unremarkable"), a sample "sent yesterday" is in hand, a year may stand between a study and
its verdict ("Colonoscopy 2019 normal"), and a reading in mm is a value ("Mantoux 14 mm").
"""

from __future__ import annotations

import re

from carepipe.engines.orders.lexicon import ORDER_VERBS

PAST_RESULT = re.compile(
    r"\b(?:showed|shows|revealed|reveals|demonstrated|was\s+(?:normal|unremarkable)"
    r"|(?:reports?|results?|labs?)\s+(?:seen|noted)|reviewed|within\s+(?:target|normal\s+limits)"
    r"|(?:reported|came\s+back)\s+(?:as\s+)?(?:normal|unremarkable|negative|positive)"
    r"|done\s*(?:[-:\u2013]|yesterday|today|last|on\b)"
    r"|grew|(?:still\s+|are\s+|is\s+)pending|(?:negative|positive)\s+for"
    # "CT abdomen done at an outside hospital, report awaited" ("urine culture sent" is an
    # order being carried out: batches 6 and 7 label it so)
    r"|done\s+(?:at|in|elsewhere|outside)|(?:reports?|results?)\s+awaited"
    # "urine culture pending", "Blood cultures already sent" (ninth pass)
    r"|pending(?=\s*(?:[.;,)]|$))|already\s+(?:been\s+)?(?:sent|done|drawn|taken|collected"
    r"|performed)|(?:sent|done|drawn|collected)\s+already"
    # tenth pass: "CT A/P read as unremarkable", "Sputum CBNAAT sent yesterday"
    r"|read\s+as\b|(?:sent|drawn|collected)\s+(?:yesterday|last\s+\w+|on\s+\w+day)"
    # eleventh pass: "Blood cultures x2 taken." (not "to be taken"), "CT already booked by
    # the surgical team"
    r"|(?<!be\s)(?<!been\s)taken(?=\s*(?:[.;,)]|$))|already\s+(?:been\s+)?(?:booked|arranged"
    r"|requested|scheduled|organi[sz]ed)"
    # twelfth pass: "2D echo (outside): EF 35%", a study marked as done elsewhere
    r"|(?<=\()(?:done\s+)?(?:outside|elsewhere|external|private|old)(?:\s+(?:hospital|report|lab))?\)"
    # fourteenth pass: a study sent with a letter ("His resting ECG from today is enclosed",
    # "copy attached", "I enclose the report")
    # fourteenth pass: a verdict in the past ("Spirometry confirmed COPD"), a test done
    # somewhere ("ECG obtained at triage", "Urine culture sent from clinic on Monday"), an
    # appointment not attended ("DNA for colonoscopy twice")
    r"|\b(?:confirmed|excluded|ruled\s+out)\b"
    r"|\b(?:obtained|performed|done|sent|drawn|taken)\s+(?:at|in|from|by)\s+(?:the\s+)?"
    r"(?:triage|ed|a\s?&\s?e|er|clinic|gp|surgery|casualty|emergency|ward|admission|outside"
    r"|another)\b|(?-i:DNA)(?:'?d)?\s+(?:for|to)\b|\b(?:did\s+not|failed\s+to)\s+attend\b"
    r"|\bawait(?:ing|ed)\b"  # "Awaiting MRI spine", "MRI awaited": asked for already
    # "Echocardiogram was performed on the ward", "ECG has been done" (fourteenth pass)
    r"|(?:was|were|has\s+been|have\s+been|had\s+been)\s+(?:already\s+)?(?:performed|done"
    r"|carried\s+out|completed|obtained)\b"
    r"|(?:is|are)\s+(?:enclosed|attached)|\b(?:copy|copies|report)\s+(?:enclosed|attached)"
    r"|\bI\s+(?:enclose|attach|have\s+enclosed|have\s+attached)|please\s+find\s+(?:enclosed|attached)"
    # "MRI brain requested by neurology", "Physio has been arranged by the ward" (fifteenth
    # pass): someone else's request, not this one ("to be arranged by" is still to come)
    r"|(?<!be\s)(?:requested|arranged|booked|organi[sz]ed|scheduled)\s+by\s+(?!me\b|us\b))",
    re.IGNORECASE,
)


# "Spirometry today confirms COPD": the verdict in the present (twenty-first pass); "echo if
# the ECG confirms LVH" is a condition on an order
_PRESENT_VERDICT = re.compile(r"\b(?:confirms|excludes|rules\s+out)\b", re.IGNORECASE)
_CONDITION = re.compile(r"\b(?:if|unless|when|once|until)\b", re.IGNORECASE)


def is_result(clause: str) -> bool:
    """True when the clause reads a result and asks for nothing."""
    verdict = _PRESENT_VERDICT.search(clause)
    told = verdict is not None and _CONDITION.search(clause, 0, verdict.start()) is None
    return (PAST_RESULT.search(clause) is not None or told) and ORDER_VERBS.search(clause) is None


_VALUE_AFTER = re.compile(
    # "A1c last month 6.8", "TSH 3 weeks ago 5.1": the time it was read on (eleventh pass)
    r"\s*(?:(?:today|yesterday|this\s+morning|last\s+(?:week|month|year|visit)"
    r"|\d+\s+(?:days?|weeks?|months?)\s+ago)\s+)?(?:[:=]\s*|(?:is|was|of)\s+)?(?:"
    r"\d+\.\d+(?![\d.])(?!\s*(?:mg|mcg|g|ml|l|units?|iu|hrs?|hours?|h|days?|d|weeks?|wks?|"
    r"months?|mins?|minutes?)\b)"
    r"|\d+(?:\.\d+)?\s*(?:%|k\b|lakhs?\b|mg/dl|g/dl|mmol/l|mmol/mol|meq/l|u/l|iu/l|miu/l|ng/ml|"
    r"pg/ml|/mm3|cells\b|mm\b(?!\s*hg))"
    # "Hb 128, eGFR 74", "FBS 98.": a whole number that ends the item (ninth pass); not a
    # zero, which is the first of a series of times ("Troponin 0, 3 h")
    r"|(?!0\b)\d+(?![\d.])(?=\s*(?:[,;)]|\.(?!\d)|$)"
    # "FBS 68 today.", "K 5.9 this morning;": the day it was read on after the value
    # (sixteenth pass)
    r"|\s+(?:today|yesterday|this\s+(?:morning|afternoon|evening)"
    r"|last\s+night|on\s+admission|at\s+admission)\s*(?:[,;)]|\.(?!\d)|$)"
    # "Ferritin 8 - iron deficiency": a dash after the value opens what it means (fourteenth
    # pass)
    r"|\s+[-\u2013]\s))",
    re.IGNORECASE,
)
_PADS = r"(?:nitrites?|leu[ck]ocytes?|leu[ck]s?|le|protein|blood|ketones?|glucose|bilirubin)"
_TREND_AFTER = re.compile(
    # "Troponin x2 negative": the count of tests done before the verdict (ninth pass)
    # "Colonoscopy 2019 normal": the year it was done may stand before the verdict
    r"\s*(?:x\s?\d+\s+|(?:in\s+)?(?:19|20)\d\d\s+"
    r"|\d+\s+(?:days?|weeks?|months?|years?)\s+ago\s+)?"
    # "Urine dip nitrite and leucocyte positive": a dipstick's pads before the verdict
    # (nineteenth pass)
    r"(?:" + _PADS + r"(?:\s*(?:,|and|&|\+|/)\s*" + _PADS + r")*\s+)?"
    r"(?:is\s+|are\s+|were\s+|was\s+)?"
    # "creatinine has risen by 25%", "Hb has dropped to 8.1" (fifteenth pass)
    r"(?:(?:has|have|had)\s+(?:risen|fallen|dropped|increased|decreased|doubled|halved"
    r"|gone\s+(?:up|down)|worsened|improved|normali[sz]ed)"
    r"|dropping|falling|rising|low|high|up|down|elevated|raised|deranged|improving|worsening"
    # "FBG running 160s", "sugars running high": how the readings have been (eighteenth pass)
    r"|running"
    r"|normal|abnormal|negative|positive|unremarkable"  # "abnormal": thirteenth pass
    # "D-dimer neg", "TSH wnl", "CXR NAD": the verdict abbreviated (seventeenth pass)
    r"|neg|wnl|nad|within\s+normal\s+limits"
    r"|clear(?!\s+(?:fluids?|liquids?|diet))"  # "CXR clear" (eleventh pass)
    r")\b",
    re.IGNORECASE,
)


# "Potassium 6.1 on repeat": the value of a repeated test, no order to repeat it
_ON_REPEAT = re.compile(r"\bon\s+repeat(?:\s+(?:testing|sample))?\b", re.IGNORECASE)


# "FIT result 180", "TSH results awaited": the test named for its result (twelfth pass)
# "to discuss EGD biopsy results" (sixteenth pass): the specimen may stand between
_RESULT_AFTER = re.compile(
    r"\s*(?:(?:biopsy|histology|pathology|histopathology)\s+)?results?\b", re.IGNORECASE
)
# "Rapid strep and flu swab negative", "CXR and ECG normal": one verdict after a list of
# tests (twelfth pass); the verdict ends the clause.
_SHARED_VERDICT = re.compile(
    r"(?:\s*(?:,|and|&|/)\s*[\w-]+(?:\s+[\w-]+){0,2}?)+\s+(?:(?:is|are|were|was|both|all)\s+)?"
    r"(?:normal|negative|positive|unremarkable)\s*[.;,]?\s*$",
    re.IGNORECASE,
)


def _dash_before(clause: str, end: int) -> int:
    """Where the text after the last spaced dash before ``end`` starts (0 if none)."""
    found = [m.end() for m in re.finditer(r"\s[-\u2013]\s", clause[:end])]
    return found[-1] if found else 0


def is_finding(clause: str, end: int) -> bool:
    """True when the test named just before ``end`` is followed by its value or trend and
    the clause asks for nothing ("potassium is 5.9 - repeat it tomorrow" orders it)."""
    if _RESULT_AFTER.match(clause, end) is not None:
        return True  # "FIT result 180 - urgent 2WW referral": the test's result, whatever else
    # Only a verb of the test's own part of the clause counts: "2WW referral to colorectal
    # surgery: FIT 150" tells the referral's reason after the colon (thirteenth pass).
    # Nor one before a dash that opens the finding ("recheck U&Es - creatinine has risen";
    # fifteenth pass).
    own = clause[max(clause.rfind(":", 0, end) + 1, _dash_before(clause, end)) :]
    if clause.rfind("(", 0, end) > clause.rfind(")", 0, end):
        # "Referral to GI for colonoscopy (FIT positive)": a bracket tells the finding,
        # the order verb before it is not its own (eighteenth pass)
        own = clause[clause.rfind("(", 0, end) :]
    if ORDER_VERBS.search(_ON_REPEAT.sub(" ", own)) is not None:
        return False
    return (
        _VALUE_AFTER.match(clause, end) is not None
        or _TREND_AFTER.match(clause, end) is not None
        or _SHARED_VERDICT.match(clause, end) is not None
    )


# A sentence that only judges the results of the one before it ("All normal.", "All
# reviewed, nothing further needed.", "Both within normal limits").
_VERDICT = re.compile(
    r"\s*(?:all|both|these|results?|bloods?|labs?|reports?)\s+(?:(?:are|were|is|was)\s+)?"
    r"(?:normal|reviewed|unremarkable|satisfactory|within\s+(?:normal\s+)?(?:limits|range|target)"
    r"|nad|negative|fine|ok|stable)\b",
    re.IGNORECASE,
)


# "Urine culture, blood culture and CXR all negative.": a list of tests closed by one verdict
# on them all (twelfth pass).
_ALL_VERDICT = re.compile(
    r"\b(?:all|both)\s+(?:(?:are|were)\s+)?(?:normal|negative|unremarkable|clear"
    r"|within\s+normal\s+limits)\s*[.;]?\s*$",
    re.IGNORECASE,
)


def judges_its_own_tests(sentence: str) -> bool:
    """True when ``sentence`` ends by judging all the tests it names, and orders none."""
    return _ALL_VERDICT.search(sentence) is not None and ORDER_VERBS.search(sentence) is None


def judges_the_sentence_before(sentence: str) -> bool:
    """True when ``sentence`` is only a verdict on the results named before it."""
    return _VERDICT.match(sentence) is not None and ORDER_VERBS.search(sentence) is None
