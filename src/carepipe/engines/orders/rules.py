"""Deterministic orders engine: clauses, verbs, lexicons, abbreviations, spoken numbers.

How one text is read:

1. Spoken numbers become digits ("forty milligrams" -> "40 milligrams"); dotted
   abbreviations are collapsed ("b.i.d." -> "bid"). Offsets map back to the original.
2. The text is cut into clauses (``clauses.split_clauses``).
3. A clause with a negation cue ("no need for", "avoid", "declines") is recorded in
   ``negated`` and orders nothing.
4. Otherwise medications (with the action of the nearest verb before them: start, stop,
   hold, change, continue), services (lab/imaging/procedure lexicon; referrals only after
   "refer"/"consult"), and follow-ups ("follow up/review/return ... in 3 months", "f/u
   1 month", "review 3/12") are read. Words after a reason cue ("due to low eGFR") are
   not read as orders. "hold X if SBP < 100" is a condition, not a hold.
5. A clause with no drug that goes on with the previous one ("..., then 75 mg OD",
   "..., then taper by 5 mg every week", "..., increase to 100 mg after 2 weeks") adds
   dose steps to that medication.
6. A clause that gave nothing goes to ``not_understood``; so do the words of a clause
   that gave something but that no order accounts for ("CBC and sputum xyz": "sputum
   xyz"). Nothing written is dropped silently.
"""

from __future__ import annotations

import hashlib
import itertools
import re

from carepipe.engines.nlp.numbers import NormalizedText, normalize_numbers
from carepipe.engines.orders import (
    change_to,
    continued,
    drugs,
    grammar,
    history,
    lexicon,
    meds,
    negated_list,
    not_orders,
    residue,
    results,
    services_read,
    shared_schedule,
    stopped,
    told,
    trailing,
    verbs,
    withdrawn,
)
from carepipe.engines.orders.clauses import (
    Clause,
    collapse_dotted_abbreviations,
    join_sig_lines,
    split_clauses,
)
from carepipe.engines.orders.models import (
    Action,
    DoseStep,
    FollowUp,
    MedicationOrder,
    OrderSet,
    ServiceOrder,
    Span,
)
from carepipe.engines.orders.read_state import ReadState
from carepipe.engines.orders.rxnorm import RXNORM_SYSTEM, VERIFIED, rxnorm_for
from carepipe.engines.orders.sig import continue_steps

ENGINE_NAME = "rules"
# 2.1: grammar.py (history, verb after the dose, except, switch); 2.2: trailing.py (a count
# and schedule after a comma) and the fifth pass's rules; 2.3: results.py (a result is not an
# order) and the sixth pass's rules; 2.4: history.py; 2.5: not_orders.py; 2.6: the ninth
# pass (verbs.py, shared_schedule.py split out; results, declines, asides); 2.7: the tenth
# pass (dose_before.py; history, results, plans, headings, ranges); 2.8: the eleventh pass
# (services_read.py and read_state.py split out; context drugs, refusals, shared heads,
# doses at several times of day, changes after the sig); 2.9: the twelfth pass (questions,
# options and what the patient asks about, "is on" histories, a change after a told drug,
# shared verdicts, drug levels, clock times); 2.10: the thirteenth pass (counts after a
# comma, "up to N times", count ranges, held drugs, histories, topics); 2.11: the fourteenth
# pass (continued.py; letters, effects, talks, awaited and enclosed studies, falling
# strength pairs, biologics); 2.12: the fifteenth pass (doses told against another one,
# payer requests, past trials, findings after a dash, arrows, worked-out totals); 2.13: the
# sixteenth pass (spoken hundreds, conditions on a test's value, dated values, "no change");
# 2.14: the seventeenth (stopped.py, change_to.py; dash declines, dose-less stops); 2.15: the
# eighteenth (levels told, ages, bracketed verdicts, mg/m2, two meals); 2.16: tablets written
# after a slash strength are the dose (docs/orders.md); 2.17: the nineteenth (negated_list.py,
# withdrawn.py; arrows, histories after an age, reflex tests, targets, dipstick pads); 2.18:
# the twentieth; 2.19: the twenty-first (brands_later.py; refusals, regimens, worked doses)
_RULES_VERSION = "2.19.0"

_HAS_LETTER = re.compile(r"[A-Za-z]")
_SWITCH = re.compile(r"\b(?:switch|swap|convert|change|replace)\w*\b.*?\bfrom\b", re.I)


def _model_version() -> str:
    """Rules version plus a digest of the lexicons and the medication source."""
    h = hashlib.sha256()
    for entry in lexicon.SERVICES:
        h.update(repr(entry).encode())
    h.update(meds.source().encode())
    h.update(drugs.digest_source().encode())
    h.update(repr(sorted(VERIFIED.items())).encode())
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
        work = join_sig_lines(collapse_dotted_abbreviations(norm.text))
        result = OrderSet(engine=self.name, model_version=self.model_version)
        state = ReadState()
        clauses = split_clauses(work)
        bounds: dict[int, tuple[int, int]] = {}
        for c in clauses:
            lo, hi = bounds.get(c.sentence, (c.start, c.end))
            bounds[c.sentence] = (min(lo, c.start), max(hi, c.end))
        state.test_sentences = {
            sent for sent, (lo, hi) in bounds.items() if lexicon.names_a_test(work[lo:hi])
        }
        state.sentence_rest = {c.start: work[c.end : bounds[c.sentence][1]] for c in clauses}
        state.history_sentences = history.history_sentences(
            {sent: work[lo:hi] for sent, (lo, hi) in bounds.items()}
        )
        state.result_sentences = (
            {  # "Hb 11.2, FBS 98. All normal.": results, not orders
                sent - 1
                for sent, (lo, hi) in bounds.items()
                if results.judges_the_sentence_before(work[lo:hi])
            }
            | {
                sent
                for sent, (lo, hi) in bounds.items()
                if results.judges_its_own_tests(work[lo:hi])
            }
        )
        for clause in clauses:
            self._read_clause(clause, norm, result, state)
        result.follow_ups = services_read.one_visit_per_interval(result.follow_ups)
        result.medications = told.one_route_switch(norm.original, result.medications)
        result.medications = continued.ordered_before(result.medications)
        stopped.without_dose(result.medications)
        return result

    # --- one clause -------------------------------------------------------------------

    def _read_clause(
        self,
        clause: Clause,
        norm: NormalizedText,
        out: OrderSet,
        state: ReadState,
    ) -> None:
        original = _original_text(norm, clause.start, clause.end)
        state.seen += 1
        if not _HAS_LETTER.search(original):
            return  # bare numbers or symbols as sent: nothing to read or report
        if not_orders.weighed_then_done(clause.text, state.sentence_rest.get(clause.start, "")):
            return  # "Considered and started doxycycline": the start says it all
        if negated_list.goes_on(clause, state):
            out.negated.append(original)  # "Avoid NSAIDs, aspirin or ..." (nineteenth pass)
            return
        verb_action = verbs.first_action(clause.text)
        # Earlier clauses of the sentence lend their verb ("Start X, Y and Z").
        earlier = state.earlier = state.inherited.get(clause.sentence)
        # "x 21 days then stop, Tab Atorva 40 HS": the stop is lent to no later clause
        if (
            verb_action is not None
            and not _FINISHES.fullmatch(clause.text.strip())
            and not (verb_action == "change" and _qualifies_dosed(clause.text))
        ):
            state.inherited[clause.sentence] = verb_action
        # A sentence that opens with history ("Known case of DM on insulin", "s/p PCI
        # 2019") tells what the patient has or had: without an order verb it orders
        # nothing, and is listed so that a reader still sees it.
        if (
            clause.sentence in state.history_sentences
            and not history.verb_after_opening(clause.text)
            and earlier is None
            and not grammar.FOLLOW_UP_WORD.search(history.after_opening(clause.text))
        ):
            state.last_med = None
            out.not_understood.append(original)
            return
        found = OrderSet(engine=out.engine, model_version=out.model_version)
        covered, declined = self._medications(clause, norm, found, earlier, verb_action is not None)
        stopped_here = found.medications and stopped.NO_FURTHER.search(clause.text)
        for m in found.medications if stopped_here else []:
            # "Gentamicin single dose given in ED - no further doses": the course ends here
            # (eleventh pass), told or not
            m.action, m.dose, m.dose_unit, m.timing = "stop", None, None, None
        if not_orders.defers(clause.text) or (
            not stopped_here
            and earlier is None
            and history.tells_the_past(
                clause.text, found.medications, state.sentence_rest.get(clause.start, "")
            )
        ):
            state.last_med = None  # "She was on metformin earlier", "will consider": listed
            if len(found.medications) == 1:
                state.told = (state.seen, found.medications[0])
            asked_no = not_orders.asked_and_declined(clause.text)
            (out.negated if asked_no else out.not_understood).append(original)
            if not_orders.defers(clause.text):
                # "we may switch to sertraline at review in 4 weeks": the review is booked
                services_read.read_follow_ups(clause, norm, found)
                out.follow_ups.extend(found.follow_ups)
                state.deferred = (state.seen, original)
            return
        if not_orders.refuses(clause.text) and withdrawn.withdraw_refused(out, state):
            out.negated.append(original)
            return
        repeats_before = state.repeats
        covered += services_read.read_services(clause, norm, found, covered, state)
        covered += services_read.read_follow_ups(clause, norm, found)
        heading = grammar.HEADING.match(clause.text)
        if heading is not None:
            covered.append(heading.span("label"))
        repeated_only = found.order_count == 0 and state.repeats > repeats_before

        # A decline after what it names ("D-dimer not needed given Wells score", "vitamin K
        # not needed"); after a dose it qualifies the drug instead ("..., not needed if ...").
        if not_orders.declined_after(clause.text) and all(
            m.dose is None and m.timing is None for m in found.medications
        ):
            out.negated.append(original)
            withdrawn.decline_deferred(out, state, found, clause.text)
            return
        # A negation cue before the first order negates the clause ("no need for a CXR");
        # one after it qualifies the order instead ("follow up in 3 months if no better").
        # "hold off on the metformin" holds the drug: it is not a negation.
        neg = lexicon.NEGATION.search(clause.text)
        if neg is not None and not (found.medications and _HOLD_OFF.match(neg.group(0))):
            first = min(
                (i.span.start for i in _items(found) if i.span is not None),
                default=None,
            )
            cue = clause.start + neg.start()
            before = first is None or norm.to_original(cue, cue)[0] < first
            if before or not_orders.declined_after_dash(clause.text):
                out.negated.append(original)
                negated_list.opens(clause, state)
                withdrawn.decline_deferred(out, state, found, clause.text)
                return
        state.clause_no += 1
        if found.order_count == 0:
            if (
                repeated_only
                or continued.all_continue(clause.text, state)
                or self._continues(clause, norm, state)
                or _act_on_told(clause, out, state)
            ):
                return  # a test named again ("TLC, DLC": one CBC), or the drug goes on
            state.last_med = None
            (out.negated if declined else out.not_understood).append(original)
            return
        _stop_told_switched_from(clause, found, out, state)
        if verb_action is None and earlier is None:
            state.unverbed.extend(m for m in found.medications if m.action == "start")
        continued.continue_listed(clause.text, found, earlier)
        stopped.advised_to_stop(clause, norm, found.medications)
        change_to.switch_by_arrow(clause.text, found.medications)
        change_to.read_new_sig(clause.text, found.medications)
        out.medications.extend(found.medications)
        out.negated.extend(found.negated)  # "... instead of amoxicillin"
        state.proposed = (state.seen, original, found)
        if found.medications:
            same = state.sentence_meds.setdefault(clause.sentence, [])
            same.extend(found.medications)
            shared_schedule.share_schedule(clause.text, same)
            shared_schedule.share_joined(clause.text, found.medications)
            shared_schedule.share_as_needed(found.medications)
        out.services.extend(found.services)
        out.follow_ups.extend(found.follow_ups)
        state.last_med = (state.clause_no, found.medications[-1]) if found.medications else None
        for start, end in residue.leftovers(clause.text, covered):
            out.not_understood.append(
                _original_text(norm, clause.start + start, clause.start + end)
            )

    def _continues(self, clause: Clause, norm: NormalizedText, state: ReadState) -> bool:
        """Attach a drug-less clause to the medication before it, if it goes on with it.

        "..., then 75 mg OD", "..., then taper by 5 mg every week", "..., increase to
        100 mg after 2 weeks" add dose steps; "then stop" and "max 3 per day" finish it.
        """
        # Only right after the clause that ordered the drug (across a "." or ";" too).
        if state.last_med is None or state.last_med[0] != state.clause_no - 1:
            return False
        state.last_med = (state.clause_no, state.last_med[1])
        med = state.last_med[1]
        if _FINISHES.fullmatch(clause.text.strip()):
            return True
        if _CONTINUE_ONLY.fullmatch(clause.text):
            # "Pt on Tab Metformin 500 BD, continue": the drugs just named go on (eleventh
            # pass); a drug given its own verb keeps it
            for m in state.sentence_meds.get(clause.sentence, [med]):
                if m.action == "start" and state.earlier is None:
                    m.action = "continue"
            return True
        # A clause that is only a schedule (", twice weekly", ", both once daily after
        # lunch"), or a count and a schedule (", one four times a day", ", 2 puffs BD"),
        # finishes the drug before it, or with "all/each/both" every drug of the sentence.
        if continued.repeat_clause(clause.text, med):
            return True  # "apply at night, repeat after 1 week" (fourteenth pass)
        if _NOW_HELD.match(clause.text):
            # "apart from lisinopril and HCTZ, which are on hold for AKI" (thirteenth pass)
            for m in state.sentence_meds.get(clause.sentence, [med]):
                m.action = "hold"
            return True
        if not _CONTINUES.match(clause.text):
            to_all = shared_schedule.SHARED.match(clause.text.strip()) is not None
            targets = state.sentence_meds.get(clause.sentence, [med]) if to_all else [med]
            if trailing.finish_previous(clause.text, targets):
                return True
        if not _CONTINUES.match(clause.text):
            if _QUALIFIES.match(clause.text):
                _extend(med, clause, norm)  # "..., hold if not eating": in its dosage text
                return True
            return False
        first = (
            med.steps[0]
            if med.steps
            else DoseStep(
                dose=med.dose,
                dose_unit=med.dose_unit,
                timing=med.timing,
                duration=med.duration,
                text=med.text,
            )
        )
        last = med.steps[-1] if med.steps else first
        more = continue_steps(last, clause.text, med.dose_unit or drugs.default_unit(med.name))
        if more:
            med.steps = [*(med.steps or [first]), *more]
            med.duration = med.steps[0].duration
        # An adjustment we cannot lay out as steps ("titrate by 2 units every 3 days to
        # FBS < 130") still belongs to the drug: it goes into its dosage text.
        _extend(med, clause, norm)
        return True

    def _medications(
        self,
        clause: Clause,
        norm: NormalizedText,
        out: OrderSet,
        inherited: Action | None,
        has_verb: bool,
    ) -> tuple[list[tuple[int, int]], bool]:
        """Add the clause's medication orders; return the words they used (clause
        offsets) and whether any mention was skipped as negated ("not on aspirin")."""
        found = []
        declined = False
        aside_spans: list[tuple[int, int]] = []
        for m in meds.find_meds(clause.text):
            if m.assertion == "hypothetical" and verbs.CONDITIONAL_HOLD.search(clause.text):
                m.assertion = "present"  # "hold if SBP < 100" is not a hypothetical drug
            if m.assertion in ("negated", "family") or (
                m.assertion == "historical" and not has_verb
            ):
                if _HOLD_OFF.search(clause.text[: m.name_start]):
                    m.assertion = "present"  # "hold off on the metformin" holds it
                else:
                    declined = declined or m.assertion == "negated"
                    continue
            gone = not_orders.replaced(clause.text, m.name_start)
            if gone is not None:  # "clarithromycin ... instead of amoxicillin"
                declined = True
                out.negated.append(_original_text(norm, clause.start + gone, clause.start + m.end))
                aside_spans.append((gone, m.end))
                continue
            gone = not_orders.aside(clause.text, m.name_start)
            if gone is not None:  # "Stop aspirin (now on apixaban)"
                aside_spans.append((gone, m.end))
                continue
            if found and grammar.absorb_spelled_out(clause.text, found[-1], m):
                aside_spans.append((m.start, m.end))  # "Paxlovid (nirmatrelvir ...) BID"
                continue
            found.append(m)
        covered: list[tuple[int, int]] = list(aside_spans)
        route_change = grammar.route_switch(clause.text, found)
        if route_change:  # "Switch IV paracetamol to oral paracetamol 1 g QDS": one change
            verb = grammar.SWITCH_VERB.search(clause.text, 0, found[0].name_start)
            covered.append((verb.start() if verb else found[0].start, found[1].name_start))
            found = found[1:]
        switching = len(found) >= 2 and (
            _SWITCH.search(clause.text) is not None
            or (
                grammar.SWITCH_VERB.search(clause.text, 0, found[0].name_start) is not None
                and grammar.SWITCH_TO.fullmatch(clause.text, found[0].name_end, found[1].name_start)
                is not None
            )
            or grammar.switched_from_first(clause.text, found)
        )
        first_new = grammar.first_switched_to(clause.text, found) or 1
        switching = switching or first_new > 1  # "Narrow ceftriaxone/azithro to amoxicillin"
        for i, m in enumerate(found):
            action: Action = (
                grammar.switched_to(clause.text, m.name_start)
                or grammar.heading_action(clause.text)
                or verbs.action_before(clause.text, m.name_start)
                or verbs.right_after(clause.text, m.name_end)
                or grammar.verb_after_listed(found, i, clause.text)
                or inherited
                or verbs.hint(m.action_hint, clause.text[: m.name_start])
                or "start"
            )
            if switching:
                action = "stop" if i < first_new else "start"
            if route_change:
                action = "change"
            if action == "start" and grammar.STARTED.search(clause.text, 0, m.name_start):
                # "Started on X by the GP yesterday - continue" (tenth pass)
                action = (
                    grammar.verb_after_dose(
                        clause.text, m.name_end, grammar.next_start(found, i, clause.text)
                    )
                    or action
                )
            if (
                action == "start"
                and inherited is None
                and verbs.first_action(clause.text[: m.name_start]) is None
                and grammar.change_after_dose(
                    m, clause.text, grammar.next_start(found, i, clause.text)
                )
            ):
                action = "change"  # "210 mg TDS - change to OD" (eleventh pass)
            if action == "start" and grammar.taken_on_the_day(clause.text):
                action = "continue"  # "Take metoprolol morning of surgery" (eleventh pass)
            if action == "change" and _TAPER_COURSE.match(clause.text, m.name_end):
                action = "start"  # "Prednisone taper: 60 mg daily x 3 days, ..." (twelfth)
            if action == "change" and _TAPER_OFF.search(clause.text[: m.name_start]):
                action = "stop"  # "taper off clonazepam": the course ends
            # "hold all oral meds except levothyroxine": it goes on; "resume ... except X" holds
            action = grammar.action_excepted(action, clause.text[: m.name_start])
            if action == "change" and not m.steps:
                grammar.to_target(
                    m,
                    clause.text,
                    grammar.next_start(found, i, clause.text),
                    drugs.default_unit(m.name),
                )
            if action in ("stop", "hold") and (
                m.unit_assumed or grammar.bare_count_stopped(m, clause.text)
            ):
                # "Stop Telma 40", "Pause Tab Warf 5" (tenth pass): the product, nothing given
                m.dose = m.dose_unit = None
            conf = m.confidence
            if m.dose is None and action in ("start", "change"):
                conf = min(conf, 0.6)  # a start without a dose needs a human look
            elif m.dose is not None and m.timing is not None:
                conf = max(conf, 0.9)
            s, e = norm.to_original(clause.start + m.start, clause.start + m.end)
            code = rxnorm_for(m.name)
            out.medications.append(
                MedicationOrder(
                    name=m.name,
                    dose=m.dose,
                    dose_unit=m.dose_unit,
                    strength=m.strength,
                    strength_unit=m.strength_unit,
                    form_count=m.form_count,
                    route=m.route,
                    timing=m.timing,
                    as_needed=m.as_needed,
                    as_needed_for=m.as_needed_for,
                    duration=m.duration,
                    action=action,
                    steps=m.steps,
                    brand=m.brand,
                    code=code,
                    system=RXNORM_SYSTEM if code else None,
                    text=norm.original[s:e],
                    span=Span(start=s, end=e),
                    confidence=round(min(max(conf, 0.0), 1.0), 3),
                )
            )
            covered.append((m.start, m.end))
            covered.append((m.name_start, m.name_end))
            covered.extend(m.consumed)
        if switching:
            sw = _SWITCH.search(clause.text) or grammar.SWITCH_VERB.search(clause.text)
            if sw is not None:
                covered.append(sw.span())
            pairs = itertools.pairwise(found[: first_new + 1])  # "... / ... to" (21st pass)
            covered.extend((a.name_end, b.name_start) for a, b in pairs)
        return covered, declined


# "then stop", "and stop", "max 3 per day": the end of the previous drug's instruction.
_FINISHES = re.compile(
    r"(?:(?:and\s+|then\s+)*(?:stop|discontinue|off)(?:\s+(?:after\s+that|thereafter))?|"
    r"(?:max(?:imum)?|not\s+more\s+than|up\s*to)\b.*)",
    re.IGNORECASE,
)
# A clause that only says to go on ("..., continue", "- continue same", "cont."): the drugs
# of its sentence before it are continued.
_CONTINUE_ONLY = re.compile(
    r"\s*(?:[-\u2013]\s*)?(?:(?:to\s+)?(?:continue|cont\.?)(?:\s+(?:the\s+)?(?:same(?:\s+dose)?"
    r"|as\s+before|unchanged))?"
    # "..., next due 14th": a depot or course already under way
    r"|next\s+(?:dose\s+|injection\s+)?due\b[^,;]*)\s*[.;]?\s*",
    re.IGNORECASE,
)
_NOW_HELD = re.compile(
    r"\s*which\s+(?:is|are)\s+(?:now\s+|currently\s+)?(?:on\s+hold|held|withheld|paused)\b", re.I
)
# A drug-less clause that only sets a condition on the previous drug's order.
_QUALIFIES = re.compile(
    r"\s*(?:(?:hold|withhold|omit|skip)\s+(?:the\s+dose\s+)?(?:if|when)|if|unless|when"
    r"|(?:wash|rinse)\s+(?:it\s+)?off|leave\s+(?:it\s+)?on)\b",  # how to apply: 15th pass
    re.IGNORECASE,
)
# A drug-less clause that goes on with the previous drug's doses.
_CONTINUES = re.compile(
    r"\s*(?:then|followed\s+by|thereafter|after\s+that|and\s+then|"
    r"(?:then\s+)?(?:increas(?:e|ed|ing)|decrease|decreased|reduce|reduced|taper(?:ing)?|"
    r"titrate|up-?titrat(?:e|ing)|wean|step\s+(?:up|down)|go\s+up|bump|restart|resume)\b)",
    re.IGNORECASE,
)
# "Syp Looz 20 ml TDS - titrate to 2-3 stools": a change after a dash that follows the dose
# qualifies that drug; it is lent to no later clause (twentieth pass; "- continue same,
# 2 puffs BD" still lends its continue)
_QUALIFIES_DOSED = re.compile(r"[^-\u2013]*\d[^-\u2013]*\s[-\u2013]\s")


def _qualifies_dosed(text: str) -> bool:
    m = _QUALIFIES_DOSED.match(text)
    return (
        m is not None and verbs.first_action(text[: m.end()]) is None
    ) or grammar.titrated_to_goal(text)


_HOLD_OFF = re.compile(r"\bhold\s+off\b", re.IGNORECASE)
# "Prednisone taper: 60 mg ...": a tapering course laid out after a colon is a new course.
_TAPER_COURSE = re.compile(
    r"\s*(?:taper(?:ing)?|wean(?:ing)?)(?:\s+(?:course|regimen|schedule|plan|dose))?\s*:",
    re.IGNORECASE,
)
_TAPER_OFF = re.compile(r"\b(?:taper|wean)(?:ing)?\s+off\b", re.IGNORECASE)


def _extend(med: MedicationOrder, clause: Clause, norm: NormalizedText) -> None:
    """Stretch the order's text and span over a clause that belongs to it."""
    if med.span is None:
        return
    _s, e = norm.to_original(clause.start, clause.end)
    med.span = Span(start=med.span.start, end=max(e, med.span.end))
    med.text = norm.original[med.span.start : med.span.end]


def _act_on_told(clause: Clause, out: OrderSet, state: ReadState) -> bool:
    """Order what a drug-less clause does to the one drug told just before it (twelfth
    pass: "Started on ramipril 1.25 mg OD ... last month; increase to 2.5 mg OD now")."""
    if state.told is None or state.told[0] != state.seen - 1:
        return False
    med = told.act_on(state.told[1], clause.text)
    if med is not None:
        out.medications.append(med)
    return med is not None


def _stop_told_switched_from(
    clause: Clause, found: OrderSet, out: OrderSet, state: ReadState
) -> None:
    """Stop the drug told just before when this clause switches to another one (twelfth
    pass: "Metformin not tolerated, switch to sitagliptin 50 mg OD")."""
    if state.told is None or state.told[0] != state.seen - 1 or not found.medications:
        return
    stopped = told.stopped_by_switch(state.told[1], clause.text)
    if stopped is not None and stopped.name != found.medications[0].name:
        out.medications.append(stopped)


def _items(orders: OrderSet) -> list[MedicationOrder | ServiceOrder | FollowUp]:
    return [*orders.medications, *orders.services, *orders.follow_ups]


def _original_text(norm: NormalizedText, start: int, end: int) -> str:
    s, e = norm.to_original(start, end)
    return norm.original[s:e].strip()
