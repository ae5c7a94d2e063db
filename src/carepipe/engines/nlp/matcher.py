"""Phrase matching over word tokens: longest match against a lexicon, with character spans.

Every lexicon (medications, conditions, symptoms, allergens) is matched the same way:
lower-cased word tokens, hyphens and apostrophes folded, longest phrase first, never
inside a word ("pan" does not match in "pancreatitis").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True)
class Token:
    """A word with its character span in the text it came from."""

    text: str  # lower-cased, apostrophe removed
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Word tokens (letters/digits), lower-cased, with spans."""
    return [
        Token(m.group(0).lower().replace("'", ""), m.start(), m.end())
        for m in _WORD_RE.finditer(text)
    ]


def phrase_key(phrase: str) -> tuple[str, ...]:
    """The token tuple a lexicon phrase is matched by."""
    return tuple(t.text for t in tokenize(phrase.replace("-", " ").replace("/", " ")))


@dataclass(frozen=True)
class PhraseMatch:
    """A lexicon phrase found in the text."""

    key: str  # the canonical entry the phrase belongs to
    surface: str  # the text as written
    start: int
    end: int
    token_start: int  # index into the token list
    token_end: int


DETERMINERS = frozenset({"the", "a", "an", "my", "his", "her", "your", "their", "our", "its"})


class PhraseMatcher:
    """Longest-match lookup of many phrases (each mapped to a canonical key).

    ``plurals``: "tension headaches" matches "tension headache".
    ``skip_determiners``: determiners inside a phrase are ignored on both sides, so
    "blood in the stool" and "blood in stool" are one phrase ("the" never starts a match).
    """

    def __init__(
        self,
        phrases: Iterable[tuple[str, str]],
        *,
        plurals: bool = False,
        skip_determiners: bool = False,
    ) -> None:
        self._skip = DETERMINERS if skip_determiners else frozenset()
        self._table: dict[tuple[str, ...], str] = {}
        self._max_len = 1
        plural_forms: list[tuple[tuple[str, ...], str]] = []
        for phrase, key in phrases:
            k = self._key(phrase)
            if not k:
                continue
            # First writer wins, so callers list canonical names before synonyms.
            self._table.setdefault(k, key)
            self._max_len = max(self._max_len, len(k))
            if plurals and len(k[-1]) > 3 and not k[-1].endswith("s"):
                plural_forms.append(((*k[:-1], k[-1] + "s"), key))
        # Plurals ("tension headaches") never override a phrase of their own.
        for k, key in plural_forms:
            self._table.setdefault(k, key)

    def _key(self, phrase: str) -> tuple[str, ...]:
        k = phrase_key(phrase)
        if self._skip and len(k) > 1:
            k = (k[0], *(w for w in k[1:] if w not in self._skip))
        return k

    def __contains__(self, phrase: str) -> bool:
        return self._key(phrase) in self._table

    def lookup(self, phrase: str) -> str | None:
        """The canonical key of an exact phrase, or None."""
        return self._table.get(self._key(phrase))

    def find(self, text: str, tokens: list[Token] | None = None) -> list[PhraseMatch]:
        """All non-overlapping longest matches, left to right."""
        toks = tokens if tokens is not None else tokenize(text)
        words = [t.text for t in toks]
        out: list[PhraseMatch] = []
        i = 0
        while i < len(toks):
            hit = None
            # Candidate phrases starting at i: the first word, then up to max_len more
            # words, skipping determiners after the first.
            cand: list[str] = [words[i]]
            ends: list[int] = [i + 1]
            j = i + 1
            while j < len(toks) and len(cand) < self._max_len:
                if words[j] not in self._skip:
                    cand.append(words[j])
                    ends.append(j + 1)
                j += 1
            for n in range(len(cand), 0, -1):
                key = self._table.get(tuple(cand[:n]))
                if key is not None:
                    hit = (key, ends[n - 1])
                    break
            if hit is None:
                i += 1
                continue
            key, end = hit
            s, e = toks[i].start, toks[end - 1].end
            out.append(PhraseMatch(key, text[s:e], s, e, i, end))
            i = end
        return out


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            best = min(best, cur[j])
        if best > limit:
            return limit + 1
        prev = cur
    return prev[-1]
