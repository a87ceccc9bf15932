"""Word-level helpers the analysis shares: content-word stems and how much two sentences talk about the same thing."""

from __future__ import annotations

import re
from functools import lru_cache

from summarizer.claims import fold

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
"""A word: letters, with one apostrophe inside at most ("isn't", "O’Neill")."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


FUNCTION_WORDS = _words(
    "a an and are as at be been by for had has have in is it its of on or that the this to was were with"
)
"""Words that carry no content at all: a run of only these says nothing."""
DATE_WORDS = _words(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july august "
    "september october november december"
)
"""Weekdays and months: capitalised, but not names."""
STOPWORDS = (
    FUNCTION_WORDS
    | DATE_WORDS
    | _words(
        "about according after again all also although any because before being both but can could did do does "
        "down dr during each even few from further gov he her here him his how i if into just me might more most mr "
        "mrs ms must my new no nor not off once one only onto other our out over own president rep said same say "
        "says sen shall she should since so some still such than their them then there these they those though "
        "three told too two under until up very we what when where whether which while who whom whose why will "
        "would yet you your"
    )
)


STEM = 5
"""Words compared by their first letters: "prison" and "prisoners", "vote" and "voted" count as the same."""


@lru_cache(maxsize=16384)
def stems(text: str) -> frozenset[str]:
    """Content-word stems of ``text``: folded, stopwords and one-letter words dropped, cut to ``STEM`` letters."""
    return frozenset(
        w[:STEM] for w in (m.group(0) for m in WORD.finditer(fold(text))) if len(w) > 1 and w not in STOPWORDS
    )


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two stem sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of the smaller set found in the larger: a short sentence restating part of a long one scores high."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
