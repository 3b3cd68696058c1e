"""Near spellings of a word no stored article holds: "thunburg" for "thunberg".

People type names from memory and on phone keyboards; a name spelled one letter off would
otherwise match nothing at all. Only words missing from the whole corpus are looked at, so a
correctly spelled question never changes, and not English words either: "annulled" is one
letter from "annual", but nobody typed it for that.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping

from spellchecker import SpellChecker

_LETTERS = string.ascii_lowercase


def can_respell(term: str, min_letters: int) -> bool:
    """Whether a term is plain letters, at least ``min_letters`` of them: shorter words have
    too many real neighbours ("dutch" is one letter from "ditch")."""
    return len(term) >= min_letters and term.isalpha() and term.isascii()


@functools.cache
def _english_words() -> frozenset[str]:
    # Loaded on first use (about 0.2 s), on a store thread; only the words are kept.
    return frozenset(SpellChecker(language="en", distance=1).word_frequency.keys())


def is_english_word(word: str) -> bool:
    """Whether ``word`` is in an English dictionary of 160,000 words (any case)."""
    return word.lower() in _english_words()


def near_spellings(term: str) -> list[str]:
    """Every term one edit away (a letter left out, added, changed, or two neighbours
    swapped) that keeps the first letter, which typos rarely touch; sorted."""
    splits = [(term[:i], term[i:]) for i in range(1, len(term) + 1)]
    found = {a + b[1:] for a, b in splits if b}
    found.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    found.update(a + c + b[1:] for a, b in splits if b for c in _LETTERS)
    found.update(a + c + b for a, b in splits for c in _LETTERS)
    found.discard(term)
    return sorted(found)


def likeliest(doc_freqs: Mapping[str, int]) -> str | None:
    """Of the stored near spellings (with the passages holding each), the one most used;
    alphabetical among equals, so the choice never varies."""
    if not doc_freqs:
        return None
    return min(doc_freqs, key=lambda term: (-doc_freqs[term], term))
