"""Points two or more articles make: one sentence from each, saying much the same with the same names and numbers."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from summarizer.analysis.findings import SentenceInfo
from summarizer.analysis.model import Agreement
from summarizer.analysis.text import containment, overlap

AGREEMENT = 0.5
"""Least containment of content stems for two sentences to make the same point."""
MIN_SHARED = 4
MAX_POINTS = 8


def agreements(sentences: Sequence[SentenceInfo]) -> list[Agreement]:
    pairs = []
    for a, b in itertools.combinations(sentences, 2):
        if a.article_id == b.article_id:
            continue
        shared = a.stems & b.stems
        score = containment(a.stems, b.stems)
        if len(shared) < MIN_SHARED or score < AGREEMENT:
            continue
        amounts_a = {q.value for q in a.quantities if q.exact}
        amounts_b = {q.value for q in b.quantities if q.exact}
        if amounts_a and amounts_b and not amounts_a & amounts_b:
            continue  # the same words with other numbers: a possible discrepancy, not agreement
        pairs.append((score + overlap(a.stems, b.stems), a, b))
    points: list[Agreement] = []
    used: set[object] = set()
    for score, a, b in sorted(pairs, key=lambda p: (-p[0], str(p[1].ref), str(p[2].ref))):
        if a.ref in used or b.ref in used:
            continue
        used.update((a.ref, b.ref))
        values = tuple(sorted(a.names & b.names))
        points.append(Agreement(refs=(a.ref, b.ref), values=values, score=round(score, 3)))
        if len(points) >= MAX_POINTS:
            break
    return points
