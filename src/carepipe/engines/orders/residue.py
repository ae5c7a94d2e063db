"""Words of a clause that no order accounts for: reported, never dropped.

A clause that produced an order may still hold something the engine did not read:
"CBC, LFT and sputum xyz" orders two tests and would silently lose "sputum xyz".
``leftovers`` returns the runs of such words. Words every order is written with
(verbs, units, dose forms, frequencies, "with", "reports", "both") do not count, and
neither does what follows a qualifier ("for knee pain", "if not better", "before
surgery"): those qualify an order rather than make one.
"""

from __future__ import annotations

import re

from carepipe.engines.orders import lexicon

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\u2019]*|\d+(?:[.,]\d+)?")
# After these, the rest of the clause qualifies the order: reason, condition, timing.
_QUALIFIER = re.compile(
    r"\b(?:if|unless|when|whenever|while|until|till|for|due\s+to|because|since|"
    r"r/o|rule\s+out|to\s+rule|in\s+view\s+of|prior\s+to|before|after|except|as\s+per|"
    r"per|regarding|re:|re\s*-|w\.?r\.?t\.?|on\s+the\s+day|in\s+case|to\s+check|to\s+see|"
    r"to\s+look|(?<=[-\u2013] )no\s+change)(?:\b|(?<=[:-]))",
    re.IGNORECASE,
)

_FILLER_WORDS = """
a an the of to in on at by as with and or also plus then than please pls kindly
rx adv advice advised plan labs lab investigations inv tests test workup work up
pt pts patient patients same meds medication medications medicine medicines drug drugs
current home dose doses dosage loading view views both left right bilateral
sample samples report reports result results sessions session levels level serum
s done again once twice thrice every each daily weekly monthly nightly
food meal meals breakfast lunch dinner supper water glass full empty stomach
it its them this that these those her his him she he they we you your i me my us our
will would should shall can could may might must need needs let lets like want
so ok okay up down back off over hour hours hr hrs h day days d week weeks wk wks w
month months mo mos year years yr yrs sos prn stat now today tonight tomorrow morning
evening night noon am pm tab tabs tablet tablets cap caps capsule capsules inj
injection injections syp syr syrup susp suspension t c drops drop eye eyes ear ears
nostril nostrils apply spray sprays puff puffs inhaler mdi nebs neb nebulise nebulize
sachet sachets packet packets respule respules sr er xl cr mr retard forte ds od bd bid
tds tid qid
qds hs qhs bbf ac pc po iv im sc sl subq sq wound skin area affected thin layer
locally local take taking given give orally oral mouth route x mg mcg g gm ml iu
units unit u meq mmol kg more less extra half quarter alternate other next first
last initial repeat repeated recheck check checking get send do draw arrange
schedule book order ordered orders request requested perform start started
starting continue continued stop stopped hold held withhold change increase reduce
decrease new same usual routine urgent urgently asap stat fasting random total
lot few some all any every whole complete just only still already yet very well
procedure surgery operation scan contrast discharge admission admit opd ipd clinic
visit visits review reviewed follow followup f u fu come see return sooner earlier
refer referred referral referrals consult consults consultation opinion eval evaluation
from ap lat pa plain post pre going lifelong life long term nebulisation nebulization
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs
fri sat sun weekdays weekends alternate
min mins minute minutes over slow slowly infusion rotacap rotacaps rotahaler amp amps
ampoule ampoules vial vials tsf tsp teaspoon teaspoons tbsp
cream creams ointment ointments gel gels lotion lotions non sent instead evaluate
takes carry throughout unchanged
switch switched swap swapped convert converted
opa baseline therapeutic diagnostic overdue apart human
midday lunchtime waking rising
"""
FILLER = frozenset(_FILLER_WORDS.split()) | frozenset(lexicon.VERBS)


def _is_content(word: str) -> bool:
    low = word.lower().strip("'\u2019")
    return len(low) >= 2 and low.isalpha() and low not in FILLER


def leftovers(text: str, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of ``text`` with content words outside ``covered`` and before a qualifier."""
    qualifier = _QUALIFIER.search(text)
    limit = qualifier.start() if qualifier else len(text)
    out: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for m in _TOKEN.finditer(text, 0, limit):
        inside = any(s <= m.start() and m.end() <= e for s, e in covered) or any(
            m.start() < e and s < m.end() for s, e in covered
        )
        if inside:
            if run is not None:
                out.append(run)
                run = None
            continue
        if _is_content(m.group(0)):
            run = (run[0], m.end()) if run is not None else (m.start(), m.end())
    if run is not None:
        out.append(run)
    return out
