"""The dated events of a story in calendar order, one entry per sentence that dates something."""

from __future__ import annotations

from collections.abc import Sequence

from summarizer.analysis.findings import SentenceInfo
from summarizer.analysis.model import Dated

MAX_ENTRIES = 20


def timeline(sentences: Sequence[SentenceInfo]) -> list[Dated]:
    """Each sentence's most precise date (a day over a range, resolved over unresolved), sorted by it.

    Unresolved dates (a weekday in an undated article) come last, in article order: shown, never guessed.
    """
    entries: list[Dated] = []
    for info in sentences:
        if not info.dates:
            continue
        best = min(
            info.dates,
            key=lambda d: (d.first is None, not d.is_day, d.resolution == "explicit" and not d.is_day, d.start),
        )
        sort_key = best.first.isoformat() if best.first else "9999"
        entries.append(Dated(info.ref, best.text, best.iso, best.resolution, best.how, sort_key))
    order = {id(e): i for i, e in enumerate(entries)}
    entries.sort(key=lambda e: (e.sort_key, order[id(e)]))
    return entries[:MAX_ENTRIES]
