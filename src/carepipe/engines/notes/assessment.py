"""From a draft note to one a clinician can trust: calibrated confidence, flags, contradictions.

The note engine reads the (corrected) transcript and scores each item by its extraction
rule alone. This module adds what only the scribe knows:

- the ASR's word probabilities under the item's words, whether the words were changed by
  the post-ASR correction, and the transcript's overall quality;
- dose sanity by drug (and by age when known) and the implausible-value checks of the
  extractors, as *flags* (the value is kept, never altered);
- contradictions: an allergen that is also an active medication, a finding both negated
  and affirmed.

Confidence is a logistic model of those features whose weights were fitted on the dev split
of the scribe evaluation (``benchmarks/bench_scribe_accuracy.py --fit``), so 0.9 means
"nine in ten such items were right" there; the benchmark reports its expected calibration
error and a reliability table on dev and on the untouched test split.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from carepipe.engines.nlp.correction import PreparedText
from carepipe.engines.nlp.dose_ranges import dose_problem, teen_ty_alternatives
from carepipe.engines.notes.models import Grounded, SoapNote

#: Weights of the calibrated confidence (fitted on the dev split; see the module docstring).
#: Order: intercept, rule confidence, min word probability, mean word probability,
#: changed by correction, flagged problem, transcript mean word probability, is a vital,
#: is a medication, is an allergy, is a lab.
CALIBRATION: tuple[float, ...] = (
    -4.33,
    5.132,
    -0.272,
    2.564,
    0.114,
    -1.455,
    0.511,
    -0.1,
    -0.947,
    2.245,
    -1.198,
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
) -> tuple[SoapNote, list[ItemEvidence]]:
    """The note with calibrated confidences, item and note flags; and each item's evidence.

    Items keep their values: problems become flags that send the item to review.
    """
    probs = [w.probability for w in prepared.words]
    transcript_p = sum(probs) / len(probs) if probs else 1.0
    evidences: list[ItemEvidence] = []

    def finish(kind: str, item: Grounded, extra_flags: list[str]) -> Any:
        flags = sorted({*item.flags, *extra_flags, *_correction_flags(item, prepared)})
        ev = _evidence(kind, item, prepared, transcript_p, bool(extra_flags))
        evidences.append(ev)
        confidence = round(calibrated(ev, weights), 3)
        return type(item).model_validate(
            {**item.model_dump(), "confidence": confidence, "flags": flags}
        )

    vitals = []
    for v in note.vitals:
        extra = [] if v.plausible else ["implausible_value"]
        if v.unit_inferred:
            extra.append("unit_inferred")
        if _unusual_pulse_pressure(v):
            extra.append("unusual_pulse_pressure")
        vitals.append(finish("vital", v, extra))
    labs = [finish("lab", lab, [] if lab.plausible else ["implausible_value"]) for lab in note.labs]

    medications = []
    for m in note.medications:
        extra = []
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
