"""Place each sentence in Subjective, Objective, Assessment or Plan.

Scores come from cue patterns (weights below) plus what the sentence contains (a vital
sign is Objective evidence, a new prescription is Plan evidence...) and a weak prior from
who is speaking and where in the consultation the sentence is (consultations run roughly
S -> O -> A -> P). The winning margin becomes the placement confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from carepipe.engines.notes.models import SectionName

_CUES: dict[SectionName, list[tuple[str, float]]] = {
    "subjective": [
        (r"\b(?:i have|i've|i had|i am having|i'm having|i feel|i'm feeling|i get|i got)\b", 2.0),
        (
            r"\b(?:she|he|they|patient|pt)(?:'s| is| has| had| was| have| says| reports| complains"
            r"| mentions| denies| feels| gets| noticed)\b",
            1.5,
        ),
        (
            r"\b(?:complain\w*|c/o|presents? with|presenting with|came in with|came with"
            r"|chief complaint|history of present|hpi)\b",
            2.5,
        ),
        (
            r"\b(?:since|for the (?:past|last)|started|began|ago|on and off|comes and goes"
            r"|worse (?:at|in|when|after)|better (?:when|with|after)|keeps?)\b",
            1.0,
        ),
        (r"\b(?:my|me|mine)\b", 0.8),
        (
            r"\b(?:denies|no history of|history of|known case of|k/?c/?o|past history"
            r"|family history|smok\w+|alcohol|drinks?|allerg\w+)\b",
            1.5,
        ),
        (
            r"\b(?:pain|ache|hurts|cough|fever|vomit\w*|nausea|dizz\w+|tired|weak\w*"
            r"|breath\w*|swelling|rash|itch\w*)\b",
            0.7,
        ),
        (
            r"\b(?:(?:i|she|he)(?:'m| am| is)? (?:taking|on)|been taking|currently taking"
            r"|already taking)\b",
            1.5,
        ),
        (r"\?", 0.8),
        (r"^(?:yes|yeah|no|nope|not really|sometimes|a little)\b", 1.0),
    ],
    "objective": [
        (
            r"\b(?:on examination|on exam|o/e|examination (?:shows|reveals)|exam (?:shows|is)"
            r"|let me (?:check|examine|listen|look|feel)|i (?:can )?(?:see|hear|feel) )",
            3.0,
        ),
        (
            r"\b(?:blood pressure|bp|pulse|heart rate|temperature|temp|saturation|spo2|sats"
            r"|respiratory rate|weight|weighs|bmi|height)\b",
            1.5,
        ),
        (
            r"\b(?:chest (?:is )?clear|lungs? (?:are |is )?clear|air entry|crackles|crepitations"
            r"|wheez\w* (?:heard|present)|heart sounds|murmur|s1 s2|abdomen (?:is )?soft"
            r"|tender\w*|guarding|no organomegaly|throat (?:is |looks )?(?:red|inflamed)"
            r"|tonsils?|lymph nodes?|pallor|icterus|cyanosis|clubbing|edema|oedema"
            r"|reflexes|range of motion|gait|pupils)\b",
            2.5,
        ),
        (
            r"\b(?:reports? (?:show|shows|came)|results? (?:show|shows|are|is)|x-?ray (?:shows|is)"
            r"|ecg (?:shows|is)|scan (?:shows|is)|hba1c|hemoglobin|haemoglobin|creatinine"
            r"|cholesterol (?:is|was)|sugar (?:is|was|reading)|fasting|lab\w*)\b",
            2.0,
        ),
        (r"\b(?:looks?|appears?) (?:well|unwell|pale|dehydrated|comfortable|distressed)\b", 2.0),
        (r"\b(?:mm ?hg|bpm|beats per minute|percent|degrees|celsius|fahrenheit|kg|kilos)\b", 1.0),
    ],
    "assessment": [
        (
            r"\b(?:i think|i believe|i suspect|i feel (?:this|it)|it(?:'s| is) (?:probably|likely"
            r"|most likely|just)|this (?:is|looks like|seems like|sounds like)|looks like"
            r"|sounds like|seems like|consistent with|suggestive of|likely|probably"
            r"|my impression|impression|assessment|diagnosis|differential|rule out"
            r"|you have (?:a |an )?)",
            3.0,
        ),
        (r"\b(?:is|are) (?:well |poorly |not )?(?:controlled|uncontrolled|under control)\b", 2.5),
        (r"\b(?:infection|syndrome|disease|disorder|itis)\b", 0.8),
    ],
    "plan": [
        (
            r"\b(?:i(?:'ll| will| am going to|'m going to)|we(?:'ll| will| are going to"
            r"|'re going to)|let's|let us)\s+(?:prescribe|give|start|put|order|send|refer|increase"
            r"|reduce|decrease|stop|add|do|get|check|repeat|switch|continue|change|arrange"
            r"|schedule|book)",
            3.0,
        ),
        (
            r"\b(?:prescrib\w*|take|start|continue|stop|discontinue|increase|reduce|switch|avoid"
            r"|drink|rest|apply|use|inhale|gargle)\b",
            1.5,
        ),
        (
            r"\b(?:come back|follow[\s-]?up|review|see you|return|recheck|next visit"
            r"|appointment)\b",
            2.5,
        ),
        (
            r"\b(?:test|tests|x-?ray|scan|ultrasound|ecg|blood work|cbc|hba1c|lipid profile"
            r"|culture|refer\w*|referral|specialist)\b",
            1.2,
        ),
        (
            r"\b(?:twice|once|three times|daily|a day|at night|every \d+ hours|for \d+ days"
            r"|mg|tablets?|capsules?|puffs?|as needed|sos)\b",
            1.0,
        ),
        (r"\b(?:advice|advise\w*|recommend\w*|diet|exercise|plenty of fluids|lifestyle)\b", 1.5),
    ],
}
_COMPILED = {k: [(re.compile(p, re.IGNORECASE), w) for p, w in v] for k, v in _CUES.items()}
_ORDER: tuple[SectionName, ...] = ("subjective", "objective", "assessment", "plan")


@dataclass
class SentenceFeatures:
    """What the entity extractors found in one sentence."""

    vitals: int = 0
    symptoms: int = 0
    negated_findings: int = 0
    diagnoses: int = 0
    diagnoses_in_assessment_voice: int = 0
    meds_new: int = 0  # start / increase / decrease / stop, or a full signature
    meds_history: int = 0  # "she takes", "is on"
    follow_up: int = 0
    allergies: int = 0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """The chosen section and how sure we are (0..1)."""

    section: SectionName
    confidence: float
    scores: dict[str, float]


def score(text: str, feats: SentenceFeatures, speaker: str | None) -> dict[SectionName, float]:
    """Raw evidence per section for one sentence."""
    scores: dict[SectionName, float] = dict.fromkeys(_ORDER, 0.0)
    for name, cues in _COMPILED.items():
        for rx, w in cues:
            if rx.search(text):
                scores[name] += w
    scores["objective"] += 3.0 * min(feats.vitals, 2)
    scores["subjective"] += 1.5 * min(feats.symptoms, 2) + 1.0 * min(feats.negated_findings, 2)
    scores["subjective"] += 2.0 * min(feats.allergies, 1) + 1.5 * min(feats.meds_history, 1)
    scores["assessment"] += 1.0 * min(feats.diagnoses, 2)
    scores["assessment"] += 2.0 * min(feats.diagnoses_in_assessment_voice, 1)
    scores["plan"] += 3.0 * min(feats.meds_new, 2) + 3.0 * min(feats.follow_up, 1)
    if speaker == "patient":
        scores["subjective"] += 2.0
        scores["plan"] *= 0.4
        scores["assessment"] *= 0.4
        scores["objective"] *= 0.5
    return scores


def place(
    text: str,
    feats: SentenceFeatures,
    speaker: str | None,
    position: float,
    previous: SectionName | None,
) -> Placement:
    """Choose the section for a sentence; ``position`` is 0..1 through the transcript."""
    scores = score(text, feats, speaker)
    total = sum(scores.values())
    if total <= 0.0:
        # No evidence: stay with the previous section (a follow-on sentence), else use
        # the position in the consultation. Either way we are not sure.
        if previous is not None:
            return Placement(previous, 0.45, dict(scores))
        guess: SectionName = "subjective" if position < 0.5 else "plan"
        return Placement(guess, 0.35, dict(scores))
    # Weak priors: continuity with the previous sentence, and S early / P late.
    if previous is not None:
        scores[previous] += 0.3
    scores["subjective"] += 0.4 * (1 - position)
    scores["plan"] += 0.4 * position
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, runner = ranked[0], ranked[1]
    margin = (best[1] - runner[1]) / (best[1] + 1e-9)
    strength = min(best[1] / 4.0, 1.0)
    confidence = 0.4 + 0.35 * margin + 0.2 * strength
    return Placement(best[0], round(min(confidence, 0.95), 3), dict(scores))
