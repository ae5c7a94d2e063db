"""Scoring notes against reference facts: precision and recall per fact type.

Reference facts look like the scribe manifest's::

    {"vitals": [{"kind", "value", "unit"}],
     "medications": [{"name", "dose", "unit", "route", "frequency"}],
     "diagnoses": [{"name"}]}

Matching keys: vitals by (kind, value) — blood pressure as "140/90"; medications by
(name, dose) with mass units compared in mg; diagnoses by name. Names on both sides go
through the lexicons first, so "paracetamol" matches "acetaminophen" and "high blood
pressure" matches "hypertension". Matching is one-to-one (multisets).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from carepipe.engines.nlp.diagnoses import lookup_condition
from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.notes.models import SoapNote

FACT_TYPES = ("vitals", "medications", "diagnoses")
_MASS_TO_MG = {"mg": 1.0, "g": 1000.0, "mcg": 0.001, "ug": 0.001}


def _num(value: Any) -> str:
    """A canonical string for a number (so 5, 5.0 and "5" compare equal)."""
    if value is None:
        return "-"
    f = float(value)
    return f"{f:.3f}".rstrip("0").rstrip(".")


def vital_key(kind: str, value: Any) -> tuple[str, str]:
    """Match key for a vital sign."""
    if isinstance(value, str) and "/" in value:
        sys_v, dia_v = value.split("/", 1)
        return kind, f"{_num(sys_v)}/{_num(dia_v)}"
    return kind, _num(value)


def medication_key(name: str, dose: Any, unit: str | None) -> tuple[str, str]:
    """Match key for a medication: canonical name and dose (mass in mg)."""
    canonical = lookup_medication(name) or name.strip().lower()
    if dose is None:
        return canonical, "-"
    factor = _MASS_TO_MG.get((unit or "").strip())
    return canonical, _num(float(dose) * factor) if factor else _num(dose)


def diagnosis_key(name: str) -> tuple[str]:
    """Match key for a diagnosis: canonical name."""
    return (lookup_condition(name) or name.strip().lower(),)


def reference_keys(facts: dict[str, Any]) -> dict[str, list[tuple[str, ...]]]:
    """Keys of the reference facts."""
    return {
        "vitals": [vital_key(v["kind"], v["value"]) for v in facts.get("vitals", [])],
        "medications": [
            medication_key(m["name"], m.get("dose"), m.get("unit"))
            for m in facts.get("medications", [])
        ],
        "diagnoses": [diagnosis_key(d["name"]) for d in facts.get("diagnoses", [])],
    }


def note_keys(note: SoapNote) -> dict[str, list[tuple[str, ...]]]:
    """Keys of what a note found."""
    return {
        "vitals": [
            vital_key(v.kind, v.value_text if v.kind == "blood_pressure" else v.value)
            for v in note.vitals
        ],
        "medications": [medication_key(m.name, m.dose, m.dose_unit) for m in note.medications],
        "diagnoses": [diagnosis_key(d.name) for d in note.diagnoses],
    }


@dataclass
class Tally:
    """True positives, false positives, false negatives, and the misses for inspection."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    false_negatives: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(
        self, predicted: Iterable[tuple[str, ...]], expected: Iterable[tuple[str, ...]], tag: str
    ) -> None:
        """Count one document's matches (one-to-one)."""
        pred, exp = Counter(predicted), Counter(expected)
        matched = pred & exp
        self.tp += sum(matched.values())
        for key, n in (pred - matched).items():
            self.fp += n
            self.false_positives.extend([(tag, key)] * n)
        for key, n in (exp - matched).items():
            self.fn += n
            self.false_negatives.extend([(tag, key)] * n)


def score(
    docs: Iterable[tuple[str, dict[str, list[tuple[str, ...]]], dict[str, Any]]],
) -> dict[str, Tally]:
    """Tallies per fact type over (id, predicted keys, reference facts) triples."""
    tallies = {t: Tally() for t in FACT_TYPES}
    for doc_id, predicted, facts in docs:
        expected = reference_keys(facts)
        for t in FACT_TYPES:
            tallies[t].add(predicted.get(t, []), expected[t], doc_id)
    return tallies
