"""The dated events of a story in calendar order, one entry per sentence that dates something."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from summarizer.analysis.model import Dated
from summarizer.analysis.sentences import SentenceInfo

MAX_ENTRIES = 28
"""Entries a story's timeline keeps, taken from its most crowded days first (see ``_thinned``)."""
PER_SENTENCE = 2
"""A sentence may date two events ("overrode on Wednesday the veto of a bill about Sept. 11, 2001")."""


def timeline(sentences: Sequence[SentenceInfo]) -> list[Dated]:
    """Each sentence's most precise date (a day over a range, resolved over unresolved), sorted by it.

    Unresolved dates (a weekday in an undated article) come last, in article order: shown, never guessed.
    """
    entries: list[Dated] = []
    for info in sentences:
        ranked = sorted(
            info.dates,
            key=lambda d: (d.first is None, not d.is_day, d.resolution == "explicit" and not d.is_day, d.start),
        )
        kept: list[str | None] = []
        for mention in ranked:
            if len(kept) == PER_SENTENCE or mention.iso in kept or (kept and mention.iso is None):
                continue
            kept.append(mention.iso)
            sort_key = mention.first.isoformat() if mention.first else "9999"
            entries.append(
                Dated(info.ref, mention.text, mention.iso, mention.resolution, mention.how, sort_key, mention.context)
            )
    order = {id(e): i for i, e in enumerate(entries)}
    entries.sort(key=lambda e: (e.sort_key, order[id(e)]))
    return _thinned(entries)


def _thinned(entries: list[Dated]) -> list[Dated]:
    """At most MAX_ENTRIES, taken from the most crowded days (the day of the event, said in every other
    sentence), each losing its last-told entries first: a story's other days are not crowded out by its main one."""
    per_day = Counter(e.iso for e in entries)
    dropped: set[int] = set()
    while len(entries) - len(dropped) > MAX_ENTRIES:
        # The most crowded day; of equals, unresolved ones and then the latest give way first.
        day = max(per_day, key=lambda d: (per_day[d], d is None, d or ""))
        victim = next(e for e in reversed(entries) if e.iso == day and id(e) not in dropped)
        dropped.add(id(victim))
        per_day[day] -= 1
    return [e for e in entries if id(e) not in dropped]
