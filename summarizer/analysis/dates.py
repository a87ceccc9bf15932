"""Date expressions in article sentences, placed on the calendar against the article's publication date.

Absolute expressions ("January 21st", "the 22nd of January", "June 14, 2017") are parsed with
dateparser; a day and month without a year take the year that puts them nearest before the
publication date (or, for an undated article, the event's dated articles), and say so. Relative
expressions ("on Thursday", "yesterday", "a day earlier", "last year") are counted from the
publication date; weekday arithmetic is done here because dateparser has no notion of a news
article's tense ("said Thursday" is the Thursday before publication, "will vote Thursday" the one
after). An undated article leaves relative dates unresolved: they are never guessed. Two narrow
exceptions to counting from publication: an article whose own text runs to the next day
(:func:`text_runs_to`), and the few days news names events by ("Sept. 11 hijackers", NAMED_DAYS).

About 450 lines: every date form and how it is placed, which the timeline, the date discrepancies and
the checks of a model's dates all read alike.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from dateparser import parse as dateparser_parse

from summarizer.segment import CASE_FOLDS

Resolution = Literal["explicit", "relative", "year-inferred", "unresolved"]
Context = Literal["", "date", "year"]

_MONTH_NAMES = (
    "January|February|March|April|May|June|July|August|September|October|November|December"
    "|Jan\\.|Feb\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\."
)
_WEEKDAY_NAMES = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_WEEKDAYS = {name.lower(): i for i, name in enumerate(_WEEKDAY_NAMES.split("|"))}
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"

_PATTERNS: tuple[tuple[str, str], ...] = (
    # "Friday, January 21st, 2022", "January 21", "Jan. 21, 2022" (a weekday before it is part of it)
    ("month_day", rf"(?:(?P<wd>{_WEEKDAY_NAMES}),?\s+)?(?P<month>{_MONTH_NAMES})\s+{_DAY}\b(?:,?\s+{_YEAR})?"),
    # "the 22nd of January", "21 January 2022"
    ("day_month", rf"(?:the\s+)?{_DAY}\s+(?:of\s+)?(?P<month>{_MONTH_NAMES})(?:,?\s+{_YEAR})?"),
    # "in June 2017", "January 2019"
    ("month_year", rf"(?P<month>{_MONTH_NAMES})\s+(?:of\s+)?{_YEAR}"),
    # "in December", "last December", "early February": a month alone, the nearest one before publication
    (
        "month",
        r"\b(?P<mprefix>[Ii]n|[Ll]ast|[Tt]his|[Ee]arly|[Ll]ate|[Mm]id-|[Ss]ince|[Uu]ntil|[Bb]y)\s*"
        r"(?P<month>January|February|March|April|June|July|August|September|October|November|December)\b",
    ),
    ("weekday", rf"(?P<prefix>\b(?:[Ll]ast|[Nn]ext|[Tt]his|[Oo]n|[Ll]ate|[Ee]arly)\s+)?(?P<wd>{_WEEKDAY_NAMES})\b"),
    (
        "word",
        r"\b(?P<word>yesterday|today|tonight|tomorrow|last (?:week|month|year)|(?:earlier )?this (?:week|month|year)"
        r"|next (?:week|month|year))\b",
    ),
    (
        "offset",
        r"\b(?P<offset>a|one|two|three|four|five|six|seven) (?P<unit>day|week)s? (?P<dir>earlier|later|before|after)\b",
    ),
    ("day_before", r"\bthe (?P<which>day before|previous day|next day|day after|following day)\b"),
    ("year", rf"\b(?:[Ii]n|[Ss]ince|of|by|until|during)\s+{_YEAR}\b(?!\s*(?:percent|%|votes?|people|members))"),
)
# Month and weekday names only capitalised ("may", "march" are verbs); the relative words in any case.
_FINDERS = tuple(
    (name, re.compile(pattern, re.IGNORECASE if name in ("word", "offset", "day_before") else 0))
    for name, pattern in _PATTERNS
)
_OFFSET_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
# A sentence speaking of the future: its bare weekday is the next one, not the last.
_FUTURE = re.compile(
    r"\b(?:will|is expected to|are expected to|is set to|are set to|set for|scheduled|is slated|are slated"
    r"|slated for|plans? to|is due to|are due to|due on|coming|upcoming"
    r"|(?:set|scheduled|slated)(?:\s+\w+){0,3}\s+for)\b",
    re.IGNORECASE,
)
"""Future tense before a bare weekday ("is expected to vote Thursday"): the next such day. Reported speech
("would") is left out: "said he would vote Wednesday" is as often about the past week."""


@dataclass(frozen=True)
class DateMention:
    """One date expression in one sentence, with where it lands on the calendar."""

    article_id: str
    sentence_id: str
    text: str
    """The source's words ("on Thursday", "Friday, January 21st")."""
    start: int
    """Offset of ``text`` in the sentence."""
    first: dt.date | None
    last: dt.date | None
    resolution: Resolution
    how: str
    """How it was resolved, in a few words ("Thursday before the publication day, 2022-01-22")."""
    context: Context = ""
    """What it borrowed from the text before it: a date it counts from ("a day earlier"), or a year ("On July 22"
    after "In July 2016"). Such a date cannot be checked from its own sentence alone."""

    @property
    def iso(self) -> str | None:
        if self.first is None or self.last is None:
            return None
        return self.first.isoformat() if self.first == self.last else f"{self.first}/{self.last}"

    @property
    def is_day(self) -> bool:
        return self.first is not None and self.first == self.last


def publication_day(published: str | None) -> dt.date | None:
    """The calendar day of an article's ``published`` field (ISO date or date-time), if it has one."""
    if not published:
        return None
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _month_day(month: str, day: int, year: int) -> dt.date | None:
    parsed = dateparser_parse(
        f"{day} {month} {year}", languages=["en"], settings={"STRICT_PARSING": True, "DATE_ORDER": "DMY"}
    )
    return parsed.date() if parsed else None


def _month_number(month: str) -> int | None:
    found = _month_day(month.rstrip("."), 1, 2000)
    return found.month if found else None


def _named_day(month: str, day: int, reference: dt.date | None, sentence: str, end: int) -> dt.date | None:
    """The day of a named event ("Sept. 11 attacks": 2001-09-11), if the words after ``end`` name one of
    NAMED_DAYS and the article was written after it."""
    number = _month_number(month)
    year = None if number is None else NAMED_DAYS.get((number, day))
    if number is None or year is None or not _NAMES_AN_EVENT.match(sentence, end):
        return None
    return None if reference is not None and reference.year < year else dt.date(year, number, day)


def _nearest_year(month: str, day: int, reference: dt.date) -> dt.date | None:
    """The year that puts ``day month`` within a few weeks after ``reference`` or before it (news looks back)."""
    for year in (reference.year, reference.year - 1, reference.year + 1):
        found = _month_day(month, day, year)
        if found is not None and -300 <= (reference - found).days <= 300:
            if (found - reference).days > 45 and year == reference.year:
                continue  # months ahead of publication: last year's date, more likely
            return found
    return _month_day(month, day, reference.year)


_NAMES_AN_EVENT = re.compile(
    r"[\s-]+(?:attacks?|hijackers?|terrorists?|terror|victims|families|widows?|survivors|commission|memorial|"
    r"anniversary|massacre|riots?|rioters|insurrection|committee)\b",
    re.IGNORECASE,
)
"""After a day and month, what makes them the name of an event ("Sept. 11 hijackers", "Jan. 6 committee")."""
NAMED_DAYS = {(9, 11): 2001, (1, 6): 2021, (10, 7): 2023, (12, 7): 1941}
"""Days news names events by, with the year of the event: "Sept. 11 hijackers" is 2001-09-11 whenever the
article was written (after it). Any other day before such a word is the story's own ("the June 14 attack")."""
_FORMERLY = re.compile(r"\b(?:previously|originally)(?:[\s-]+been)?[\s-]+$", re.IGNORECASE)
"""Before a future cue, what makes it past: "previously scheduled", "originally-planned", "had originally been set"."""
_PAST_BETWEEN = re.compile(r"\b(?:after|ago|earlier|last|since|when)\b", re.IGNORECASE)


def _future(before: str) -> bool:
    """A future cue before the weekday that no past marker follows: "is expected to begin ... followed by the
    House on Thursday" looks ahead; "will become law after voting ... Wednesday" does not, nor does "previously
    scheduled events were canceled Wednesday"."""
    cues = [cue for cue in _FUTURE.finditer(before) if not _FORMERLY.search(before, 0, cue.start())]
    return bool(cues) and not _PAST_BETWEEN.search(before[cues[-1].end() :])


def _weekday(
    name: str, prefix: str, sentence: str, at: int, published: dt.date, runs_to: dt.date | None = None
) -> tuple[dt.date, str]:
    """The weekday ``name`` counted from ``runs_to`` (:func:`text_runs_to`) if given, else from publication."""
    day = runs_to or published
    counted = f"{runs_to}, the day after publication its text runs to" if runs_to else f"publication on {published}"
    target = _WEEKDAYS[name.lower()]
    prefix = prefix.strip().lower()
    back = (day.weekday() - target) % 7
    ahead = (target - day.weekday()) % 7
    if prefix == "last":
        return day - dt.timedelta(days=back or 7), f"last {name}, counted back from {counted}"
    if prefix == "next" or (back != 0 and _future(sentence[:at])):
        return day + dt.timedelta(days=ahead or 7), f"the {name} after {counted} (future tense)"
    return day - dt.timedelta(days=back), f"the {name} on or before {counted}"


def text_runs_to(texts: Sequence[str], published: dt.date | None) -> dt.date | None:
    """The day after publication an article's own text runs to, if it says so: an article updated the next
    day keeps its first date. The evidence is one narrow shape of sentence: something on the weekday after
    publication, then "after", then within a short clause something on the publication's own weekday ("still
    in critical condition on Thursday after a gunman opened fire Wednesday", published on a Wednesday).
    Counted back from publication, that Thursday would come six days before the Wednesday it follows. None:
    nothing says so (a weekday a week back is the news style for one, and stays so)."""
    if published is None:
        return None
    next_day = published + dt.timedelta(days=1)
    for text in texts:
        if "after" not in text:
            continue
        weekdays = [
            m
            for kind, m in _matches(text)
            if kind == "weekday"
            and (m.group("prefix") or "").strip().lower() in ("", "on", "late", "early")
            and not _future(text[: m.start()])
        ]
        for after in _AFTER.finditer(text):
            before = [m for m in weekdays if m.end() <= after.start()]
            following = [m for m in weekdays if m.start() >= after.end()]
            if not before or not following:
                continue
            first, then = before[-1], following[0]
            attached = len(text[first.end() : after.start()].split()) <= 2  # "on Thursday after"
            clause = text[after.end() : then.start()]
            if (
                attached
                and len(clause.split()) <= 8
                and not _CLAUSE_BREAK.search(clause)
                and _WEEKDAYS[first["wd"].lower()] == next_day.weekday()
                and _WEEKDAYS[then["wd"].lower()] == published.weekday()
            ):
                return next_day
    return None


_CLAUSE_BREAK = re.compile(r"[,;:()—–]")
_AFTER = re.compile(r"\bafter\b")


def _word(word: str, published: dt.date) -> tuple[dt.date, dt.date]:
    word = " ".join(word.lower().split())
    if word in ("today", "tonight"):
        return published, published
    if word == "yesterday":
        day = published - dt.timedelta(days=1)
        return day, day
    if word == "tomorrow":
        day = published + dt.timedelta(days=1)
        return day, day
    if word.startswith("earlier "):
        first, _ = _word(word.removeprefix("earlier "), published)
        return first, max(first, published - dt.timedelta(days=1))
    which, unit = word.split()
    shift = {"last": -1, "this": 0, "next": 1}[which]
    if unit == "week":
        monday = published - dt.timedelta(days=published.weekday()) + dt.timedelta(weeks=shift)
        return monday, monday + dt.timedelta(days=6)
    if unit == "month":
        month_index = published.year * 12 + published.month - 1 + shift
        first = dt.date(month_index // 12, month_index % 12 + 1, 1)
        following = dt.date((month_index + 1) // 12, (month_index + 1) % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    year = published.year + shift
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


MONTH_PREFIXES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_NEEDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "month_day": (False, MONTH_PREFIXES),
    "day_month": (False, MONTH_PREFIXES),
    "month_year": (False, MONTH_PREFIXES),
    "month": (False, MONTH_PREFIXES),
    "weekday": (False, ("day",)),
    "word": (True, ("yesterday", "today", "tonight", "tomorrow", "week", "month", "year")),
    "offset": (True, ("earlier", "later", "before", "after")),
    "day_before": (True, ("day",)),
    "year": (False, ("19", "20")),
}
"""Per finder: (lower-cased?, words one of which its every match holds): a sentence without any is not
searched (a substring test costs a fraction of a pattern's search)."""


def _matches(sentence: str) -> list[tuple[str, re.Match[str]]]:
    """Non-overlapping matches, the earlier pattern winning a tie ("Friday, January 21st" over "Friday")."""
    taken: list[tuple[str, re.Match[str]]] = []
    lowered = sentence.lower()
    folds = not CASE_FOLDS.isdisjoint(sentence)
    holds: dict[tuple[bool, tuple[str, ...]], bool] = {}  # the month finders share one test
    for kind, pattern in _FINDERS:
        need = _NEEDS[kind]
        if need not in holds:
            text = lowered if need[0] else sentence
            holds[need] = folds or any(word in text for word in need[1])
        if not holds[need]:
            continue
        for match in pattern.finditer(sentence):
            if not any(match.start() < m.end() and m.start() < match.end() for _, m in taken):
                taken.append((kind, match))
    return sorted(taken, key=lambda item: item[1].start())


_UNTIL = re.compile(
    rf"^.{{0,40}}?\b(?:until|to|through|till)\s+(?:the\s+)?{_DAY}(?!\s*(?:{_MONTH_NAMES}))\b", re.IGNORECASE
)


def _until(sentence: str, end: int, first: dt.date | None) -> dt.date | None:
    """ "Began on the 22nd of January and continued until the 30th": the day the range ends, in the same month."""
    match = _UNTIL.match(sentence[end:]) if first is not None else None
    if match is None or first is None:
        return first
    try:
        last = first.replace(day=int(match.group("day")))
    except ValueError:
        return first
    return last if last > first else first


def find_dates(
    sentence: str,
    article_id: str,
    sentence_id: str,
    published: dt.date | None,
    year_hint: dt.date | None = None,
    previous: dt.date | None = None,
    context_year: int | None = None,
    runs_to: dt.date | None = None,
) -> list[DateMention]:
    """Every date expression in ``sentence``, resolved against ``published`` (the article's day).

    ``runs_to`` is a later day the article's own text runs to (:func:`text_runs_to`), which its weekdays
    count back from instead.

    ``year_hint`` is a day from the event's dated articles, used for a day and month without a year
    in an undated article; ``previous`` is the last day this article resolved before this sentence,
    the anchor of "a day earlier" and "the day before"; ``context_year`` a year written out in this
    sentence or the one before ("In July 2016 ... On July 22"), which a bare day and month take.
    """
    found: list[DateMention] = []
    anchor = previous

    def add(
        text: str, start: int, first: dt.date | None, last: dt.date | None, res: Resolution, how: str,
        context: Context = "",
    ) -> None:  # fmt: skip
        nonlocal anchor, context_year
        found.append(DateMention(article_id, sentence_id, text, start, first, last, res, how, context))
        if first is not None and first == last:
            anchor = first
        if res == "explicit" and first is not None and last is not None and (last - first).days < 365:
            context_year = first.year  # a date or month written out with its year, not "since 2003"

    for kind, match in _matches(sentence):
        text, start = match.group(0), match.start()
        groups = match.groupdict()
        if kind in ("month_day", "day_month"):
            month, day = groups["month"].rstrip("."), int(groups["day"])
            year = groups.get("year")
            if year:
                when = _month_day(month, day, int(year))
                add(text, start, when, when, "explicit" if when else "unresolved", "written out in full")
                continue
            reference = published or year_hint
            named = _named_day(month, day, reference, sentence, start + len(text))
            if named is not None:
                add(text, start, named, named, "year-inferred", f"the year of the events the day names ({named.year})")
                continue
            if reference is None:
                add(text, start, None, None, "unresolved", "no year, and no dated article to take one from")
                continue
            when = _nearest_year(month, day, reference)
            source = "the publication date" if published else "the event's dated articles"
            borrowed = context_year is not None and context_year != reference.year
            if borrowed:
                when, source = _month_day(month, day, context_year), f"the year {context_year} written just before it"
            elif when is not None and when < reference and _future(sentence[:start]):
                later = _month_day(month, day, when.year + 1)
                when, source = (later, f"{source}, and the future tense") if later else (when, source)
            weekday = groups.get("wd")
            if when is not None and weekday and when.weekday() != _WEEKDAYS[weekday.lower()]:
                # "Friday, January 21st": the year in which the 21st is a Friday, if one is near.
                fitting = [
                    d
                    for y in (reference.year - 1, reference.year, reference.year + 1)
                    if (d := _month_day(month, day, y)) is not None and d.weekday() == _WEEKDAYS[weekday.lower()]
                ]
                if fitting:
                    when, source, borrowed = fitting[0], f"{source} and the weekday", False
            last = _until(sentence, start + len(text), when)
            how = f"year from {source}" + (", until the day it names" if last != when else "")
            add(text, start, when, last, "year-inferred" if when else "unresolved", how, "year" if borrowed else "")
        elif kind == "month":
            reference = published or year_hint
            number = _month_number(groups["month"])
            if reference is None or number is None:
                add(text, start, None, None, "unresolved", "a month, and no dated article to take its year from")
                continue
            year = context_year or (reference.year if number <= reference.month else reference.year - 1)
            if not context_year and _future(sentence[:start]) and dt.date(year, number, 28) < reference:
                year += 1  # "will take office in January", written in November
            if groups["mprefix"].lower() == "last" and year == reference.year and number == reference.month:
                year -= 1
            first = dt.date(year, number, 1)
            last = dt.date(year + number // 12, number % 12 + 1, 1) - dt.timedelta(days=1)
            how = f"the {groups['month']} " + (
                f"of {context_year}, written just before it" if context_year else "on or before publication"
            )
            add(text, start, first, last, "year-inferred", how, "year" if context_year else "")
        elif kind == "month_year":
            number = _month_number(groups["month"])
            year = int(groups["year"])
            if number is None:
                continue
            first = dt.date(year, number, 1)
            last = dt.date(year + number // 12, number % 12 + 1, 1) - dt.timedelta(days=1)
            add(text, start, first, last, "explicit", "a month of a year")
        elif kind == "weekday":
            if published is None:
                add(text, start, None, None, "unresolved", "a weekday in an undated article")
                continue
            when, how = _weekday(groups["wd"], groups.get("prefix") or "", sentence, start, published, runs_to)
            add(text, start, when, when, "relative", how)
        elif kind == "word":
            if published is None:
                add(text, start, None, None, "unresolved", "relative to an undated article")
                continue
            first, last = _word(groups["word"], published)
            add(text, start, first, last, "relative", f"counted from publication on {published}")
        elif kind in ("offset", "day_before"):
            if kind == "offset":
                size = _OFFSET_WORDS[groups["offset"].lower()] * (7 if groups["unit"].lower() == "week" else 1)
                sign = -1 if groups["dir"].lower() in ("earlier", "before") else 1
            else:
                size, sign = 1, -1 if groups["which"].lower() in ("day before", "previous day") else 1
            if anchor is None:
                add(text, start, None, None, "unresolved", "no earlier date in the article to count from")
                continue
            when = anchor + dt.timedelta(days=sign * size)
            add(text, start, when, when, "relative", f"counted from {anchor}, the date mentioned before it", "date")
        elif kind == "year":
            year = int(groups["year"])
            add(text, start, dt.date(year, 1, 1), dt.date(year, 12, 31), "explicit", "a year")
    return found


def event_year_hint(published: Sequence[str | None]) -> dt.date | None:
    """The earliest publication day among the event's dated articles (for undated ones)."""
    days = [d for d in (publication_day(p) for p in published) if d is not None]
    return min(days) if days else None
