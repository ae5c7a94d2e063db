"""Contextual biasing: which words to ask Whisper to favour for this recording.

Whisper's ``hotwords`` go in front of every 30 s window, but only ~220 tokens fit, while the
drug lexicon has several hundred names. So biasing is done per recording, in two passes:

1. decode with the static vocabulary (units and the tenant's own list);
2. find the drug slots in that first transcript (words before a dose, after "start",
   "allergic to"...), rank lexicon names by how they sound against each slot
   (:func:`carepipe.engines.nlp.sounds_like.best_in_slot`), and decode again with the best
   few candidates per slot, plus every drug already heard exactly, as hotwords.

The second pass re-hears a garbled name ("tick culture seen") with the likely names in
mind; a candidate that was wrong does no harm unless the audio supports it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from carepipe.engines.nlp.sounds_like import best_in_slot, drug_slots

#: Words that help on every consultation (units and routes Whisper otherwise mangles).
STATIC_VOCABULARY: tuple[str, ...] = (
    "milligrams",
    "micrograms",
    "nebulised",
    "intravenously",
    "saturation",
    "HbA1c",
    "TSH",
)
#: Candidates below this similarity (0..100) are not worth a hotword slot.
MIN_CANDIDATE_SCORE = 58.0
#: Candidates kept per drug slot, and overall.
PER_SLOT = 3
MAX_CANDIDATES = 40


def candidate_vocabulary(text: str, *, per_slot: int = PER_SLOT) -> list[str]:
    """Drug names worth favouring when ``text`` (a first-pass transcript) is decoded again.

    Exact lexicon hits come first (keep what was heard right), then the best-sounding
    candidates of each slot in order of similarity.
    """
    exact: list[str] = []
    scored: list[tuple[float, str]] = []
    for slot in drug_slots(text):
        for c in best_in_slot(text, slot, limit=per_slot):
            if c.score >= 99.5:
                exact.append(c.name)
            elif c.score >= MIN_CANDIDATE_SCORE:
                scored.append((c.score, c.name))
    scored.sort(key=lambda x: -x[0])
    out: list[str] = []
    for name in [*exact, *(n for _, n in scored)]:
        if name not in out:
            out.append(name)
        if len(out) >= MAX_CANDIDATES:
            break
    return out


def merge_vocabulary(*lists: Sequence[str]) -> list[str]:
    """Lists joined in order of priority, without repeats (case-insensitive)."""
    out: list[str] = []
    seen: set[str] = set()
    for words in lists:
        for w in words:
            key = w.strip().lower()
            if key and key not in seen:
                seen.add(key)
                out.append(w.strip())
    return out


def sounded_only(candidates: Sequence[str], first_pass: str) -> list[str]:
    """The ``candidates`` that ``first_pass`` does not hold as words of their own.

    Those were offered to the second pass only for how a slot sounded: where it writes one,
    the name is the decoder's choice among sound-alikes. A whole-word match, so a short name
    inside a longer word ("iron" in "environment") still counts as sounded, not heard.
    """
    heard = first_pass.lower()
    return [n for n in candidates if not re.search(rf"(?<!\w){re.escape(n.lower())}(?!\w)", heard)]
