"""Points two or more articles make, anchored on what they share: a figure, a distinctive name or word.

News sentences that agree rarely agree word for word: one says Brat spent "just over $200,000"
in a long sentence about his campaign, another gives "$200,000" in a sentence about Cantor's
money. So a point starts from an anchor, a figure, a distinctive word or a calendar day (one that
few sentences of the event use) found in sentences of two or more articles, and takes from each
article the sentence that shares the most anchors with the others (a figure or a day shared is a point
on its own; a word needs another beside it). Sentences that use the same
words with different figures are a possible discrepancy, never agreement; sentences of which one
negates what the other asserts ("sailed despite a storm warning", "left before any storm warning")
are a contradiction, never agreement. Pairs come from an index of the anchors, so the work grows
with the shared anchors, not with the square of the sentences.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal

from summarizer.analysis.model import Agreement, Ref
from summarizer.analysis.negation import contradicts
from summarizer.analysis.sentences import SentenceInfo
from summarizer.analysis.text import containment

RARE = 6
"""A word in at most this many sentences of the event is distinctive enough to anchor a point."""
MAX_POINTS = 16
MAX_USES = 4
"""A lead sentence states several agreed points; it may back this many."""
MIN_SCORE = 1.0
DAY_ONLY_WORDS = 0.2
"""The words two sentences sharing only a day must have in common (``containment``) to be one point."""


def _days(info: SentenceInfo) -> set[str]:
    """The calendar days the sentence names, resolved: "June 28" and "on 28 June" are one anchor."""
    return {f"@{d.iso}" for d in info.dates if d.is_day}


def _anchors(info: SentenceInfo, rare: frozenset[str]) -> set[str]:
    numbers = {f"#{format(q.value.normalize(), 'f')}" for q in info.quantities if q.exact and q.value >= 3}
    return numbers | ((info.stems | _days(info)) & rare)


def _conflict(a: SentenceInfo, b: SentenceInfo) -> bool:
    """The same thing counted differently: a possible discrepancy, not agreement."""
    for qa, qb in itertools.product(a.quantities, b.quantities):
        if qa.unit and qa.unit == qb.unit and not qa.agrees(qb):
            values_a: set[Decimal] = {q.value for q in a.quantities if q.unit == qa.unit}
            values_b: set[Decimal] = {q.value for q in b.quantities if q.unit == qb.unit}
            if not values_a & values_b:
                return True
    return False


def _opposed(a: SentenceInfo, b: SentenceInfo) -> bool:
    """One sentence negates what the other asserts: "sailed despite a storm warning" against "before any"."""
    return contradicts(a.text, b.text, a.stems & b.stems)


def agreements(sentences: Sequence[SentenceInfo]) -> list[Agreement]:
    frequency = Counter(stem for info in sentences for stem in info.stems | _days(info))
    rare = frozenset(stem for stem, n in frequency.items() if n <= RARE and len(stem) >= 4)
    anchors = {info.ref: _anchors(info, rare) for info in sentences}
    by_anchor: dict[str, list[SentenceInfo]] = defaultdict(list)
    for info in sentences:
        for anchor in anchors[info.ref]:
            by_anchor[anchor].append(info)
    candidates: dict[frozenset[Ref], tuple[float, tuple[Ref, ...], frozenset[str]]] = {}
    for holders in by_anchor.values():
        articles = {h.article_id for h in holders}
        if len(articles) < 2:
            continue
        members: list[SentenceInfo] = []
        for article in sorted(articles):
            own = [h for h in holders if h.article_id == article]
            others = set().union(*(anchors[h.ref] for h in holders if h.article_id != article))
            members.append(max(own, key=lambda h: (len(anchors[h.ref] & others), -h.order)))
        if any(_conflict(a, b) or _opposed(a, b) for a, b in itertools.combinations(members, 2)):
            continue
        shared = frozenset(set.intersection(*(anchors[m.ref] for m in members)))
        if len(shared) < 2 and not any(a[0] in "#@" for a in shared):
            continue  # one shared word is a coincidence as often as a point; a shared figure or day is not
        words = min(containment(a.stems, b.stems) for a, b in itertools.combinations(members, 2))
        if all(a.startswith("@") for a in shared) and words < DAY_ONLY_WORDS:
            continue  # the same day, and little else alike: two things that happened that day
        figures = sum(1 for a in shared if a.startswith("#"))
        score = len(shared) * 0.5 + figures * 0.5 + len(members) * 0.25 + words  # a figure is rarely shared by chance
        key = frozenset(m.ref for m in members)
        if score >= MIN_SCORE and (key not in candidates or candidates[key][0] < score):
            candidates[key] = (score, tuple(m.ref for m in members), shared)
    points: list[Agreement] = []
    uses: Counter[Ref] = Counter()
    covered: set[frozenset[str]] = set()
    for score, refs, shared in sorted(candidates.values(), key=lambda c: (-c[0], [str(r) for r in c[1]])):
        if any(uses[r] >= MAX_USES for r in refs) or shared in covered:
            continue
        if any(set(refs) <= set(p.refs) for p in points):
            continue  # a wider point already tells these sentences agree
        uses.update(refs)
        covered.add(shared)
        points.append(Agreement(refs=refs, values=tuple(sorted(shared)), score=round(score, 3)))
        if len(points) >= MAX_POINTS:
            break
    return points
