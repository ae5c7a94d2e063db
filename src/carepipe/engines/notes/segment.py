"""Sentence segmentation for consultation transcripts, punctuated or not.

ASR output often comes as one long run of words. We split on sentence punctuation (not
decimal points), on speaker labels ("Doctor:", "Patient:"), and inside long runs before
discourse cues that start a new thought in a consultation ("okay so", "on examination",
"I think", "I'll prescribe", "come back"...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A run longer than this (in words) is split further at discourse cues.
LONG_RUN_WORDS = 14
MIN_PIECE_WORDS = 3


@dataclass(frozen=True)
class Segment:
    """A sentence: its span in the transcript and who said it, if labelled."""

    start: int
    end: int
    speaker: str | None
    text: str


_SPEAKER_RE = re.compile(
    r"(?:(?<=\n)|^|(?<=[.!?]\s)|(?<=\s))\s*(?P<label>doctor|dr\.?|physician|clinician|"
    r"patient|pt\.?|mother|father|caregiver|nurse|speaker\s*\d+|d|p)\s*:\s*",
    re.IGNORECASE,
)
_SPEAKER_NAMES = {
    "doctor": "doctor",
    "dr": "doctor",
    "dr.": "doctor",
    "physician": "doctor",
    "clinician": "doctor",
    "d": "doctor",
    "patient": "patient",
    "pt": "patient",
    "pt.": "patient",
    "p": "patient",
    "mother": "patient",
    "father": "patient",
    "caregiver": "patient",
    "nurse": "nurse",
}
# Sentence ends: . ! ? (not between digits, not in "Dr." / "mg." abbreviations) or ; or \n.
_END_RE = re.compile(r"(?<!\d)[.!?]+(?=\s|$)|[.!?]+(?=\s+[A-Z])|[;\n]+|\?+")
_ABBREV_RE = re.compile(r"\b(?:dr|mr|mrs|ms|vs|e\.g|i\.e|approx|tab|cap|inj|no)\.$", re.IGNORECASE)

# Cues that begin a new sentence inside a run-on transcript.
DISCOURSE_CUES = [
    r"okay so",
    r"ok so",
    r"alright so",
    r"all right so",
    r"right so",
    r"so",
    r"okay",
    r"ok",
    r"alright",
    r"now",
    r"and then",
    r"then",
    r"also",
    r"anyway",
    r"on examination",
    r"on exam",
    r"examination shows",
    r"let me (?:check|examine|listen|see|look)",
    r"let's (?:check|examine|see|look)",
    r"your (?:blood pressure|bp|pulse|temperature|heart rate|oxygen|sugar|weight|chest|lungs)",
    r"(?:blood pressure|bp|pulse|temperature|temp|heart rate|oxygen saturation|spo2|weight)"
    r" (?:is|was|today)",
    r"i think",
    r"it (?:looks|seems|sounds) like",
    r"this (?:looks|seems|is)",
    r"looks like",
    r"my impression",
    r"the diagnosis",
    r"you have",
    r"i(?:'ll| will| am going to|'m going to) (?:prescribe|give|start|put|order|send|refer|"
    r"increase|reduce|stop|check|add)",
    r"we(?:'ll| will| are going to|'re going to) (?:prescribe|give|start|put|order|send|do|"
    r"check|refer|get|add)",
    r"let's (?:start|do|get|order|put|try|add)",
    r"please (?:take|start|continue|get|do|come)",
    r"take",
    r"start",
    r"continue",
    r"stop",
    r"come back",
    r"follow up",
    r"see you",
    r"do you",
    r"does it",
    r"did you",
    r"have you",
    r"are you",
    r"is there",
    r"any",
    r"how (?:long|many|much|often)",
    r"when did",
    r"what about",
    r"i have",
    r"i've been",
    r"i've had",
    r"i had",
    r"i am",
    r"i'm",
    r"she has",
    r"he has",
    r"she's been",
    r"he's been",
    r"she had",
    r"he had",
    r"my",
    r"yes",
    r"yeah",
    r"no",
]
_CUE_RE = re.compile(r"\b(?:" + "|".join(DISCOURSE_CUES) + r")\b", re.IGNORECASE)
_WORD_RE = re.compile(r"\S+")


def _speaker_turns(text: str) -> list[tuple[int, int, str | None]]:
    """(start, end, speaker) turns; one unlabelled turn when there are no labels."""
    labels = list(_SPEAKER_RE.finditer(text))
    # Single letters only count as labels when the transcript uses them consistently.
    if labels and all(m.group("label").lower() in ("d", "p") for m in labels) and len(labels) < 2:
        labels = []
    if not labels:
        return [(0, len(text), None)]
    turns: list[tuple[int, int, str | None]] = []
    if labels[0].start() > 0 and text[: labels[0].start()].strip():
        turns.append((0, labels[0].start(), None))
    for i, m in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        label = re.sub(r"\s+", "", m.group("label").lower())
        speaker = _SPEAKER_NAMES.get(label, "speaker" if label.startswith("speaker") else None)
        turns.append((m.end(), end, speaker))
    return turns


def _split_punct(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    cur = start
    for m in _END_RE.finditer(text, start, end):
        if m.group(0).startswith(".") and _ABBREV_RE.search(
            text[max(start, m.start() - 6) : m.end()]
        ):
            continue
        pieces.append((cur, m.end()))
        cur = m.end()
    if cur < end:
        pieces.append((cur, end))
    return pieces


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _WORD_RE.finditer(text, start, end)]


def _split_cues(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a long run before discourse cues, keeping pieces of at least a few words."""
    words = _words(text, start, end)
    if len(words) <= LONG_RUN_WORDS:
        return [(start, end)]
    cuts: list[int] = []
    last_cut_word = 0
    for m in _CUE_RE.finditer(text, start, end):
        # Word index of the cue.
        idx = next((i for i, (ws, _) in enumerate(words) if ws >= m.start()), None)
        if idx is None or idx - last_cut_word < MIN_PIECE_WORDS:
            continue
        if len(words) - idx < MIN_PIECE_WORDS:
            break
        # A cue right after "and"/"that" continues the sentence ("and then" is its own cue).
        prev = text[words[idx - 1][0] : words[idx - 1][1]].lower().strip(",")
        if prev in ("that", "to", "the", "a", "if", "you", "i", "not", "of", "and") and not (
            m.group(0).lower().startswith(("and", "okay", "ok", "so"))
        ):
            continue
        cuts.append(words[idx][0])
        last_cut_word = idx
    bounds = [start, *cuts, end]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


def segment(text: str) -> list[Segment]:
    """Sentences of ``text`` in order, with spans trimmed of surrounding whitespace."""
    out: list[Segment] = []
    for t_start, t_end, speaker in _speaker_turns(text):
        for p_start, p_end in _split_punct(text, t_start, t_end):
            for s, e in _split_cues(text, p_start, p_end):
                piece = text[s:e]
                lead = len(piece) - len(piece.lstrip(" \t\n,;-"))
                trail = len(piece) - len(piece.rstrip(" \t\n,;-"))
                s2, e2 = s + lead, e - trail
                if e2 <= s2 or not re.search(r"\w", text[s2:e2]):
                    continue
                out.append(Segment(s2, e2, speaker, text[s2:e2]))
    return out
