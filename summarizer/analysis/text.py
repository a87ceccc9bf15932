"""Word-level helpers the analysis shares: content-word stems and how much two sentences talk about the same thing."""

from __future__ import annotations

import re
from functools import lru_cache

from summarizer.claims import fold

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "as",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "after",
        "before",
        "during",
        "since",
        "until",
        "than",
        "then",
        "that",
        "this",
        "these",
        "those",
        "there",
        "here",
        "it",
        "its",
        "he",
        "she",
        "his",
        "her",
        "him",
        "they",
        "them",
        "their",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "not",
        "no",
        "nor",
        "so",
        "such",
        "too",
        "very",
        "just",
        "also",
        "only",
        "even",
        "still",
        "yet",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "own",
        "same",
        "said",
        "says",
        "say",
        "told",
        "according",
        "while",
        "because",
        "though",
        "although",
        "whether",
        "up",
        "down",
        "out",
        "off",
        "again",
        "further",
        "once",
        "new",
        "one",
        "two",
        "three",
        "mr",
        "mrs",
        "ms",
        "dr",
        "rep",
        "sen",
        "gov",
        "president",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
STEM = 5
"""Words compared by their first letters: "prison" and "prisoners", "vote" and "voted" count as the same."""


@lru_cache(maxsize=16384)
def stems(text: str) -> frozenset[str]:
    """Content-word stems of ``text``: folded, stopwords and one-letter words dropped, cut to ``STEM`` letters."""
    return frozenset(
        w[:STEM] for w in (m.group(0) for m in _WORD.finditer(fold(text))) if len(w) > 1 and w not in STOPWORDS
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
