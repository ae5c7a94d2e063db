"""Clauses that name orders without giving them (eighth pass, 2026-11-28).

Written from batch 10's false positives, in general form:

- a plan for later or someone else's plan: "If sugars remain high, will consider adding
  Tab Jardiance", "If the calprotectin comes back raised we will refer to
  gastroenterology", "The surgical team plan to restart apixaban": nothing is ordered now;
- a test declined after its name: "INR checks no longer needed", "Test-of-cure urine
  culture not needed" (a cue before the test, "no need for a CXR", was already read);
- a review in a specialty's OPD is a follow-up, not a referral: "Review in cardiology OPD
  after 1 week" (as "Follow up with Dr Rao in cardiology clinic", batch 1-4 y089), while
  "refer to general surgery OPD" and a bare "cardiology OPD" stay referrals.

Ninth pass (2026-11-28, batch 11's false positives):

- a decline after the name may end with its reason or its time ("D-dimer not needed given
  Wells score", "Widal and blood culture not needed now", "varenicline not started per
  patient preference"), and it declines a drug named with no dose ("vitamin K not needed");
- the drug a new one replaces is not ordered: "clarithromycin 500 mg BD instead of
  amoxicillin" (recorded as negated);
- a drug in an aside on what the patient takes now is no order: "Stop aspirin (now on
  apixaban)";
- another clinician's recommendation is their plan: "Her rheumatologist has recommended
  starting hydroxychloroquine" (as "the team plan to");
- a plan for later that the next clause declines for now ("Will consider colonoscopy ...;
  not scheduling today") is negated, not only listed.
"""

from __future__ import annotations

import re

from carepipe.engines.orders.lexicon import REFERRAL_CONTEXT

_ASKS = (
    r"\b(?:asks?|asked|asking|wonders?|wondered|wondering|enquir(?:es|ed|ing)|inquir(?:es|ed"
    r"|ing))\s+(?:if|whether|about)\b"
)
# "Considered and started doxycycline", "Considered and ordered CT chest" (eighteenth
# pass): weighed, then done; not set aside
_THEN_DONE = (
    r"(?!\s+and\s+(?:then\s+)?(?:start|order|request|arrang|book|refer|prescrib|gave|give"
    r"|commenc|initiat|add|sent|send|perform|check|treat))"
)
_DEFERRED = re.compile(
    r"\b(?:will|would|may|might|could)\s+(?:consider|think\s+about)\b"
    r"|^\s*if\b.*\b(?:we|i)\s+(?:will|would|may|might|could)\b"
    r"|\b(?:team|surgeons?|gp|consultant|\w+ologists?|\w+ology|who|they)\s+(?:plans?|intends?)"
    # "they plan TEE tomorrow" (sixteenth pass); not a heading ("Cardiology plan: ...")
    r"(?:\s+to\b|\b(?!\s*:))"
    # "The vascular team have reviewed and plan an angioplasty next week" (eleventh pass)
    r"|\b(?:team|surgeons?|\w+ologists?|\w+ology)\s+(?:has|have)\s+(?:reviewed|seen\s+\w+)"
    r"\s+and\s+(?:plans?|intends?|will)\b"
    # Tenth pass: a team named by its specialty ("Orthogeriatrics have recommended", "ID
    # recommends narrowing to cefazolin") and a study "planned by cardiology" are theirs.
    r"|\b(?:\w+olog(?:ists?|y)|\w+iatrics|id|team|surgeons?|gp|consultant"
    r"|specialists?)\s+(?:(?:has|have|had)\s+(?:recommended|suggested|advised)"
    r"|recommends|suggests|advises)\b"
    r"|\bplanned\s+by\s+(?:the\s+)?\w+"
    r"|\bfor\s+(?:the\s+)?(?:gp|team|\w+ologists?)\s+to\s+consider\b"
    # Twelfth pass (batch 14): a question ("Should we add Tab Jardiance?"), what the
    # patient asks about ("Pt asks if she can take Combiflam", "asked about Ozempic", "wonders
    # about a sleep study"), a decision left to someone ("Cardiologist to decide about
    # stopping Clopilet"), an option only ("clarithromycin would be the alternative",
    # "referral may be needed depending on the result"), a referral that brought the
    # patient ("Referred by Dr Mehta (ortho)") or one the patient makes ("self-refer to
    # physio"), and a screening test due later ("Colonoscopy due at age 45"): none orders.
    r"|^\s*(?:should|shall)\s+(?:we|i)\b|\bwhether\s+to\s+(?:start|add|stop|refer|order)\b"
    r"|" + _ASKS + r"|\bto\s+(?:decide|advise)\s+(?:about|on|whether|regarding)\b"
    # "Will decide on metformin after reports", "interested in Wegovy", "would like to
    # discuss weight-loss medications": a decision or a wish for later (nineteenth pass)
    r"|\b(?:will|shall|would|can)\s+decide\s+(?:about|on|whether|regarding)\b"
    r"|\b(?:interested\s+in|would\s+like\s+to\s+discuss)\b"
    # unless the clause goes on to prescribe: "interested in Wegovy: start semaglutide 0.25 mg"
    r"(?![^;]*\b(?:start|prescribe|commence|initiate|begin|order|give)\b[^;]*\d)"
    r"|\b(?:may|might|could|would)\s+be\s+(?:needed|required|necessary|indicated|considered"
    r"|(?:an|the)\s+(?:alternative|option|next\s+step)|an?\s+option)\b"
    r"|\breferred\s+(?:in\s+)?(?:by|from)\b|\bself[-\s]?refer"
    r"|\bdue\s+(?:at\s+(?:the\s+)?age|in\s+(?:19|20)\d\d|next\s+year)\b"
    # "Consider statin", "might benefit from a sleep study", "Options include sertraline or
    # CBT": a suggestion, not an order ("consider" is none in the corpus conventions)
    # "Considered CTA chest, but ...": weighed and not ordered (seventeenth pass)
    r"|^\s*(?:\?\s*)?consider(?:ing|ed)?\b"
    + _THEN_DONE
    + r"|\b(?:may|might|could|would)\s+benefit\s+from\b"
    r"|\boptions?\s+(?:include|includes|are|would\s+be)\b"
    # "Double hydrocortisone doses if unwell" (twentieth pass): a sick-day rule, taught for
    # an illness to come, changes nothing now
    r"|\b(?:double|treble|triple|halve)\s+(?:the\s+|your\s+|his\s+|her\s+)?(?:[a-z]+\s+)?"
    r"doses?\s+(?:if|when|during|while)\b"
    # "Prior auth submitted for Humira" (fifteenth pass): a request to the payer, no order
    r"|\b(?:prior\s+auth(?:ori[sz]ation)?|pre-?auth(?:ori[sz]ation)?|PA\s+(?=(?:submitted"
    r"|requested|sent|pending|approved|denied)\b))\b",
    re.IGNORECASE,
)
# "... because of cost", "..., given the Wells score": the reason a decline gives
_REASON_AFTER = r"\s*[,-]?\s*(?:given|as|because|since|due\s+to|per|in\s+view\s+of)\b[^;]*"
_DECLINED_AFTER = re.compile(
    r"(?:\b(?:(?:is|are|was|were)\s+)?(?:not|no\s+longer)\s+(?:needed|required|indicated"
    r"|necessary|started|prescribed|appropriate|suitable|recommended|advised)"
    # "TMT contraindicated, not to be done" (twelfth pass)
    r"|\bcontra-?indicated|\bnot\s+to\s+be\s+(?:done|given|started|ordered)"
    # "Cologuard declined", "Flu vaccine refused by patient": the name, then its refusal
    # (twenty-first pass)
    r"|(?<=\w)\s+(?:(?:was|were|has\s+been)\s+)?(?:declined|refused)"
    r"(?:\s+by\s+(?:the\s+)?(?:pt|patient|family|parents?|mother|father))?)"
    # "... not needed now", "... not required at this stage" (twelfth pass)
    r"(?:\s+(?:now|at\s+present|today|yet|for\s+now|currently"
    r"|at\s+(?:this|the)\s+(?:time|stage|point|moment)))?"
    # "... not needed given Wells score", "... per patient preference", "(pacemaker)"
    r"(?:"
    + _REASON_AFTER
    # "Orlistat not appropriate - BMI 27": the finding after a dash is the reason
    # (eighteenth pass)
    + r"|\s+[-\u2013]\s+(?![^;]*\b(?:order|check|recheck|repeat|start|give|refer|send)\b)[^;]*)?"
    r"(?:\s*\([^()]*\))?"
    r"\s*[.;]?\s*$",
    re.IGNORECASE,
)
_REVIEW_IN_OPD = re.compile(
    r"\b(?:review|follow[-\s]?up|f/u|revisit|come\s+back)\s+(?:in|at)\s+(?:the\s+)?"
    r"(?:[a-z]+\s+){1,3}opd\b"
    # "Cardiology OPD 6 weeks": the clinic and the time of the visit (eighteenth pass, as
    # "Endocrine clinic 6/52")
    r"|\bopd(?=\s+(?:in\s+|after\s+|within\s+)?\d+\s*(?:/\s*(?:52|12|7)\b|(?:days?|d|weeks?"
    r"|wks?|w|months?|mo|mths?)\b))",
    re.IGNORECASE,
)


def defers(clause: str) -> bool:
    """True when the clause plans for later or tells another team's plan."""
    return _DEFERRED.search(clause) is not None


# What the patient asked about, answered no in the same clause ("Pt asks if she can take
# Combiflam for knee pain - advised to avoid"; twelfth pass).
_ASKED_NO = re.compile(
    _ASKS + r".*\b(?:advised\s+(?:to\s+)?(?:avoid|against|not)|avoid|not\s+(?:indicated|needed"
    r"|recommended|advised|suitable|appropriate))\b",
    re.IGNORECASE,
)


# "Considered CTA chest(, but ...)": weighed and set aside (seventeenth pass); "Consider
# CTA" is a suggestion, listed as before.
_WEIGHED = re.compile(r"^\s*considered\b" + _THEN_DONE, re.IGNORECASE)


# "Considered and started doxycycline": the splitter leaves "Considered" alone before the
# clause that does it; it is a word of that order, neither negated nor not understood
# (nineteenth pass; the eighteenth pass read the order right and listed the word as negated)
_LONE_WEIGHED = re.compile(r"\s*(?:considered|weighed|discussed)\s*", re.IGNORECASE)
_DONE_NEXT = re.compile(r",?" + _THEN_DONE.replace("(?!", "(?=", 1), re.IGNORECASE)


def weighed_then_done(clause: str, rest: str) -> bool:
    """True when ``clause`` is only "Considered" and the rest of its sentence does it."""
    return _LONE_WEIGHED.fullmatch(clause) is not None and _DONE_NEXT.match(rest) is not None


def asked_and_declined(clause: str) -> bool:
    """True when the clause tells what the patient asked about and says no to it, or what
    was weighed and set aside ("Considered CTA chest")."""
    return _ASKED_NO.search(clause) is not None or _WEIGHED.search(clause) is not None


def declined_after(clause: str) -> bool:
    """True when the clause ends by declining what it names ("X not needed")."""
    return _DECLINED_AFTER.search(clause) is not None


def referral_context(text: str) -> bool:
    """REFERRAL_CONTEXT, but an "OPD" that is where a review happens refers nobody."""
    spans = [m.span() for m in _REVIEW_IN_OPD.finditer(text)]
    return any(
        not any(s <= m.start() < e for s, e in spans) for m in REFERRAL_CONTEXT.finditer(text)
    )


# "... instead of amoxicillin": the drug the new one replaces.
_REPLACED = re.compile(
    r"\b(?:instead\s+of|in\s+place\s+of|rather\s+than)\s+(?:the\s+|tab\.?\s+|cap\.?\s+)?$",
    re.IGNORECASE,
)
# "Stop aspirin (now on apixaban)": an aside on what the patient takes now.
_ASIDE = re.compile(
    r"\(\s*(?:(?:now|already|currently|still)\s+)?on\s+(?:tab\.?\s+|cap\.?\s+|inj\.?\s+)?$"
    # "(note finasteride halves PSA)": a note to the reader names no order (eleventh pass)
    r"|\(\s*(?:note|nb|n\.b\.)\b[^()]*$",
    re.IGNORECASE,
)


# "add ezetimibe on top of the rosuvastatin", "Finasteride 5 mg daily added to tamsulosin",
# "Start insulin despite metformin", "K 3.1 on furosemide, start KCl", "while on
# atorvastatin": the drug the patient is already on, named as the background of an order
# or a result (eleventh pass).
_CONTEXT = re.compile(
    # "Add Jardiance 10 mg daily to metformin": what it is added to (twentieth pass)
    r"(?:\badd\s+(?:(?!\b(?:switch|change|convert|and|then|stop)\b)[^;])+?\sto"
    # "30 minutes before the IV iron infusion": the drug the timing is told by
    r"|\b(?:before|after|prior\s+to|ahead\s+of)\s+(?:the|each|every)(?:\s+(?:iv|im|sc|oral"
    r"|first|next|planned))?"
    # "after 36-hour washout from lisinopril": the drug cleared before the start (twenty-
    # first pass)
    r"|\bwash[-\s]?out\s+(?:period\s+)?(?:from|of|off)(?:\s+(?:the|his|her|their))?"
    r"|\bdespite|\bon\s+top\s+of|\badded\s+to|\bin\s+addition\s+to|\bwhile\s+(?:on|taking)"
    # "because of the interaction with clopidogrel" (fourteenth pass): the drug it would
    # interact with is the reason, not an order
    r"|\binteract(?:ions?|s)?\s+with|\bcontraindicated\s+with"
    # "Discussed the risks of warfarin", "Discussed statin for primary prevention",
    # "Information leaflet on metformin given": the topic of a talk or a leaflet
    r"|\bdiscuss(?:ed|ion\s+(?:of|about|regarding|re))\s+(?:(?:the|his|her|their)\s+)?"
    r"|\b(?:risks?|benefits?|side[-\s]effects?|pros\s+and\s+cons)\s+(?:(?:and|&)\s+(?:risks?"
    r"|benefits?|side[-\s]effects?)\s+)?of"
    r"|\b(?:leaflet|information|education|booklet)\s+(?:on|about|regarding|re|for)"
    r"|\badvi[sc]ed?\s+(?:regarding|about|re)"  # "Advised regarding paracetamol dosing"
    r"|\b(?:adheren(?:ce|t)|complian(?:ce|t))\s+(?:to|with)"
    r"|(?:\d(?:\.\d+)?\s*%?|\bgoal|\btarget|\bcontrolled|\bstable)\s+on)"
    r"\s+(?:(?:the|his|her|their|current|usual|tab\.?|cap\.?)\s+)*$",
    re.IGNORECASE,
)


def replaced(clause: str, name_start: int) -> int | None:
    """Where "instead of" starts when the drug at ``name_start`` is the one replaced."""
    m = _REPLACED.search(clause, 0, name_start)
    return m.start() if m else None


def aside(clause: str, name_start: int) -> int | None:
    """Where the bracket starts when the drug at ``name_start`` is named in "(now on X)"."""
    m = _ASIDE.search(clause, 0, name_start) or _CONTEXT.search(clause, 0, name_start)
    return m.start() if m else None


# "not scheduling today", "but this is not needed at present": a decline of what was just
# planned, naming nothing of its own.
_FOR_NOW = re.compile(
    r"\s*(?:but\s+)?(?:(?:this|that|it)\s+(?:is\s+)?)?not\s+(?:\w+ing|needed|required|indicated"
    r"|necessary)?\s*(?:(?:it|this|that|them|one)\s*)?"
    r"(?:now|today|yet|at\s+present|for\s+now|currently|at\s+this\s+(?:time|stage))?\s*[.;]?\s*",
    re.IGNORECASE,
)


def declines_for_now(clause: str) -> bool:
    """True when ``clause`` only declines, for now, what the clause before it planned."""
    return _FOR_NOW.fullmatch(clause) is not None


# "Advised CAG, patient and relatives not willing at present", "Offered referral to weight
# management and a sleep study; patient declined both", "Discussed risks and benefits of
# colonoscopy; patient wishes to think it over": the patient turns down what the clause
# before proposed (eleventh pass).
_REFUSES = re.compile(
    r"\s*(?:[-\u2013]\s*)?(?:but\s+)?(?:the\s+)?(?:patient|pt|he|she|they|family|relatives|parents?"
    r"|mother|father|(?:patient|pt)\s+and\s+(?:relatives|family)"
    # "patient attenders not willing": the relatives with the patient (Indian English;
    # eighteenth pass)
    r"|(?:(?:patient|pt)(?:'s)?\s+)?(?:attenders|attendants|relatives|family))"
    r"\s+(?:is\s+|are\s+|was\s+"
    r"|were\s+)?(?:not\s+(?:willing|keen|agreeable)|unwilling|refused|refuses|declined|declines"
    r"|(?:wishes|wants|would\s+like)\s+to\s+think|will\s+think|(?:does|did)\s+not\s+want"
    r"|doesn'?t\s+want)\b",
    re.IGNORECASE,
)


# "Was offered physiotherapy but declined", "Flu vaccine offered, declined" (fourteenth
# pass): the refusal with no subject, in a clause of its own
_BUT_DECLINED = re.compile(
    r"\s*(?:[-\u2013]\s*)?(?:but\s+)?(?:has\s+|had\s+)?(?:declined|refused)\b", re.IGNORECASE
)


# Words a refusal of what came before may go on with; any other word names a thing of its
# own ("Pt declined Pap today": the Pap, not the mammogram before it).
_REFUSAL_WORDS = frozenset(
    ["it", "this", "that", "them", "both", "all", "of", "at", "present", "time", "for", "now",
     "today", "currently", "the", "offer", "and", "will", "call", "back", "think", "about",
     "over", "to", "discuss", "with", "family", "further", "consider", "decide", "later",
     "stage", "moment", "yet"]
)  # fmt: skip


def refuses(clause: str) -> bool:
    """True when ``clause`` opens with the patient turning down what was proposed, and
    names nothing else."""
    m = _REFUSES.match(clause) or _BUT_DECLINED.match(clause)
    if m is None:
        return False
    return all(w.lower() in _REFUSAL_WORDS for w in re.findall(r"[A-Za-z]+", clause[m.end() :]))


# "Naproxen - avoid", "CT KUB advised - pt refused due to cost", "Due for colonoscopy - pt
# declines", "Discussed sertraline 50 mg OD - patient declined" (seventeenth pass): the
# dash closes the clause with a decline of what it names, only a reason after it. A dose
# written before it does not make it an order ("... - avoid if eGFR < 30" is a condition,
# and "- avoid alcohol" names a thing of its own: neither matches).
_DECLINED_AFTER_DASH = re.compile(
    r"\s[-\u2013]\s*(?:(?:the\s+)?(?:pt|patient|he|she|they|family|parents?)\s+(?:has\s+|had\s+)?)?"
    r"(?:avoid|to\s+avoid|declines|declined|refuses|refused|not\s+keen"
    r"|(?:does|did)\s+not\s+want|doesn'?t\s+want)(?:\s+(?:it|this|that|them|both))?"
    r"(?:" + _REASON_AFTER + r")?\s*[.;]?\s*$",
    re.IGNORECASE,
)


def declined_after_dash(clause: str) -> bool:
    """True when a dash closes ``clause`` with a decline of what it names ("X - avoid")."""
    return _DECLINED_AFTER_DASH.search(clause) is not None
