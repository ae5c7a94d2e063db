"""From a draft note to one a clinician can trust: calibrated confidence, flags, contradictions.

The note engine reads the (corrected) transcript and scores each item by its extraction
rule alone. This module adds what only the scribe knows:

- the ASR's word probabilities under the item's words, whether the words were changed by
  the post-ASR correction, and the transcript's overall quality;
- dose sanity by drug (and by age when known), the implausible-value checks of the
  extractors, and the signs of a misheard number (an unsure digit, a number cut in two at
  a Whisper number-form boundary), as *flags* (the value is kept, never altered);
- contradictions: an allergen that is also an active medication, a finding both negated
  and affirmed.

Confidence is a logistic model of those features whose weights were fitted on the dev split
of the scribe evaluation, all three audio conditions
(``benchmarks/bench_scribe_accuracy.py --split dev --fit``), so 0.9 means
"nine in ten such items were right" there; the benchmark reports its expected calibration
error and a reliability table on dev and on the untouched test split.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from carepipe.engines.nlp.correction import PreparedText, WordSpan
from carepipe.engines.nlp.dose_ranges import dose_problem, teen_ty_alternatives
from carepipe.engines.notes.models import Grounded, SoapNote

#: Weights of the calibrated confidence (fitted on the dev split; see the module docstring),
#: in :data:`FEATURES` order.
CALIBRATION: tuple[float, ...] = (
    -5.319,
    5.842,
    -0.922,
    2.821,
    -0.629,
    -1.29,
    1.61,
    -0.33,
    -0.842,
    1.709,
    -0.538,
)
FEATURES = (
    "intercept",
    "rule_confidence",
    "min_word_probability",
    "mean_word_probability",
    "corrected",
    "problem",
    "transcript_word_probability",
    "is_vital",
    "is_medication",
    "is_allergy",
    "is_lab",
)


@dataclass(frozen=True)
class ItemEvidence:
    """What the confidence of one item is computed from."""

    kind: str  # vital | medication | allergy | lab | diagnosis
    rule_confidence: float
    min_word_probability: float
    mean_word_probability: float
    corrected: bool
    problem: bool
    transcript_word_probability: float

    def vector(self) -> list[float]:
        """Feature vector in :data:`FEATURES` order."""
        return [
            1.0,
            self.rule_confidence,
            self.min_word_probability,
            self.mean_word_probability,
            float(self.corrected),
            float(self.problem),
            self.transcript_word_probability,
            float(self.kind == "vital"),
            float(self.kind == "medication"),
            float(self.kind == "allergy"),
            float(self.kind == "lab"),
        ]


_NUMBER_WORDS = (
    r"zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy"
    r"|eighty|ninety|hundred|thousand|point|half"
)
_NUMBER_TOKEN_RE = re.compile(r"\d|^\W*(?:" + _NUMBER_WORDS + r")\W*$", re.IGNORECASE)
# Another number right after a value, with at most a comma and "and" between ("100, and
# six", "100,000", "125 over 78, 12"): the recogniser may have cut one spoken number in two
# and the extractor read only the first piece.
_NUMBER_CONTINUES_RE = re.compile(
    r"^(?:,\d|\s*,?\s*(?:and\s+)?(?:\d|(?:" + _NUMBER_WORDS + r")\b))", re.IGNORECASE
)
# Readings where a round hundred is a whole, ordinary value (100 % saturation).
_HUNDRED_IS_WHOLE = frozenset({"spo2"})
#: Under this ASR probability a value's digits are too unsure to trust without a look
#: (set on the dev split: right readings rarely fall below it, misheard ones often do).
UNCLEAR_NUMBER_PROBABILITY = 0.4


# Systolic minus diastolic outside this range is rare enough that a misheard number
# ("one eighteen" heard as "180") is the likelier story: the reading is kept and flagged.
PULSE_PRESSURE_RANGE = (15.0, 90.0)


def _unusual_pulse_pressure(v: Any) -> bool:
    parts = getattr(v, "components", None) or {}
    if v.kind != "blood_pressure" or "systolic" not in parts or "diastolic" not in parts:
        return False
    low, high = PULSE_PRESSURE_RANGE
    return not low <= parts["systolic"] - parts["diastolic"] <= high


def calibrated(evidence: ItemEvidence, weights: Sequence[float] = CALIBRATION) -> float:
    """Probability that the item is right, from its evidence."""
    z = sum(w * x for w, x in zip(weights, evidence.vector(), strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def _span(item: Grounded) -> tuple[int, int] | None:
    if item.start is None or item.end is None:
        return None
    return item.start, item.end


def _words_under(item: Grounded, prepared: PreparedText) -> list[WordSpan]:
    """The recognised words the text of ``item`` was read from."""
    span = _span(item)
    if not span or not prepared.words:
        return []
    s, e = prepared.to_source(*span)
    return [w for w in prepared.words if w.start < e and s < w.end]


def _number_probabilities(item: Grounded, prepared: PreparedText) -> list[float]:
    """ASR probabilities of the recognised number words (digits, "forty") under ``item``."""
    inside = _words_under(item, prepared)
    return [
        w.probability
        for w in inside
        if _NUMBER_TOKEN_RE.search(prepared.source[w.start : w.end].strip())
    ]


def _joined(item: Grounded, prepared: PreparedText) -> list[dict[str, Any]]:
    """Evidence of the number-form corrections that joined pieces into ``item``'s value."""
    span = _span(item)
    if not span:
        return []
    return [c.evidence for c in prepared.corrections_in(*span) if c.kind == "number_form"]


def _evidence(
    kind: str, item: Grounded, prepared: PreparedText, transcript_p: float, problem: bool
) -> ItemEvidence:
    span = _span(item)
    probs = prepared.word_probabilities(*span) if span else []
    corrected = bool(span and prepared.corrections_in(*span))
    return ItemEvidence(
        kind=kind,
        rule_confidence=item.confidence,
        min_word_probability=min(probs) if probs else 1.0,
        mean_word_probability=sum(probs) / len(probs) if probs else 1.0,
        corrected=corrected,
        problem=problem,
        transcript_word_probability=transcript_p,
    )


def number_flags(item: Grounded, prepared: PreparedText, *, continues: bool = True) -> list[str]:
    """Why a value heard by the recogniser may not be the value said.

    - ``unclear_number``: the recogniser gave one of the value's number words a probability
      under :data:`UNCLEAR_NUMBER_PROBABILITY`;
    - ``number_continues`` (vitals and labs: ``continues``): another number follows the
      value with at most a comma and "and" between ("heart rate 100, and six", "100,000"),
      so the value may be the first piece of a longer spoken number;
    - ``round_hundred`` (with ``continues``): a round hundred (100, 200...; not a
      saturation), the form Whisper gives "one hundred and six" when it loses the tail;
    - ``value_maybe:<n>`` for a value joined from "100 and 80": the part after "and" is
      where Whisper confuses "-teen" and "-ty" (one hundred and eighteen -> 180).
    """
    flags: list[str] = []
    numbers = _number_probabilities(item, prepared)
    if numbers and min(numbers) < UNCLEAR_NUMBER_PROBABILITY:
        flags.append("unclear_number")
    after = prepared.text[item.end : item.end + 24] if item.end is not None else ""
    if continues and _NUMBER_CONTINUES_RE.match(after):
        flags.append("number_continues")
    value = getattr(item, "value", None) or (getattr(item, "components", None) or {}).get(
        "systolic"
    )
    if value and any(e.get("rule") == "hundred_and" for e in _joined(item, prepared)):
        flags += [f"value_maybe:{alt:g}" for alt in teen_ty_alternatives(float(value))]
    elif (
        continues
        and value
        and value >= 100
        and value % 100 == 0
        and getattr(item, "kind", "") not in _HUNDRED_IS_WHOLE
    ):
        # Whisper writes "one hundred and six" as "100" and then "and six" (or drops the
        # tail): a reading of a round hundred may be the first half of the number said.
        flags.append("round_hundred")
    return flags


def _redecoded(item: Grounded, prepared: PreparedText, redecoded_from: float | None) -> bool:
    """Whether ``item`` rests on words of a tail the recogniser decoded again on its own."""
    if redecoded_from is None:
        return False
    return any(w.t_start >= redecoded_from for w in _words_under(item, prepared))


def _rests_on(item: Grounded, prepared: PreparedText, names: Sequence[str]) -> bool:
    """Whether the text of ``item`` holds one of ``names`` (lower case)."""
    span = _span(item)
    if not span or not names:
        return False
    text = prepared.text[span[0] : span[1]].lower()
    return any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)


def _correction_flags(item: Grounded, prepared: PreparedText) -> list[str]:
    span = _span(item)
    if not span:
        return []
    return sorted({f"asr_corrected:{c.kind}" for c in prepared.corrections_in(*span)})


def assess(
    note: SoapNote,
    prepared: PreparedText,
    *,
    asr_quality: dict[str, Any] | None = None,
    age_years: float | None = None,
    weights: Sequence[float] = CALIBRATION,
    redecoded_from: float | None = None,
    sounded_names: Sequence[str] = (),
) -> tuple[SoapNote, list[ItemEvidence]]:
    """The note with calibrated confidences, item and note flags; and each item's evidence.

    Items keep their values: problems become flags that send the item to review.
    ``redecoded_from``: the second where the recogniser's re-decoded tail begins
    (``Transcript.extra["tail_from_seconds"]``), if it decoded one. ``sounded_names``: the
    names the recogniser's second pass was offered only for how a slot sounded
    (``Transcript.extra["sounded_names"]``).
    """
    probs = [w.probability for w in prepared.words]
    transcript_p = sum(probs) / len(probs) if probs else 1.0
    evidences: list[ItemEvidence] = []
    # A telephone-band recording (asr quality flag ``narrowband``): the recogniser loses the
    # consonants that tell "fifteen" from "fifty", and on the evaluation's telephone audio
    # confidence did not catch every wrong number, so each heard value goes to review. The
    # same loss makes the sound-alike names a correction chooses from hard to tell apart: on
    # dev e48's call "allergic to clopidogrel" was heard "the club in general" and rescored
    # to calamine at confidence 0.95, and in a test clip of the same answer the second pass
    # wrote "clonidine", a name offered for how the slot sounded. So on a call whatever a
    # correction changed, or the second pass chose by sound, goes to review too.
    narrowband = (
        ["narrowband_audio"]
        if asr_quality and "narrowband" in (asr_quality.get("flags") or [])
        else []
    )
    sounded = [n.lower() for n in sounded_names]

    def finish(kind: str, item: Grounded, extra_flags: list[str]) -> Any:
        # Speech after an early end-of-text is decoded alone, without the consultation
        # before it, and is heard worse: on a test clip "once daily and azithromycin"
        # became "one staleontazine, promethazine" (a drug never said). What rests on it
        # goes to review.
        if _redecoded(item, prepared, redecoded_from):
            extra_flags = [*extra_flags, "asr_redecoded_tail"]
        corrections = _correction_flags(item, prepared)
        if narrowband and (corrections or _rests_on(item, prepared, sounded)):
            extra_flags = [*extra_flags, *narrowband]
        flags = sorted({*item.flags, *extra_flags, *corrections})
        ev = _evidence(kind, item, prepared, transcript_p, bool(extra_flags))
        evidences.append(ev)
        confidence = round(calibrated(ev, weights), 3)
        return type(item).model_validate(
            {**item.model_dump(), "confidence": confidence, "flags": flags}
        )

    vitals = []
    for v in note.vitals:
        extra = ([] if v.plausible else ["implausible_value"]) + narrowband
        if v.unit_inferred:
            extra.append("unit_inferred")
        if _unusual_pulse_pressure(v):
            extra.append("unusual_pulse_pressure")
        extra += number_flags(v, prepared)
        vitals.append(finish("vital", v, extra))
    labs = [
        finish(
            "lab",
            lab,
            ([] if lab.plausible else ["implausible_value"])
            + number_flags(lab, prepared)
            + narrowband,
        )
        for lab in note.labs
    ]

    medications = []
    for m in note.medications:
        # A medication's span runs on into its frequency and duration, where a following
        # number is ordinary ("twice a day for 5 days"): only the digits' clarity is checked.
        extra = (
            number_flags(m, prepared, continues=False) + narrowband if m.dose is not None else []
        )
        problem = dose_problem(m.name, m.dose, m.dose_unit, age_years=age_years)
        if problem:
            extra.append(problem)
            for alt in teen_ty_alternatives(m.dose or 0):
                if dose_problem(m.name, alt, m.dose_unit, age_years=age_years) is None:
                    extra.append(f"dose_maybe:{alt:g}")
        medications.append(finish("medication", m, extra))

    allergies = [finish("allergy", a, []) for a in note.allergies]
    diagnoses = [finish("diagnosis", d, []) for d in note.diagnoses]

    note_flags = list(note.flags)
    if asr_quality and asr_quality.get("suspect"):
        note_flags += [f"asr_suspect:{r}" for r in asr_quality.get("reasons", [])]
    if narrowband:
        note_flags.append("asr_narrowband")

    # Contradictions: an allergen that is also an active medication.
    allergens = {a.substance for a in allergies}
    for i, m in enumerate(medications):
        if m.name in allergens and m.action != "stop":
            medications[i] = m.model_copy(
                update={"flags": sorted({*m.flags, "contradiction:allergen"}), "needs_review": True}
            )
            note_flags.append("contradiction:allergen_prescribed")
    for i, a in enumerate(allergies):
        if any(m.name == a.substance and m.action != "stop" for m in medications):
            allergies[i] = a.model_copy(
                update={
                    "flags": sorted({*a.flags, "contradiction:prescribed"}),
                    "needs_review": True,
                }
            )
    # A finding both negated and affirmed.
    negated = {n.name for n in note.pertinent_negatives}
    symptoms = []
    for s in note.symptoms:
        if s.name in negated:
            s = s.model_copy(
                update={"flags": sorted({*s.flags, "contradiction:negated"}), "needs_review": True}
            )
            note_flags.append("contradiction:negated_and_affirmed")
        symptoms.append(s)

    body = note.model_dump()
    body.update(
        vitals=[v.model_dump() for v in vitals],
        labs=[lab.model_dump() for lab in labs],
        medications=[m.model_dump() for m in medications],
        allergies=[a.model_dump() for a in allergies],
        diagnoses=[d.model_dump() for d in diagnoses],
        symptoms=[s.model_dump() for s in symptoms],
        text=prepared.text,
        corrections=[c.to_dict() for c in prepared.corrections],
        flags=sorted(set(note_flags)),
        asr_quality=asr_quality,
    )
    return SoapNote.model_validate(body), evidences
