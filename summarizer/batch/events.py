"""Group articles into events: TF-IDF cosine similarity within a time window, assigned incrementally.

This is single-pass clustering as used in topic detection and tracking: each new article
is compared with the events whose time span (widened by ``window``) contains its published
time (an undated article is compared with every event the run has read so far); it
joins the most similar one if the cosine similarity between its TF-IDF vector and the
event's centroid reaches ``threshold``, and otherwise starts a new event. Nothing is ever
re-clustered, so an event's id and members are stable across runs and a brief can be
refreshed when (and only when) new articles join it.

Vectors: words of three or more letters, lower-cased, English stop words and reporting
verbs removed, a plural "s" folded; the title counts twice. Weights are sublinear term
frequency times smoothed IDF, ``(1 + ln tf) * (ln((1 + N) / (1 + df)) + 1)``, over the
document frequencies of the articles stored before it and itself (incremental IDF, see
:mod:`summarizer.batch.grouping`, which places each article as it is stored). Each
vector keeps its ``TOP_TERMS`` heaviest terms and is L2-normalised; an event centroid is the
sum of its members' vectors, truncated to ``CENTROID_TERMS`` terms.

The default threshold, 0.15, separates the three reports of the al-Hasakeh prison break in
``examples/hasakah`` (pairwise 0.16–0.19: different angles on one event, and the centroid
only gets closer as members join) from unrelated news (about 0.01). The window (3 days) suits
news about one incident. Both are options of ``summarizer batch``.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_THRESHOLD = 0.15
DEFAULT_WINDOW_DAYS = 3.0
TOP_TERMS = 60
CENTROID_TERMS = 200

_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]{3,}", re.UNICODE)
_STOP_WORDS_TEXT = """
    a about above across after afterwards again against all almost alone along already also although always am among
    an and another any anyone anything anyway anywhere are around as at back be became because become becomes been
    before beforehand behind being below beside besides between beyond both but by can cannot could did do does doing
    done down during each either else elsewhere enough even ever every everyone everything everywhere except few first
    for former formerly from further had has have having he hence her here hereafter hereby herein him himself his how
    however i if in indeed into is it its itself just last latter least less made make many may me meanwhile might
    more moreover most mostly much must my myself namely neither never nevertheless next no nobody none nor not nothing
    now nowhere of off often on once one only onto or other others otherwise our ours ourselves out over own part per
    perhaps please put rather same see seem seemed seeming seems several she should since so some somehow someone
    something sometime sometimes somewhere still such than that the their them themselves then thence there thereafter
    thereby therefore therein thereupon these they this those though through throughout thus to together too toward
    towards under until up upon us very via was we well were what whatever when whence whenever where whereafter
    whereas whereby wherein whereupon wherever whether which while who whoever whole whom whose why will with within
    without would yet you your yours yourself yourselves
    said says say saying told tell tells according reported reports report added adding stated statement news agency
    also new year years day days week weeks month months today yesterday tomorrow monday tuesday wednesday thursday
    friday saturday sunday mr mrs ms people time including near
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())


def terms(title: str, text: str) -> Counter[str]:
    """Term counts of an article: content words, the title counted twice."""
    counts = Counter(filter(None, map(_term, _WORD.findall(title.casefold()))))
    for word in counts:
        counts[word] *= 2
    counts.update(filter(None, map(_term, _WORD.findall(text.casefold()))))
    return counts


@functools.lru_cache(maxsize=1 << 16)
def _term(word: str) -> str | None:
    """The term a case-folded word counts as (possessive and plural ``s`` dropped), or None if it is not one."""
    word = word.replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) < 3 or word in STOP_WORDS:
        return None
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    return word


def tfidf(counts: Mapping[str, int], doc_freq: Mapping[str, int], doc_count: int) -> dict[str, float]:
    """The L2-normalised TF-IDF vector of ``counts``, truncated to its ``TOP_TERMS`` heaviest terms."""
    weights = {
        term: (1.0 + math.log(tf)) * (math.log((1 + doc_count) / (1 + doc_freq.get(term, 0))) + 1.0)
        for term, tf in counts.items()
        if tf > 0
    }
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS]
    return normalized(dict(top))


def normalized(vector: Mapping[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {t: w / norm for t, w in vector.items()} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    return _cosine(a, b, norm(a), norm(b))


def norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


def _cosine(a: Mapping[str, float], b: Mapping[str, float], norm_a: float, norm_b: float) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(t, 0.0) for t, w in a.items())
    return dot / (norm_a * norm_b) if norm_a and norm_b else 0.0


@dataclass
class Event:
    id: int
    label: str
    centroid: dict[str, float]
    size: int
    first_at: float
    last_at: float
    _norm: float | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def norm(self) -> float:
        """The centroid's length, kept until a member joins (every candidate event's, for every article)."""
        if self._norm is None:
            self._norm = norm(self.centroid)
        return self._norm

    def add(self, vector: Mapping[str, float], at: float | None) -> None:
        merged = dict(self.centroid)
        for term, weight in vector.items():
            merged[term] = merged.get(term, 0.0) + weight
        self.centroid = dict(sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:CENTROID_TERMS])
        self._norm = None
        self.size += 1
        if at is not None:
            self.first_at = min(self.first_at, at)
            self.last_at = max(self.last_at, at)


@dataclass
class EventIndex:
    """Open events and an inverted index from centroid terms to events, for incremental assignment."""

    threshold: float = DEFAULT_THRESHOLD
    window: float = DEFAULT_WINDOW_DAYS * 86400.0
    events: dict[int, Event] = field(default_factory=dict)
    _by_term: dict[str, set[int]] = field(default_factory=dict)

    def add_event(self, event: Event) -> None:
        self.events[event.id] = event
        self._index(event)

    def _index(self, event: Event) -> None:
        for term in event.centroid:
            self._by_term.setdefault(term, set()).add(event.id)

    def best(self, vector: Mapping[str, float], at: float | None) -> tuple[Event, float] | None:
        """The most similar event in the time window at or above the threshold (ties: the oldest).

        ``at`` None (an undated article) matches events of any time.
        """
        candidates: set[int] = set()
        for term in vector:
            candidates |= self._by_term.get(term, set())
        best: tuple[Event, float] | None = None
        length = norm(vector)
        for event_id in sorted(candidates):
            event = self.events[event_id]
            if at is not None and not (event.first_at - self.window <= at <= event.last_at + self.window):
                continue
            score = _cosine(vector, event.centroid, length, event.norm)
            if score >= self.threshold and (best is None or score > best[1]):
                best = (event, score)
        return best

    def join(self, event: Event, vector: Mapping[str, float], at: float | None) -> None:
        event.add(vector, at)
        self._index(event)
