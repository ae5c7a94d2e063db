"""Deterministic orders engine: clauses, verbs, lexicons, abbreviations, spoken numbers.

How one text is read:

1. Spoken numbers become digits ("forty milligrams" -> "40 milligrams"); dotted
   abbreviations are collapsed ("b.i.d." -> "bid"). Offsets map back to the original.
2. The text is cut into clauses (``clauses.split_clauses``).
3. A clause with a negation cue ("no need for", "avoid", "declines") is recorded in
   ``negated`` and orders nothing.
4. Otherwise medications (with the action of the nearest verb before them: start, stop,
   change, continue), services (lab/imaging/procedure lexicon; referrals only after
   "refer"/"consult"), and follow-ups ("follow up/review/return ... in 3 months") are read.
   Words after a reason cue ("due to low eGFR") are not read as orders.
5. A clause that gave nothing goes to ``not_understood``.
"""

from __future__ import annotations

import hashlib
import re

from carepipe.engines.nlp.numbers import NormalizedText, normalize_numbers
from carepipe.engines.orders import lexicon, meds
from carepipe.engines.orders.clauses import (
    Clause,
    collapse_dotted_abbreviations,
    split_clauses,
)
from carepipe.engines.orders.models import (
    Action,
    FollowUp,
    MedicationOrder,
    OrderSet,
    ServiceOrder,
    Span,
)

ENGINE_NAME = "rules"
_RULES_VERSION = "1.0.0"

_WORD = re.compile(r"[a-z][a-z/-]*", re.I)
_HAS_LETTER = re.compile(r"[A-Za-z]")
_SWITCH = re.compile(r"\b(?:switch|swap|convert|change|replace)\w*\b.*?\bfrom\b", re.I)


def _model_version() -> str:
    """Rules version plus a digest of the lexicons and the medication source."""
    h = hashlib.sha256()
    for entry in lexicon.SERVICES:
        h.update(repr(entry).encode())
    h.update(meds.source().encode())
    if meds.source() == "nlp":
        # The shared NLP's lexicons change what this engine reads: part of the version.
        from carepipe.engines.nlp.lexicon import lexicon_digest

        h.update(lexicon_digest().encode())
    return f"{_RULES_VERSION}+{meds.source()}.{h.hexdigest()[:12]}"


class RulesOrdersEngine:
    """The default orders engine: no model, same output for the same text."""

    name = ENGINE_NAME

    def __init__(self) -> None:
        self.model_version = _model_version()

    def extract(self, text: str) -> OrderSet:
        """Read the orders in ``text``."""
        norm = normalize_numbers(text)
        work = collapse_dotted_abbreviations(norm.text)
        result = OrderSet(engine=self.name, model_version=self.model_version)
        inherited: dict[int, Action] = {}
        for clause in split_clauses(work):
            self._read_clause(clause, work, norm, result, inherited)
        return result

    # --- one clause -------------------------------------------------------------------

    def _read_clause(
        self,
        clause: Clause,
        work: str,
        norm: NormalizedText,
        out: OrderSet,
        inherited: dict[int, Action],
    ) -> None:
        original = _original_text(norm, clause.start, clause.end)
        if not _HAS_LETTER.search(original):
            return  # bare numbers or symbols as sent: nothing to read or report
        verb_action = _first_verb_action(clause.text)
        if verb_action is not None:
            inherited[clause.sentence] = verb_action
        found = OrderSet(engine=out.engine, model_version=out.model_version)
        med_spans, declined = self._medications(
            clause, norm, found, inherited.get(clause.sentence), verb_action is not None
        )
        self._services(clause, norm, found, med_spans)
        self._follow_ups(clause, norm, found)

        # A negation cue before the first order negates the clause ("no need for a CXR");
        # one after it qualifies the order instead ("follow up in 3 months if no better").
        neg = lexicon.NEGATION.search(clause.text)
        if neg is not None:
            first = min(
                (i.span.start for i in _items(found) if i.span is not None),
                default=None,
            )
            cue = clause.start + neg.start()
            if first is None or norm.to_original(cue, cue)[0] < first:
                out.negated.append(original)
                return
        if found.order_count == 0:
            (out.negated if declined else out.not_understood).append(original)
            return
        out.medications.extend(found.medications)
        out.services.extend(found.services)
        out.follow_ups.extend(found.follow_ups)

    def _medications(
        self,
        clause: Clause,
        norm: NormalizedText,
        out: OrderSet,
        inherited: Action | None,
        has_verb: bool,
    ) -> tuple[list[tuple[int, int]], bool]:
        """Add the clause's medication orders; return their spans and whether any
        mention was skipped as negated ("not on aspirin")."""
        found = []
        declined = False
        for m in meds.find_meds(clause.text):
            if m.assertion in ("negated", "family") or (
                m.assertion == "historical" and not has_verb
            ):
                declined = declined or m.assertion == "negated"
                continue
            found.append(m)
        spans: list[tuple[int, int]] = []
        switching = len(found) >= 2 and _SWITCH.search(clause.text) is not None
        for i, m in enumerate(found):
            action: Action = (
                _verb_action_before(clause.text, m.start)
                or inherited
                or _as_action(m.action_hint)
                or "start"
            )
            if switching:
                action = "stop" if i == 0 else "start"
            conf = m.confidence
            if m.dose is None and action in ("start", "change"):
                conf = min(conf, 0.6)  # a start without a dose needs a human look
            elif m.dose is not None and m.timing is not None:
                conf = max(conf, 0.9)
            s, e = norm.to_original(clause.start + m.start, clause.start + m.end)
            out.medications.append(
                MedicationOrder(
                    name=m.name,
                    dose=m.dose,
                    dose_unit=m.dose_unit,
                    route=m.route,
                    timing=m.timing,
                    as_needed=m.as_needed,
                    as_needed_for=m.as_needed_for,
                    duration=m.duration,
                    action=action,
                    text=norm.original[s:e],
                    span=Span(start=s, end=e),
                    confidence=round(conf, 3),
                )
            )
            spans.append((m.start, m.end))
        return spans, declined

    def _services(
        self,
        clause: Clause,
        norm: NormalizedText,
        out: OrderSet,
        med_spans: list[tuple[int, int]],
    ) -> None:
        text = clause.text
        reason = lexicon.REASON.search(text)
        limit = reason.start() if reason else len(text)
        referral_ctx = lexicon.REFERRAL_CONTEXT.search(text) is not None
        order_ctx = referral_ctx or lexicon.ORDER_VERBS.search(text) is not None
        hits: list[tuple[int, int, lexicon.ServiceEntry, bool]] = []
        for cs in lexicon.compiled_services():
            if cs.entry.category == "referral" and not referral_ctx:
                continue
            for m in cs.pattern.finditer(text, 0, limit):
                hits.append((m.start(), m.end(), cs.entry, False))
            if cs.ambiguous is not None and order_ctx:
                for m in cs.ambiguous.finditer(text, 0, limit):
                    hits.append((m.start(), m.end(), cs.entry, True))
        # Longest match first; a span already taken (or inside a medication) is skipped.
        hits.sort(key=lambda h: (-(h[1] - h[0]), h[0]))
        taken: list[tuple[int, int]] = list(med_spans)
        chosen: list[tuple[int, int, lexicon.ServiceEntry, bool]] = []
        for h in hits:
            if any(h[0] < e and s < h[1] for s, e in taken):
                continue
            if any(c[2] is h[2] for c in chosen):
                continue
            taken.append((h[0], h[1]))
            chosen.append(h)
        for start, end, entry, ambiguous in sorted(chosen, key=lambda h: h[0]):
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

    def _follow_ups(self, clause: Clause, norm: NormalizedText, out: OrderSet) -> None:
        for m in lexicon.FOLLOW_UP.finditer(clause.text):
            raw = m.group("value").lower()
            value = 1.0 if raw in ("a", "an") else float(raw)
            unit = lexicon.TIME_UNITS[m.group("unit").lower()]
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


def _items(orders: OrderSet) -> list[MedicationOrder | ServiceOrder | FollowUp]:
    return [*orders.medications, *orders.services, *orders.follow_ups]


def _original_text(norm: NormalizedText, start: int, end: int) -> str:
    s, e = norm.to_original(start, end)
    return norm.original[s:e].strip()


def _verb_of(word: str) -> Action | None:
    return lexicon.VERBS.get(word.lower())  # type: ignore[return-value]


def _as_action(word: str | None) -> Action | None:
    if word in ("start", "stop", "continue", "change"):
        return word  # type: ignore[return-value]
    return None


def _first_verb_action(text: str) -> Action | None:
    for m in _WORD.finditer(text):
        action = _verb_of(m.group(0))
        if action is not None:
            return action
    return None


def _verb_action_before(text: str, pos: int) -> Action | None:
    """The action of the last verb before ``pos`` in the clause."""
    action: Action | None = None
    for m in _WORD.finditer(text, 0, pos):
        got = _verb_of(m.group(0))
        if got is not None:
            action = got
    return action
