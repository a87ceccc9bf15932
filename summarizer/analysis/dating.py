"""Discrepancies of dates: one event put on two different days (or "since" two different years) once each date
is resolved against its article's publication date.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from summarizer.analysis.dates import DateMention
from summarizer.analysis.model import Finding, Side
from summarizer.analysis.names import name_key
from summarizer.analysis.sentences import (
    EVENT_WINDOW,
    SentenceInfo,
    date_window,
    dated_event_kinds,
    event_kinds,
    published_later,
    shared_names,
    shared_stem_pairs,
)
from summarizer.analysis.text import DATE_WORDS, containment
from summarizer.claims import names

DATE_CONTEXT = 0.25


DATE_SHARED = 1
"""Content words two dates' surroundings must share to be dates of one event."""
MAX_DATE_GAP = 7
"""Days apart, at most, for two dates to be disputed dates of one event (further apart, two events)."""


ACTOR_DATE_CONTEXT = 0.15
"""Less context is needed when both dates follow the same name ("the House on Thursday" / "the House ... Wednesday")."""


YEAR_CONTEXT = 0.3
"""Least containment of the words around two "since YEAR" dates for them to date one thing."""


def _actor(info: SentenceInfo, mention: DateMention) -> str | None:
    """The name just before a date ("the House on Thursday", "the House ... to override Wednesday")."""
    before = names(info.text[max(mention.start - EVENT_WINDOW, 0) : mention.start])
    before = [n for n in before if n.lower() not in DATE_WORDS]
    return name_key(before[-1]) if before else None


def date_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """One event dated differently by two sources, once both dates are resolved to the calendar."""
    dated = [s for s in sentences if any(d.first is not None for d in s.dates)]
    found = []
    seen: set[tuple[str, str]] = set()
    for a, b, _ in shared_stem_pairs(dated, 2, skip_common=False):
        if (str(a.ref), str(b.ref)) in seen:
            continue
        pair = _day_pair(a, b) or _year_pair(a, b)
        if pair is None:
            continue
        seen.add((str(a.ref), str(b.ref)))
        da, db = pair
        sides = (
            Side(value=f"{da.iso} ({da.text})", refs=(a.ref,), words=da.text),
            Side(value=f"{db.iso} ({db.text})", refs=(b.ref,), words=db.text),
        )
        topic = f"When it happened: {da.iso} ({da.text}) vs {db.iso} ({db.text})"
        later = published_later(a, b)
        note = None
        if later is not None:
            note = f"{later.article_id} was published later: the earlier report may give a plan or a first account"
        found.append(Finding("date", topic, sides, note, f"date:{a.ref}:{b.ref}"))
    return found


def _event_days(info: SentenceInfo) -> list[DateMention]:
    """Days that date something that happened: not counted from another date, not a deadline ("until Feb. 15")."""
    return [
        d
        for d in info.dates
        # A date counted from another ("a day after") is too easily anchored to the wrong one to contradict anything.
        if d.is_day and d.context != "date" and not _BOUND.search(info.text[max(d.start - 12, 0) : d.start])
    ]


_BOUND = re.compile(r"\b(?:until|through|till|by|before|after|deadline|ahead of)\s*(?:the\s*)?$", re.I)


def _day_pair(a: SentenceInfo, b: SentenceInfo) -> tuple[DateMention, DateMention] | None:
    days_a, days_b = _event_days(a), _event_days(b)
    if not days_a or not days_b or not shared_names(a, b):
        return None
    context = containment(a.stems, b.stems)
    for x, y in itertools.product(days_a, days_b):
        if not _near(x, y) or not event_kinds(a) & event_kinds(b) or context < ACTOR_DATE_CONTEXT:
            continue
        actor_x, actor_y = _actor(a, x), _actor(b, y)
        if (
            actor_x
            and actor_x == actor_y
            and not any(z.first == y.first and _actor(a, z) == actor_x for z in days_a)
            and not any(z.first == x.first and _actor(b, z) == actor_y for z in days_b)
        ):
            return x, y  # the House on Thursday vs the House on Wednesday, whatever else each sentence dates
    if context < DATE_CONTEXT or any(x.first == y.first for x in days_a for y in days_b):
        return None
    for x, y in itertools.product(days_a, days_b):
        if (
            _near(x, y)
            and dated_event_kinds(a, x) & dated_event_kinds(b, y)
            and len(date_window(a, x) & date_window(b, y)) >= DATE_SHARED
        ):
            return x, y
    return None


def _near(x: DateMention, y: DateMention) -> bool:
    """Different days at most ``MAX_DATE_GAP`` apart: further apart, two dates are of two events far more often."""
    assert x.first is not None and y.first is not None
    return 0 < abs((x.first - y.first).days) <= MAX_DATE_GAP


_SINCE = re.compile(r"\b(since|in)\s+((?:19|20)\d\d)\b", re.I)


def _year_pair(a: SentenceInfo, b: SentenceInfo) -> tuple[DateMention, DateMention] | None:
    """ "Has led since 2002" vs "has led since 2003": one start, two years."""
    years_a = [d for d in a.dates if d.resolution == "explicit" and not d.is_day and d.text.lower().startswith("since")]
    years_b = [d for d in b.dates if d.resolution == "explicit" and not d.is_day and d.text.lower().startswith("since")]
    for x, y in itertools.product(years_a, years_b):
        if x.first == y.first:
            continue
        if containment(date_window(a, x), date_window(b, y)) >= YEAR_CONTEXT and shared_names(a, b):
            return x, y
    return None
