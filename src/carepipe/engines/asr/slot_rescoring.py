"""Let Whisper itself choose a drug name: forced-alignment rescoring of drug slots.

The contextual pass (:mod:`carepipe.engines.asr.biasing`) gives Whisper a few likely names
as hotwords, but a name that espeak or a speaker says far from its spelling ("albuterol"
heard as "you sell you growl") still comes out as ordinary words, and the spelling-based
correction (:mod:`carepipe.engines.nlp.correction`) cannot tell which lexicon name it was.
The decoder that misheard it can still say which name the *audio* supports best when asked:

1. find the drug slots of the final transcript (words before a dose, after "start",
   "take", "allergic to"... :func:`carepipe.engines.nlp.sounds_like.drug_slots`) and the
   allergen slots (the first words of the answer to an allergy question, the words before
   "makes me vomit"... :func:`carepipe.engines.nlp.allergies.allergen_slots`) whose words
   are not already a lexicon name;
2. take the candidates: the top ``K`` lexicon names by how the slot sounds, the tenant's
   vocabulary and, after an allergy verb or in an allergen slot, the allergen lexicon
   (in an allergen slot with its synonyms, "bee stings", "sticking plasters");
3. cut the audio of the words around the slot (``WINDOW_SECONDS`` each side), and score the
   window's text with the slot as heard and with each candidate in its place by forced
   alignment (CTranslate2 ``Whisper.align``: the log-probability of every forced token),
   on the model the engine has already loaded;
4. propose the best candidate only when it is close enough to the heard words (the
   decoder's own choice, which forced alignment always favours) and clearly ahead of the
   runner-up, and when a dose said next to it is inside the drug's usual range. In an
   allergen slot the heard words may be shorter ("Code I", "codon"), and a name that sounds
   less like them is proposed only when the audio all but prefers it to them and clearly to
   every other name ("only to be noticed" -> peanuts).

Proposals go into the transcript's ``extra["rescored"]``; the note stage turns each into a
:class:`~carepipe.engines.nlp.correction.Correction` of kind ``rescored``, so every item built
on it carries ``asr_corrected:rescored`` and waits for review. Nothing is changed silently.
Thresholds were set on the scribe evaluation's dev split (docs/scribe.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from carepipe.engines.asr.audio import SAMPLE_RATE, decode_audio
from carepipe.engines.asr.loader import load_asr_engine
from carepipe.engines.asr.types import Transcript, real_time_factor
from carepipe.engines.asr.vocabulary import tenant_vocabulary
from carepipe.engines.nlp.allergies import allergen_slots
from carepipe.engines.nlp.correction import (
    MIN_LETTERS,
    MIN_SCORE_UNKNOWN_RANGE,
    WordSpan,
    dose_check,
    word_spans,
)
from carepipe.engines.nlp.drug_names import lookup_medication
from carepipe.engines.nlp.lexicon.conditions import ALLERGENS
from carepipe.engines.nlp.sounds_like import (
    Slot,
    best_in_slot,
    drug_slots,
    phonetic_code,
    rank,
    squash,
)

#: Candidates per slot (by sounds-like rank) scored by forced alignment.
TOP_K = 12
#: Candidates that sound less like the slot than this (0..100) are not scored.
MIN_SOUNDS = 40.0
#: Seconds of words kept on each side of the slot, and audio margin around the words.
WINDOW_SECONDS = 3.0
AUDIO_MARGIN = 0.2
#: A proposal's log-probability may be at most this far under the heard words' ...
MAX_DEFICIT = 20.0
#: ... and must lead the runner-up by at least this much (natural log units).
MIN_LEAD = 2.0
#: The proposal must also sound at least this much like the slot.
MIN_PROPOSAL_SOUNDS = 63.0
#: In an allergen slot the heard words may be this short (a drug slot needs
#: :data:`~carepipe.engines.nlp.correction.MIN_LETTERS`): the allergy question or the
#: reaction says a substance is named there ("Code I makes me vomit", "intolerant of codon").
MIN_ALLERGEN_LETTERS = 4
#: Cues of the slots where an allergen is expected: the answer to an allergy question, the
#: words before a reaction ("... makes me vomit"), the words after "allergic to".
ALLERGEN_CUES = frozenset({"answer", "reaction", "allergy"})
#: An allergen that sounds less like the slot than ``MIN_PROPOSAL_SOUNDS`` is proposed in an
#: allergen slot only when the audio all but prefers it to the heard words (at most this far
#: under them) and clearly to every other name ("only to be noticed" for "only to peanuts":
#: 0.9 under the heard words, 9 ahead of "tree nuts", sounds 54). Chosen on the dev split,
#: about midway between the right proposals that needed it (peanuts at 0.9 and 3.6 under the
#: heard words, clean and noisy) and the nearest wrong one ("tree nuts" heard "treat hurts":
#: wheat 7.1 under them and 5.3 ahead of the runner-up, refused).
ALLERGEN_MAX_DEFICIT = 5.0
ALLERGEN_MIN_LEAD = 5.0
ALLERGEN_MIN_SOUNDS = 50.0
#: ... and is an allergen or drug name (not a tenant's term). Drugs too: "as when makes my
#: breathing worse" (noisy dev e02) is aspirin at 1.7 under the heard words, 7 ahead.
ALLERGEN_RELAXED_SOURCES = frozenset({"allergen", "lexicon"})
#: Bump when the method changes (the benchmark keys its cache on it).
VERSION = "6"

_ALLERGY_CUE_RE = re.compile(
    r"(?:allerg\w*|intoleran\w*|react\w*|reaction)\s+(?:to|of|with)\s+$", re.IGNORECASE
)
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")
# Words of a vital sign or a lab result ("saturation is 91%", "HbA1c came back at 8%") and the
# words of a prescription itself ("start", "spray", "regular"): a span holding one is not a
# drug's name misheard ("spray" is not aspirin, "start" is not insulin aspart).
_NOT_A_NAME_RE = re.compile(
    r"\b(?:saturations?|sats|oxygen|pulse|heart|rate|temperature|pressure|weight|glucose"
    r"|sugar|back|level|reading|start|stop|take|give|use|add|sprays?|regular|tablets?"
    r"|inhalers?|creams?|gel|drops?|patch|injections?|nasal|daily|once|twice|dose)\b",
    re.IGNORECASE,
)

#: A forced token and its log-probability.
Token = tuple[int, float]
#: ``scorer(samples, texts)`` -> per text, its forced tokens and their log-probabilities.
Scorer = Callable[[Any, Sequence[str]], list[list[Token]]]


@dataclass(frozen=True)
class Option:
    """A name that could stand in a slot: ``text[start:end]`` replaced by ``name``."""

    name: str
    canonical: str
    start: int
    end: int
    sounds: float  # 0..100, sounds-like similarity (100 for a tenant term heard exactly)
    source: str  # "lexicon" | "vocabulary" | "allergen"


@dataclass
class SlotWindow:
    """One slot to rescore: its options, the window of words and audio around it."""

    start: int
    end: int
    cue: str
    options: list[Option]
    text_start: int = 0
    text_end: int = 0
    t_start: float = 0.0
    t_end: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # option name -> vs heard
    tokens: list[list[Token]] = field(default_factory=list)  # heard, then each option


def _is_name(phrase: str) -> bool:
    return lookup_medication(phrase) is not None or phrase.lower() in _allergen_names()


@lru_cache(maxsize=1)
def _allergen_names() -> frozenset[str]:
    names = set(ALLERGENS)
    for synonyms in ALLERGENS.values():
        names.update(s.lower() for s in synonyms)
    return frozenset(names)


def _runs(text: str, slot: Slot) -> list[tuple[int, int]]:
    """The word runs of ``slot`` a name may fill (as :func:`best_in_slot` tries them): the
    name ends the slot before a dose or a reaction, and starts it otherwise."""
    spans = [(m.start(), m.end()) for m in _WORD_RE.finditer(text, slot.start, slot.end)]
    if slot.cue in ("dose", "reaction"):
        return [(spans[-n][0], spans[-1][1]) for n in range(1, len(spans) + 1)]
    return [(spans[0][0], spans[n - 1][1]) for n in range(1, len(spans) + 1)]


def _already_named(text: str, slot: Slot) -> bool:
    """A run of the slot, or one of its words, is already a drug or allergen name."""
    if any(_is_name(text[s:e]) for s, e in _runs(text, slot)):
        return True
    return any(_is_name(m.group()) for m in _WORD_RE.finditer(text, slot.start, slot.end))


def _letters_ratio(a: str, b: str) -> float:
    from rapidfuzz import fuzz

    return float(fuzz.ratio(squash(a), squash(b)))


def _sounds(a: str, b: str) -> float:
    """How much ``a`` sounds like ``b`` (0..100): Metaphone codes and letters, weighted as
    :func:`carepipe.engines.nlp.sounds_like.rank` weighs them ("Beastings" / "bee stings")."""
    from rapidfuzz import fuzz

    code = fuzz.ratio(phonetic_code(a), phonetic_code(b))
    return round(0.55 * code + 0.45 * _letters_ratio(a, b), 1)


def allergen_options(text: str, slot: Slot, *, k: int = TOP_K) -> list[Option]:
    """Candidates for an allergen slot (:func:`carepipe.engines.nlp.allergies.allergen_slots`):
    the ``k`` drug names and the ``k`` allergen-lexicon names (synonyms included: "bee
    stings", "sticking plasters") that sound most like one of the slot's word runs."""
    runs = _runs(text, slot)
    drugs: dict[str, Option] = {}
    for s, e in runs:
        for c in rank(text[s:e], limit=k):
            if c.score < MIN_SOUNDS or _NOT_A_NAME_RE.search(text[s:e]):
                continue
            if c.canonical not in drugs or c.score > drugs[c.canonical].sounds:
                drugs[c.canonical] = Option(c.name, c.canonical, s, e, c.score, "lexicon")
    allergens: dict[str, Option] = {}
    for name, canonical in _allergen_surfaces():
        best = max(runs, key=lambda r: _sounds(text[r[0] : r[1]], name))
        sounds = _sounds(text[best[0] : best[1]], name)
        if sounds >= MIN_SOUNDS and (name not in allergens or sounds > allergens[name].sounds):
            allergens[name] = Option(name, canonical, best[0], best[1], sounds, "allergen")
    by_sound = sorted(drugs.values(), key=lambda o: -o.sounds)[:k]
    by_sound += sorted(allergens.values(), key=lambda o: -o.sounds)[:k]
    return by_sound


@lru_cache(maxsize=1)
def _allergen_surfaces() -> tuple[tuple[str, str], ...]:
    """(name as said, allergen) for every allergen and synonym of the lexicon."""
    out = [(a, a) for a in ALLERGENS]
    out += [(s.lower(), a) for a, synonyms in ALLERGENS.items() for s in synonyms]
    return tuple(out)


def slot_options(
    text: str, slot: Slot, vocabulary: Sequence[str] = (), *, k: int = TOP_K
) -> list[Option]:
    """Candidates for ``slot``: top ``k`` lexicon names, tenant terms, allergens."""
    lexicon = [
        c
        for c in best_in_slot(text, slot, limit=k)
        if c.score >= MIN_SOUNDS and not _NOT_A_NAME_RE.search(c.phrase)
    ]
    options = [Option(c.name, c.canonical, c.start, c.end, c.score, "lexicon") for c in lexicon]
    runs = _runs(text, slot)[:3]
    extra: list[tuple[str, str, str]] = [
        (v, lookup_medication(v) or v, "vocabulary") for v in vocabulary
    ]
    if _after_allergy_cue(text, slot):
        extra += [(a, a, "allergen") for a in ALLERGENS]
    for name, canonical, source in extra:
        best = max(runs, key=lambda r: _letters_ratio(text[r[0] : r[1]], name))
        sounds = _letters_ratio(text[best[0] : best[1]], name)
        if source == "vocabulary" or sounds >= MIN_SOUNDS:
            options.append(Option(name, canonical, best[0], best[1], sounds, source))
    seen: set[str] = set()
    unique = []
    for o in options:
        if o.name.lower() not in seen:
            seen.add(o.name.lower())
            unique.append(o)
    return unique


def _after_allergy_cue(text: str, slot: Slot) -> bool:
    """A verb slot right after "allergic to", "intolerant of", "reaction to"..."""
    return slot.cue == "verb" and bool(
        _ALLERGY_CUE_RE.search(text[max(0, slot.start - 30) : slot.start])
    )


def find_windows(
    text: str, words: Sequence[WordSpan], vocabulary: Sequence[str] = (), *, k: int = TOP_K
) -> list[SlotWindow]:
    """Slots worth rescoring (merged when they overlap), each with its window of words:
    the drug slots, and the allergen slots (the answer to an allergy question, the words
    before a reaction) with the allergen lexicon among their candidates."""
    slots = [(slot, False) for slot in drug_slots(text)]
    slots += [(Slot(s, e, text[s:e], cue), True) for s, e, cue in allergen_slots(text)]
    slots.sort(key=lambda x: (x[0].start, x[0].end))
    merged: list[SlotWindow] = []
    for slot, allergen in slots:
        if _already_named(text, slot):
            continue
        if allergen:
            options = allergen_options(text, slot, k=k)
        else:
            options = slot_options(text, slot, vocabulary, k=k)
        floor = ALLERGEN_MIN_SOUNDS if allergen else MIN_PROPOSAL_SOUNDS
        if not any(o.sounds >= floor for o in options):
            continue  # nothing here could be proposed: not worth the decoder's time
        cue = "allergy" if _after_allergy_cue(text, slot) else slot.cue
        if merged and slot.start < merged[-1].end:
            last = merged[-1]
            last.end = max(last.end, slot.end)
            names = {o.name for o in last.options}
            last.options += [o for o in options if o.name not in names]
            if cue in ALLERGEN_CUES and last.cue not in ALLERGEN_CUES:
                last.cue = cue
            continue
        merged.append(SlotWindow(slot.start, slot.end, cue, options))
    return [w for w in merged if _place(w, words)]


def _place(window: SlotWindow, words: Sequence[WordSpan]) -> bool:
    """Set the window's words and audio times; False when the slot has no timed words."""
    lo = min(o.start for o in window.options)
    hi = max(o.end for o in window.options)
    inside = [w for w in words if w.start < hi and lo < w.end]
    if not inside:
        return False
    t0 = inside[0].t_start - WINDOW_SECONDS
    t1 = inside[-1].t_end + WINDOW_SECONDS
    around = [w for w in words if w.t_start >= t0 and w.t_end <= t1]
    around = [*around, *inside]
    window.text_start = min(w.start for w in around)
    window.text_end = max(w.end for w in around)
    window.t_start = max(0.0, min(w.t_start for w in around) - AUDIO_MARGIN)
    window.t_end = max(w.t_end for w in around) + AUDIO_MARGIN
    return True


def variant(text: str, window: SlotWindow, option: Option | None) -> str:
    """The window's text, as heard (``option`` None) or with ``option`` in the slot."""
    if option is None:
        return text[window.text_start : window.text_end]
    return text[window.text_start : option.start] + option.name + text[option.end : window.text_end]


def score_window(text: str, window: SlotWindow, samples: Any, scorer: Scorer) -> None:
    """Fill ``window.scores`` (each option against the heard words, :func:`compare`) and
    ``window.tokens`` from one forced alignment of every variant of the window."""
    audio = samples[int(window.t_start * SAMPLE_RATE) : int(window.t_end * SAMPLE_RATE)]
    texts = [variant(text, window, None), *(variant(text, window, o) for o in window.options)]
    scored = scorer(audio, texts)
    window.tokens = [[(int(t), round(float(lp), 3)) for t, lp in one] for one in scored]
    window.scores = _scores(window.options, window.tokens)


def _scores(options: Sequence[Option], tokens: Sequence[Sequence[Token]]) -> dict[str, float]:
    """Each option's :func:`compare` against the heard words (``tokens[0]``)."""
    return {o.name: compare(tokens[0], one) for o, one in zip(options, tokens[1:], strict=True)}


def compare(heard: Sequence[Token], option: Sequence[Token]) -> float:
    """How much better (> 0) or worse the audio supports the option than the heard words:
    the difference of the windows' total log-probabilities (what differs is the slot and how
    the words after it follow from it; on dev this ranked the right name first more often
    than the per-token mean of the differing tokens, docs/scribe.md)."""
    return round(sum(lp for _, lp in option) - sum(lp for _, lp in heard), 3)


def decide(
    text: str,
    window: SlotWindow,
    *,
    max_deficit: float = MAX_DEFICIT,
    min_lead: float = MIN_LEAD,
    min_sounds: float = MIN_PROPOSAL_SOUNDS,
) -> dict[str, Any] | None:
    """The proposal for a scored window, or None (too far under the heard words, no clear
    winner, too unlike the slot, or a dose next to it outside the drug's usual range)."""
    options = [o for o in window.options if not _NOT_A_NAME_RE.search(text[o.start : o.end])]
    ranked = sorted(options, key=lambda o: -window.scores.get(o.name, -1e9))
    if not ranked:
        return None
    best = ranked[0]
    delta = window.scores[best.name]
    runner = next((o for o in ranked[1:] if o.canonical != best.canonical), None)
    lead = delta - window.scores[runner.name] if runner is not None else 99.0
    if delta < -max_deficit or lead < min_lead:
        return None
    if best.sounds < min_sounds and not (
        window.cue in ALLERGEN_CUES
        and best.source in ALLERGEN_RELAXED_SOURCES
        and best.sounds >= ALLERGEN_MIN_SOUNDS
        and delta >= -ALLERGEN_MAX_DEFICIT
        and lead >= ALLERGEN_MIN_LEAD
    ):
        return None
    min_letters = MIN_ALLERGEN_LETTERS if window.cue in ALLERGEN_CUES else MIN_LETTERS
    if len(squash(text[best.start : best.end])) < min_letters:
        return None  # "late" -> folate: too few letters to be a name misheard (as correction)
    dose, fits = dose_check(text, best.end, best.canonical)
    if fits is False:
        return None  # a dose next to it the drug is never given at
    if dose is not None and fits is None and best.sounds < MIN_SCORE_UNKNOWN_RANGE:
        return None  # a dose no range can vouch for: only a close-sounding name (as correction)
    return {
        "start": best.start,
        "end": best.end,
        "original": text[best.start : best.end],
        "replacement": best.name,
        "canonical": best.canonical,
        "score": round(delta, 3),
        "evidence": {
            "vs_heard": round(delta, 3),
            "lead": round(lead, 3),
            "sounds": best.sounds,
            "source": best.source,
            "cue": window.cue,
            "dose": dose,
            "dose_in_usual_range": fits,
            "runner_up": None
            if runner is None
            else {"name": runner.name, "vs_heard": window.scores[runner.name]},
            "window": [round(window.t_start, 2), round(window.t_end, 2)],
        },
    }


def rescore(
    transcript: Any,
    samples: Any,
    scorer: Scorer,
    vocabulary: Sequence[str] = (),
    *,
    k: int = TOP_K,
) -> dict[str, Any]:
    """Score every drug slot of ``transcript`` (its text and word timestamps) on ``samples``
    (16 kHz mono float audio). Returns ``{"windows": [...], "cpu_seconds": ...}``: per
    window the options and their scores, what :func:`proposals` decides from."""
    cpu0 = time.process_time()
    text = transcript.text
    windows = find_windows(text, word_spans(transcript), vocabulary, k=k)
    for w in windows:
        score_window(text, w, samples, scorer)
    return {
        "version": VERSION,
        "windows": [_window_dict(w) for w in windows],
        "cpu_seconds": round(time.process_time() - cpu0, 3),
    }


def _window_dict(w: SlotWindow) -> dict[str, Any]:
    return {
        "start": w.start,
        "end": w.end,
        "cue": w.cue,
        "text": [w.text_start, w.text_end],
        "time": [round(w.t_start, 3), round(w.t_end, 3)],
        "options": [{**o.__dict__, "delta": w.scores.get(o.name)} for o in w.options],
        "tokens": w.tokens,
    }


def _window_from(d: dict[str, Any]) -> SlotWindow:
    options = [Option(**{k: v for k, v in o.items() if k != "delta"}) for o in d["options"]]
    w = SlotWindow(d["start"], d["end"], d["cue"], options, *d["text"], *d["time"])
    w.tokens = [[(int(t), float(lp)) for t, lp in one] for one in d.get("tokens") or []]
    if len(w.tokens) == len(options) + 1:
        w.scores = _scores(options, w.tokens)
    else:
        w.scores = {o["name"]: o["delta"] for o in d["options"] if o["delta"] is not None}
    return w


def proposals(text: str, scored: dict[str, Any], **thresholds: float) -> list[dict[str, Any]]:
    """The changes :func:`decide` proposes for the windows :func:`rescore` scored."""
    out = []
    for d in scored.get("windows", []):
        p = decide(text, _window_from(d), **thresholds)
        if p is not None:
            out.append(p)
    return out


def score_slots(settings: Any, tenant: str, audio: bytes, t: Transcript) -> dict[str, Any] | None:
    """The drug slots of ``t`` scored by forced alignment on the engine's loaded model
    (:mod:`carepipe.engines.asr.slot_rescoring`); None when ``asr_rescore_slots`` is off or
    the engine cannot score (a remote engine, a transcript without word timestamps)."""
    if not getattr(settings, "asr_rescore_slots", False) or not t.words:
        return None
    scorer = getattr(load_asr_engine(settings), "forced_logprobs", None)
    if scorer is None:
        return None
    samples = decode_audio(audio, sampling_rate=SAMPLE_RATE)
    vocabulary = tenant_vocabulary(settings, tenant)
    return rescore(t, samples, scorer, vocabulary)


def with_rescoring(t: Transcript, scored: dict[str, Any]) -> Transcript:
    """``t`` with the rescoring's proposals in ``extra["rescored"]`` (the note stage makes
    them corrections) and what it cost in ``extra["rescore"]``."""
    changes = proposals(t.text, scored)
    summary = {
        "version": scored.get("version"),
        "windows": len(scored.get("windows", [])),
        "cpu_seconds": scored.get("cpu_seconds"),
    }
    return Transcript(
        **{**t.__dict__, "extra": {**t.extra, "rescored": changes, "rescore": summary}}
    )


def rescore_transcript(settings: Any, tenant: str, audio: bytes, t: Transcript) -> Transcript:
    """What the scribe's ASR stage applies: :func:`score_slots` then :func:`with_rescoring`,
    the time it took added to the transcript's processing time and RTF (unchanged when the
    rescoring is off or cannot run)."""
    started = time.perf_counter()
    scored = score_slots(settings, tenant, audio, t)
    if scored is None:
        return t
    t = with_rescoring(t, scored)
    seconds = round(t.processing_seconds + (time.perf_counter() - started), 4)
    rtf = real_time_factor(seconds, t.audio_seconds)
    return Transcript(**{**t.__dict__, "processing_seconds": seconds, "rtf": rtf})
