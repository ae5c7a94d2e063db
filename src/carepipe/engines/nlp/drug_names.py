"""The drug lexicon as a lookup: generic names, brands and synonyms to a generic and RxNorm.

Two tiers: the main lexicon (names, synonyms, brands: also the targets of ASR repair, see
``single_names``) and the wider list of generics read by exact spelling only
(:mod:`carepipe.engines.nlp.lexicon.wider_medications`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from carepipe.engines.nlp.lexicon.medications import BRANDS, GENERICS
from carepipe.engines.nlp.lexicon.wider_medications import WIDER_GENERICS, WIDER_SYNONYMS
from carepipe.engines.nlp.matcher import PhraseMatcher


@dataclass(frozen=True)
class Lexicon:
    matcher: PhraseMatcher
    rxnorm: dict[str, str | None]
    brand_keys: frozenset[tuple[str, ...]]
    single_names: tuple[str, ...]  # one-word names for fuzzy matching


@lru_cache(maxsize=1)
def drug_lexicon() -> Lexicon:
    phrases: list[tuple[str, str]] = []
    for name in GENERICS:
        phrases.append((name, name))
    for name, row in GENERICS.items():
        for syn in row["synonyms"]:  # type: ignore[union-attr]
            phrases.append((syn, name))
    for brand, generic in BRANDS.items():
        phrases.append((brand, generic))
    # Exact spellings only: never in ``single_names``, so nothing is repaired into them.
    phrases += [(name, name) for name in WIDER_GENERICS if name not in GENERICS]
    phrases += list(WIDER_SYNONYMS.items())
    from carepipe.engines.nlp.matcher import phrase_key

    singles = {name for name in GENERICS if " " not in name and len(name) >= 7}
    singles |= {
        s
        for row in GENERICS.values()
        for s in row["synonyms"]  # type: ignore[union-attr]
        if " " not in s and len(s) >= 7
    }
    return Lexicon(
        matcher=PhraseMatcher(phrases),
        rxnorm={n: r["rxnorm"] for n, r in GENERICS.items()},  # type: ignore[misc]
        brand_keys=frozenset(phrase_key(b) for b in BRANDS),
        single_names=tuple(sorted(singles)),
    )


def lookup_medication(name: str) -> str | None:
    """The canonical generic for a name, synonym or brand ("Tylenol" -> "acetaminophen")."""
    return drug_lexicon().matcher.lookup(name)


def rxnorm_code(name: str) -> str | None:
    """RxNorm ingredient RxCUI of a canonical generic, where known."""
    canonical = lookup_medication(name) or name
    return drug_lexicon().rxnorm.get(canonical)
