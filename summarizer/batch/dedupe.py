"""Exact and near-duplicate (syndicated) copies of an article.

*Exact* copies have the same content hash (``Document.sha256`` of title and text): the store
keeps one article and records each place it was seen.

*Near* copies — the same wire story with a different headline, byline or footer — are found
by the Jaccard similarity of the articles' sets of word 5-grams ("shingles"), estimated from
**bottom-k MinHash sketches**: hash every shingle once (a stable 63-bit BLAKE2b hash) and keep
the k = 128 smallest values. For two sketches, the k smallest values of their union are a
uniform sample of the union of the shingle sets, and the fraction of them present in both
sketches estimates the Jaccard similarity (standard error about sqrt(J(1-J)/k): ±0.035 at
J = 0.8). Candidates are found without comparing against every stored article: the 16
smallest values of each canonical sketch are indexed, and two near-identical texts share
most of their smallest shingle hashes.

A copy is a near-duplicate when the estimate reaches ``NEAR_DUPLICATE_JACCARD`` (0.8): a
story with a changed headline and an added or removed closing paragraph stays above it;
two different reports of the same event (shared names and places, different sentences)
score near 0 on 5-grams and are grouped as an event instead, not merged.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from typing import TypeVar

K = TypeVar("K")

SHINGLE_WORDS = 5
SKETCH_SIZE = 128
INDEXED_PREFIX = 16
"""How many of a sketch's smallest values go into the candidate index."""
MIN_SHARED = 5
"""Indexed values a stored article must share with a new one to be compared at all. A pair at
the threshold (J = 0.8) shares about 11 of its 16 smallest values; one at J = 0.4 about 4."""
NEAR_DUPLICATE_JACCARD = 0.8

_WORD = re.compile(r"\w+", re.UNICODE)
_MASK = (1 << 63) - 1  # SQLite integers are signed 64-bit


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[int]:
    """Stable 63-bit hashes of the word ``size``-grams of ``text`` (case-folded, punctuation ignored)."""
    words = _WORD.findall(text.casefold())
    if not words:
        return set()
    grams = [" ".join(words[i : i + size]) for i in range(max(len(words) - size + 1, 1))]
    return {int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "big") & _MASK for gram in grams}


def sketch(text: str, k: int = SKETCH_SIZE) -> tuple[int, ...]:
    """The bottom-k MinHash sketch of ``text``: its ``k`` smallest shingle hashes, ascending."""
    return tuple(sorted(shingles(text))[:k])


def jaccard(a: Sequence[int], b: Sequence[int], k: int = SKETCH_SIZE) -> float:
    """Estimated Jaccard similarity of the texts behind two bottom-k sketches."""
    if not a or not b:
        return 0.0
    # The k smallest values of the union sample it uniformly; count those that are in both sketches.
    mine = set(a)
    union = sorted(mine.union(b))[:k]
    cutoff = union[-1]
    shared = sum(1 for value in mine.intersection(b) if value <= cutoff)
    return shared / len(union)


def pack(values: Sequence[int]) -> bytes:
    return struct.pack(f">{len(values)}q", *values)


def unpack(data: bytes) -> tuple[int, ...]:
    return struct.unpack(f">{len(data) // 8}q", data)


def most_similar(
    new: Sequence[int], candidates: Iterable[tuple[K, Sequence[int]]], threshold: float
) -> tuple[K, float] | None:
    """The candidate (key, sketch) most similar to ``new`` at or above ``threshold``, with its
    similarity; of equals, the first given (callers give the oldest article first)."""
    best: tuple[K, float] | None = None
    for key, sketch in candidates:
        score = jaccard(new, sketch)
        if score >= threshold and (best is None or score > best[1]):
            best = (key, score)
    return best


def shares_index(new: Sequence[int], other: Sequence[int]) -> bool:
    """Whether ``new`` would find the canonical sketch ``other`` among its candidates: what
    ``Store.sketch_candidates`` asks of the stored ones, for one not stored yet."""
    prefix = new[:INDEXED_PREFIX]
    return len(set(prefix).intersection(other[:INDEXED_PREFIX])) >= min(MIN_SHARED, len(prefix))
