"""The default note engine: deterministic rules and lexicons, no network, no model weights.

Pipeline: segment the transcript into sentences -> extract entities over the whole text
(vitals, medications, symptoms, diagnoses, allergies, follow-up; spoken numbers normalised,
negation applied) -> resolve questions answered in the next turn ("any fever?" "no") ->
place each sentence in S/O/A/P -> assemble the ``SoapNote`` with spans into the transcript.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from carepipe.engines.nlp.allergies import AllergyMention, find_allergies, no_known_allergies
from carepipe.engines.nlp.diagnoses import (
    CONDITION_FAMILIES,
    GENERIC_SURFACES,
    DiagnosisMention,
    find_diagnoses,
)
from carepipe.engines.nlp.followup import find_follow_up
from carepipe.engines.nlp.labs import find_labs
from carepipe.engines.nlp.lexicon import lexicon_digest
from carepipe.engines.nlp.medications import MedicationMention, find_medications
from carepipe.engines.nlp.numbers import normalize_numbers
from carepipe.engines.nlp.symptoms import SymptomMention, find_symptoms
from carepipe.engines.nlp.unread_doses import find_unread_doses
from carepipe.engines.nlp.vitals import find_vitals
from carepipe.engines.notes.models import (
    SECTION_NAMES,
    AllergyItem,
    DiagnosisItem,
    FollowUpItem,
    LabItem,
    MedicationItem,
    NegativeFinding,
    Quantity,
    Section,
    SectionName,
    Sections,
    Sentence,
    SoapNote,
    SymptomItem,
    TimingRepeat,
    UnreadMention,
    VitalItem,
)
from carepipe.engines.notes.rementions import merge_rementions
from carepipe.engines.notes.sections import SentenceFeatures, place
from carepipe.engines.notes.segment import Segment, segment

RULES_VERSION = "1.3.0"

_QUESTION_START_RE = re.compile(
    r"^(?:(?:and|so|okay|ok|now)\s+)?(?:do|does|did|are|is|was|were|have|has|had|any|how|what"
    r"|when|where|which|why|can|could|would|will)\b",
    re.IGNORECASE,
)
_NO_ANSWER_RE = re.compile(
    r"^\W*(?:no|nope|nah|not really|not at all|never|none|no no|i don't|i do not|nothing)\b",
    re.IGNORECASE,
)
_YES_ANSWER_RE = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|a little|a bit|sometimes|occasionally|i do|i have|it does"
    r"|mild|slightly|correct|right)\b",
    re.IGNORECASE,
)
# "we'll consider amoxicillin": a possibility the plan names, not a medication taken.
_CONSIDERED_RE = re.compile(
    r"\b(?:consider(?:ing)?|think about|thinking about|discuss(?:ing)?|might need|may need"
    r"|could (?:try|add|start))\s+(?:\w+\s+){0,2}$",
    re.IGNORECASE,
)
_ASSESSMENT_VOICE_RE = re.compile(
    r"\b(?:i think|i suspect|i believe|this is|it's|it is|looks like|likely|probably"
    r"|consistent with|diagnosis|impression|you have|you've got|suggestive of|seems like"
    r"|sounds like|controlled|uncontrolled)\b",
    re.IGNORECASE,
)


@dataclass
class _Turn:
    seg: Segment
    is_question: bool
    answer: str | None  # "yes" | "no" | None
    answer_seg: Segment | None = None


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _first_per_substance(allergies: list[AllergyMention]) -> list[AllergyMention]:
    """One item per substance: "allergic to tree nuts ... any other? No, just nuts" and a
    recogniser's repeated sentence state one allergy, not two. A reaction said only with a
    later mention is kept."""
    first: dict[str, AllergyMention] = {}
    for a in allergies:
        kept = first.get(a.substance)
        if kept is None:
            first[a.substance] = a
        elif kept.reaction is None and a.reaction is not None:
            first[a.substance] = replace(kept, reaction=a.reaction, reaction_span=a.reaction_span)
    return list(first.values())


class RulesNoteEngine:
    """Deterministic SOAP note generator (the default)."""

    name = "rules"

    def __init__(self) -> None:
        self.model_version = f"rules/{RULES_VERSION}+lexicon.{lexicon_digest()[:12]}"

    # --- public -------------------------------------------------------------------------

    def generate(self, transcript: str) -> SoapNote:
        """A draft SOAP note for ``transcript``."""
        text = transcript or ""
        segs = segment(text)
        turns = self._turns(segs)

        vitals = find_vitals(text)
        meds = find_medications(text)
        symptoms = find_symptoms(text)
        diagnoses = find_diagnoses(text)
        allergies = find_allergies(text)
        follow_ups = find_follow_up(text)
        nka = no_known_allergies(text)
        labs = find_labs(text)

        vital_spans = [(v.start, v.end) for v in vitals]
        # Substances and reactions: "penicillin gives me a rash" is neither a complaint of
        # rash nor a diagnosis of urticaria.
        allergy_spans = [(a.start, a.end) for a in allergies]
        allergy_spans += [a.reaction_span for a in allergies if a.reaction_span]

        said = [(x.start, x.name, x.assertion) for x in [*symptoms, *diagnoses]]
        negatives: list[NegativeFinding] = []
        symptom_items: list[SymptomItem] = []
        for s in symptoms:
            # "temperature 38" is a vital sign, not a complaint of "temperature".
            if s.surface.lower().startswith("temp") and any(
                _overlaps((s.start, s.end), vs) for vs in vital_spans
            ):
                continue
            if any(_overlaps((s.start, s.end), a) for a in allergy_spans):
                continue  # "penicillin gives me a rash" is a reaction, not a complaint
            status, conf = self._resolve_question(s, turns, said)
            if status == "negated":
                negatives.append(
                    NegativeFinding(
                        text=s.surface,
                        start=s.start,
                        end=s.end,
                        confidence=conf,
                        name=s.name,
                        kind="symptom",
                    )
                )
                continue
            if status not in ("present", "historical"):
                continue
            symptom_items.append(self._symptom_item(text, s, conf))
        symptom_items = self._merge_by_name(symptom_items)

        dx_items: list[DiagnosisItem] = []
        for d in diagnoses:
            if any(_overlaps((d.start, d.end), a) for a in allergy_spans):
                continue
            status, conf = self._resolve_question(d, turns, said)
            if status == "negated":
                negatives.append(
                    NegativeFinding(
                        text=d.surface,
                        start=d.start,
                        end=d.end,
                        confidence=conf,
                        name=d.name,
                        kind="diagnosis",
                    )
                )
                continue
            if status not in ("present", "possible", "historical"):
                continue
            dx_items.append(self._diagnosis_item(text, d, conf, status))
        dx_items = self._resolve_generic(dx_items)
        dx_items = self._merge_by_name(dx_items)

        med_items: list[MedicationItem] = []
        for m in meds:
            if m.assertion == "negated" and m.action != "stop":
                negatives.append(
                    NegativeFinding(
                        text=m.surface,
                        start=m.name_start,
                        end=m.name_end,
                        confidence=m.confidence,
                        name=m.name,
                        kind="medication",
                    )
                )
                continue
            if m.assertion == "family" or _CONSIDERED_RE.search(
                text[max(0, m.start - 40) : m.start]
            ):
                continue
            med_items.append(self._medication_item(text, m))
        med_items = merge_rementions(med_items)

        vital_items = [
            VitalItem(
                text=v.surface,
                start=v.start,
                end=v.end,
                confidence=v.confidence,
                kind=v.kind,
                value=v.value,
                value_text=v.value_text,
                unit=v.unit,
                loinc=v.loinc,
                components=v.components,
                plausible=v.plausible,
                unit_inferred=v.unit_inferred,
                subject="fetus" if v.kind == "fetal_heart_rate" else "patient",
            )
            for v in vitals
        ]
        lab_items = [
            LabItem(
                text=lab.surface,
                start=lab.start,
                end=lab.end,
                confidence=lab.confidence,
                kind=lab.kind,
                value=lab.value,
                unit=lab.unit,
                loinc=lab.loinc,
                display=lab.display,
                plausible=lab.plausible,
            )
            for lab in labs
        ]
        allergy_items = [
            AllergyItem(
                text=a.surface,
                start=a.start,
                end=a.end,
                confidence=a.confidence,
                substance=a.substance,
                category=a.category,  # type: ignore[arg-type]
                type=a.type,
                reaction=a.reaction,
                rxnorm=a.rxnorm,  # type: ignore[arg-type]
            )
            for a in _first_per_substance(allergies)
        ]
        follow_items = [
            FollowUpItem(
                text=f.text,
                start=f.start,
                end=f.end,
                confidence=f.confidence,
                interval=Quantity(value=f.interval[0], unit=f.interval[1]) if f.interval else None,
                conditional=f.conditional,
                condition=f.condition,
            )
            for f in follow_ups
        ]

        read = [(m.start, m.end) for m in meds] + vital_spans + allergy_spans
        read += [(lab.start, lab.end) for lab in labs]
        unread = [
            UnreadMention(
                text=u.text, start=u.start, end=u.end, confidence=0.0, flags=["medication_unread"]
            )
            for u in find_unread_doses(text, read)
        ]

        sections = self._sections(
            text, turns, vitals, meds, symptoms, diagnoses, allergies, follow_ups
        )
        return SoapNote(
            sections=sections,
            vitals=vital_items,
            medications=med_items,
            symptoms=symptom_items,
            diagnoses=dx_items,
            allergies=allergy_items,
            no_known_allergies=nka is not None and not allergy_items,
            follow_up=follow_items,
            pertinent_negatives=negatives,
            labs=lab_items,
            unread=unread,
            flags=["medication_unread"] if unread else [],
            engine=self.name,
            model_version=self.model_version,
        )

    # --- questions and answers ---------------------------------------------------------

    def _turns(self, segs: list[Segment]) -> list[_Turn]:
        turns: list[_Turn] = []
        for i, seg in enumerate(segs):
            t = seg.text.strip()
            is_q = t.endswith("?") or bool(_QUESTION_START_RE.match(t))
            answer, answer_seg = None, None
            if is_q and i + 1 < len(segs):
                nxt = segs[i + 1]
                # An answer comes from the other speaker when speakers are labelled.
                if seg.speaker is None or nxt.speaker != seg.speaker:
                    answer_seg = nxt
                    if _NO_ANSWER_RE.match(nxt.text):
                        answer = "no"
                    elif _YES_ANSWER_RE.match(nxt.text):
                        answer = "yes"
            turns.append(_Turn(seg, is_q, answer, answer_seg))
        return turns

    def _resolve_question(
        self,
        finding: SymptomMention | DiagnosisMention,
        turns: list[_Turn],
        said: Sequence[tuple[int, str, str]] = (),
    ) -> tuple[str, float]:
        """A finding inside a question takes its truth from the answer: returns its
        status and confidence.

        ``said``: (start, name, assertion) of every finding in the text. An answer that
        denies some of the question's findings by name answers only those: "Any dizziness
        or fainting? No fainting, but I feel dizzy" says nothing of dizziness by its "No".
        """
        start, name = finding.start, finding.name
        status, conf = finding.assertion, finding.confidence
        for t in turns:
            if t.seg.start <= start < t.seg.end:
                if not t.is_question:
                    return status, conf
                if t.answer == "no" and t.answer_seg is not None:
                    a = t.answer_seg
                    asked = {n for s, n, _ in said if t.seg.start <= s < t.seg.end}
                    named = {n for s, n, x in said if a.start <= s < a.end and x == "negated"}
                    named &= asked
                    if named and name not in named:
                        return "unanswered", conf
                if t.answer == "no":
                    return "negated", conf
                if t.answer == "yes":
                    return ("present" if status == "present" else status), min(conf, 0.75)
                if status == "present":
                    # Asked, answer unknown: keep it, but flag it for review.
                    return "present", min(conf, 0.5)
                return status, conf
        return status, conf

    # --- items ---------------------------------------------------------------------------

    def _symptom_item(self, text: str, s: SymptomMention, conf: float) -> SymptomItem:
        return SymptomItem(
            text=text[s.start : s.end],
            start=s.start,
            end=s.end,
            confidence=conf,
            name=s.name,
            snomed=s.snomed,
            severity=s.severity,
            duration=Quantity(value=s.duration[0], unit=s.duration[1]) if s.duration else None,
        )

    def _diagnosis_item(
        self, text: str, d: DiagnosisMention, conf: float, status: str
    ) -> DiagnosisItem:
        return DiagnosisItem(
            text=d.surface,
            start=d.start,
            end=d.end,
            confidence=conf,
            name=d.name,
            icd10=d.icd10,
            snomed=d.snomed,
            verification="provisional" if status == "possible" else "confirmed",
            chronic=d.chronic_history or status == "historical",
        )

    def _medication_item(self, text: str, m: MedicationMention) -> MedicationItem:
        conf = m.confidence
        as_needed = m.as_needed
        if m.assertion == "hypothetical":
            # "if the pain comes back take paracetamol" is an as-needed prescription.
            as_needed = True
            conf = max(0.0, conf - 0.05)
        timing = None
        if m.timing is not None:
            timing = TimingRepeat(
                frequency=m.timing.frequency,
                period=m.timing.period,
                period_unit=m.timing.period_unit,  # type: ignore[arg-type]
                when=list(m.timing.when),
            )
        return MedicationItem(
            text=text[m.start : m.end],
            start=m.start,
            end=m.end,
            confidence=round(conf, 3),
            name=m.name,
            rxnorm=m.rxnorm,
            dose=m.dose,
            dose_unit=m.dose_unit,
            route=m.route,
            form=m.form,
            frequency_text=m.frequency_text,
            timing=timing,
            as_needed=as_needed,
            duration=Quantity(value=m.duration[0], unit=m.duration[1]) if m.duration else None,
            action=m.action,
        )

    @staticmethod
    def _resolve_generic(items: list[DiagnosisItem]) -> list[DiagnosisItem]:
        """Drop "sugar" -> type 2 diabetes when "type 1 diabetes" is named specifically."""
        out = []
        for it in items:
            if it.text.lower() in GENERIC_SURFACES:
                family = next((f for f in CONDITION_FAMILIES if it.name in f), None)
                if family and any(
                    o.name in family
                    and o.name != it.name
                    and o.text.lower() not in GENERIC_SURFACES
                    for o in items
                ):
                    continue
            out.append(it)
        return out

    @staticmethod
    def _merge_by_name(items: list):  # type: ignore[no-untyped-def,type-arg]
        """One item per name: the most informative mention, at the best confidence."""
        best: dict[str, object] = {}
        order: list[str] = []
        for it in items:
            cur = best.get(it.name)
            if cur is None:
                best[it.name] = it
                order.append(it.name)
                continue
            richer = (
                getattr(it, "duration", None) is not None and getattr(cur, "duration", None) is None
            )
            if richer or it.confidence > cur.confidence:  # type: ignore[attr-defined]
                best[it.name] = it
        return [best[n] for n in order]

    # --- sections ------------------------------------------------------------------------

    def _sections(
        self,
        text: str,
        turns: list[_Turn],
        vitals: list,  # type: ignore[type-arg]
        meds: list[MedicationMention],
        symptoms: list[SymptomMention],
        diagnoses: list[DiagnosisMention],
        allergies: list,  # type: ignore[type-arg]
        follow_ups: list,  # type: ignore[type-arg]
    ) -> Sections:
        buckets: dict[SectionName, list[Sentence]] = {n: [] for n in SECTION_NAMES}
        previous: SectionName | None = None
        n = max(len(turns), 1)
        for i, t in enumerate(turns):
            span = (t.seg.start, t.seg.end)
            inside = lambda s, e, span=span: span[0] <= s < span[1]  # noqa: E731
            feats = SentenceFeatures(
                vitals=sum(1 for v in vitals if inside(v.start, v.end)),
                symptoms=sum(
                    1 for s in symptoms if inside(s.start, s.end) and s.assertion == "present"
                ),
                negated_findings=sum(
                    1 for s in symptoms if inside(s.start, s.end) and s.assertion == "negated"
                ),
                diagnoses=sum(
                    1
                    for d in diagnoses
                    if inside(d.start, d.end) and d.assertion in ("present", "possible")
                ),
                diagnoses_in_assessment_voice=sum(
                    1
                    for d in diagnoses
                    if inside(d.start, d.end)
                    and d.assertion in ("present", "possible")
                    and not d.chronic_history
                    and _ASSESSMENT_VOICE_RE.search(text[t.seg.start : d.start])
                ),
                meds_new=sum(
                    1
                    for m in meds
                    if inside(m.name_start, m.name_end)
                    and (
                        m.action in ("start", "stop", "increase", "decrease")
                        or (m.action is None and m.timing is not None and m.dose is not None)
                    )
                ),
                meds_history=sum(
                    1 for m in meds if inside(m.name_start, m.name_end) and m.action == "continue"
                ),
                follow_up=sum(1 for f in follow_ups if inside(f.start, f.end)),
                allergies=sum(1 for a in allergies if inside(a.start, a.end)),
            )
            normalized = normalize_numbers(t.seg.text, colloquial=True).text
            placement = place(normalized, feats, t.seg.speaker, i / n, previous)
            conf = placement.confidence
            if t.is_question and t.answer is not None:
                # A question and its answer belong together: both follow the finding.
                conf = min(conf, 0.8)
            buckets[placement.section].append(
                Sentence(
                    text=normalized,
                    start=t.seg.start,
                    end=t.seg.end,
                    confidence=conf,
                    section=placement.section,
                    speaker=t.seg.speaker,
                )
            )
            previous = placement.section
        sections = {}
        for name, sents in buckets.items():
            confidence = round(sum(s.confidence for s in sents) / len(sents), 3) if sents else 0.0
            sections[name] = Section(sentences=sents, confidence=confidence)
        return Sections(**sections)
