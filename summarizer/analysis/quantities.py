"""Numbers in article sentences with what they count, their qualifier, and whether two of them can be compared.

Two figures are comparable only when they count the same thing (the same unit: dead, votes,
pages, dollars, members) about the same subject (the sentences share a name and most of their
content words). "More than 100" and "134" agree; "about 5,000" and "5,100" agree; "several" and
"322" do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from summarizer.analysis.text import STOPWORDS
from summarizer.segment import CASE_FOLDS

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "dozen": 12, "a dozen": 12,
}  # fmt: skip
VAGUE = {
    "several": (Decimal(3), Decimal(9)),
    "a few": (Decimal(2), Decimal(6)),
    "a handful": (Decimal(2), Decimal(8)),
    "dozens": (Decimal(24), Decimal(144)),
    "hundreds": (Decimal(200), Decimal(999)),
    "thousands": (Decimal(2000), Decimal(9999)),
}
"""Vague quantities as the ranges a reader takes them for."""
_SCALES = {"thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 1_000_000_000_000}
_QUALIFIERS = (
    "more than|over|at least|about|around|nearly|almost|roughly|approximately|up to|fewer than|less than"
    "|just over|just under|some|an estimated|as many as|as few as"
)
_NUMBER_WORD = "|".join(sorted((w for w in _WORDS if " " not in w), key=len, reverse=True))
_QUANTITY = re.compile(
    rf"(?P<qual>\b(?:{_QUALIFIERS})\s+)?(?:an?\s+(?=dozen|hundred|thousand))?(?P<cur>\$)?"
    rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|\b(?:{_NUMBER_WORD})(?:-(?:one|two|three|four|five|six|"
    rf"seven|eight|nine))?\b|\b(?:several|a few|a handful|dozens|hundreds|thousands)\b)"
    rf"(?:\s+(?P<scale>thousand|million|billion|trillion)\b)?(?P<pct>\s*(?:%|percent\b))?"
    rf"(?=(?P<tail>(?:[\s-]+[A-Za-z][\w'’-]*){{0,3}}))",  # looked at, not consumed: "79 guards and seven civilians"
    re.IGNORECASE,
)
_TALLY = re.compile(r"\b(?P<a>\d{1,3})\s*(?:-|–|to)\s*(?P<b>\d{1,3})\b")
# The counted thing, by the word after the number (or, with none, by the sentence's own words).
_UNIT_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dead", re.compile(r"^(?:dead|killed|deaths?|died|fatalit|bodies)", re.I)),
    ("injured", re.compile(r"^(?:injur|wounded|hurt|hospitali)", re.I)),
    ("votes", re.compile(r"^(?:votes?|ballots?)$", re.I)),
    ("pages", re.compile(r"^pages?$|^page$", re.I)),
    ("counts", re.compile(r"^(?:counts?|charges?|felon)", re.I)),
    ("age", re.compile(r"^(?:year-old|years? old)", re.I)),
    ("months", re.compile(r"^months?$", re.I)),
    ("days", re.compile(r"^days?$", re.I)),
    ("weeks", re.compile(r"^weeks?$", re.I)),
    ("years", re.compile(r"^years?$", re.I)),
    ("shots", re.compile(r"^(?:shots?|rounds?)$", re.I)),
)
_SENTENCE_UNITS = (
    ("dead", re.compile(r"\b(?:death toll|killed|dead|died)\b", re.I)),
    ("votes", re.compile(r"\b(?:vote[sd]?|voting)\b", re.I)),
)
_PEOPLE = frozenset({"people", "persons", "others", "victims", "individuals"})
_SENTENCE_CASUALTIES = (
    ("dead", re.compile(r"\b(?:killed|killing|dead|died)\b", re.I)),
    ("injured", re.compile(r"\b(?:injured|injuring|wounded|wounding|hurt|struck|striking|shot)\b", re.I)),
)
_NOT_UNIT = STOPWORDS | {"percent", "people's", "times", "time", "point", "points"}
_INCREMENT = re.compile(r"\s*(?:more|additional|further|extra)\b", re.I)
_YEARLIKE = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class Quantity:
    article_id: str
    sentence_id: str
    words: str
    """The figure as the source writes it ("more than 5,000", "several", "$750,000")."""
    low: Decimal
    high: Decimal
    """What it allows: equal for an exact figure, a range for "more than 100", "several", "about 300"."""
    value: Decimal
    unit: str
    """What it counts, as a class ("dead", "votes", "dollars") or the counted noun itself ("member")."""
    qualifier: str | None
    exact: bool

    def agrees(self, other: Quantity) -> bool:
        return self.low <= other.high and other.low <= self.high


def _number(token: str) -> Decimal | None:
    token = token.lower().replace(",", "")
    if token in _WORDS:
        return Decimal(_WORDS[token])
    if "-" in token:
        tens, _, unit = token.partition("-")
        if tens in _WORDS and unit in _WORDS:
            return Decimal(_WORDS[tens] + _WORDS[unit])
    try:
        return Decimal(token)
    except InvalidOperation:
        return None


def _unit(tail: str, sentence: str, currency: bool, percent: bool) -> str:
    if currency:
        return "dollars"
    if percent:
        return "percent"
    words = [w.strip("'’-") for w in re.split(r"[\s-]+", tail.strip()) if w.strip("'’-")]
    joined = "-".join(w.lower() for w in words[:2])
    for name, pattern in _UNIT_CLASSES:
        if words and (pattern.search(words[0]) or pattern.search(joined)):
            return name
    if any(_UNIT_CLASSES[0][1].search(w) for w in words):
        return "dead"  # "several inmates were killed"
    for word in words:
        low = word.lower()
        if low in _NOT_UNIT:
            break
        if word[:1].isupper():
            continue  # "246 ISIS members": the name qualifies the noun after it
        if low in _PEOPLE:
            for name, pattern in _SENTENCE_CASUALTIES:
                if pattern.search(sentence):
                    return name  # "striking four people", "six people ... were injured"
        following = words[words.index(word) + 1].lower() if words.index(word) + 1 < len(words) else ""
        if not low.endswith("s") and following.endswith("s") and following not in _NOT_UNIT:
            low = following  # "special agents", "security forces": the noun after its modifier
        return low[:-1] if low.endswith("s") and not low.endswith("ss") else low
    if words:
        return ""  # "a half-dozen Republicans who voted": not a count of votes
    for name, pattern in _SENTENCE_UNITS:
        if pattern.search(sentence):
            return name  # "the death toll has reached 322."
    return ""


def _range(value: Decimal, qualifier: str | None) -> tuple[Decimal, Decimal]:
    q = (qualifier or "").lower().strip()
    if q in ("more than", "over", "just over"):
        return value + 1, value * 2
    if q in ("at least", "as many as"):
        return value, value * 2 if q == "at least" else value
    if q in ("up to", "fewer than", "less than", "just under", "as few as"):
        return (Decimal(0), value) if q != "as few as" else (value, value)
    if q in ("nearly", "almost"):
        return value * Decimal("0.85"), value
    if q in ("about", "around", "roughly", "approximately", "some", "an estimated"):
        return value * Decimal("0.9"), value * Decimal("1.1")
    return value, value


_DIGIT = re.compile(r"\d")
_FIGURE_WORDS = (*(w for w in _WORDS if " " not in w), "several", "few", "handful", "dozens", "hundreds", "thousands")


def _may_hold_figure(sentence: str) -> bool:
    """A digit or a number word (a substring test: cheaper than a case-blind pattern): a sentence with neither holds
    no figure, and skips the long pattern."""
    if _DIGIT.search(sentence) or not CASE_FOLDS.isdisjoint(sentence):
        return True
    lowered = sentence.lower()
    return any(word in lowered for word in _FIGURE_WORDS)


def find_quantities(sentence: str, article_id: str, sentence_id: str, skip: list[tuple[int, int]]) -> list[Quantity]:
    """Every figure in ``sentence`` outside the ``skip`` spans (its dates), with unit and qualifier."""
    found: list[Quantity] = []
    if not _may_hold_figure(sentence):
        return found
    for match in _QUANTITY.finditer(sentence):
        if any(match.start("num") < end and start < match.end("num") for start, end in skip):
            continue
        raw = match.group("num")
        qualifier = (match.group("qual") or "").strip() or None
        tail = match.group("tail") or ""
        if raw.lower() in VAGUE:
            low, high = VAGUE[raw.lower()]
            value, exact = low, False
        else:
            number = _number(raw)
            if number is None:
                continue
            if match.group("scale"):
                number *= _SCALES[match.group("scale").lower()]
            if _YEARLIKE.match(raw) and not match.group("cur") and "," not in raw:
                continue  # a year, not a count
            if raw.lower() == "one" and not qualifier:
                continue  # "one of the", "on one hand": rarely a figure
            value, exact = number, qualifier is None
            low, high = _range(number, qualifier)
        unit = _unit(tail, sentence, bool(match.group("cur")), bool(match.group("pct")))
        if _INCREMENT.match(tail):
            unit = ""  # "seven more bodies": what was added to a count, not the count
        words = sentence[match.start() : match.end("pct") if match.group("pct") else match.end("num")]
        if match.group("scale"):
            words = sentence[match.start() : match.end("scale")]
        found.append(Quantity(article_id, sentence_id, words.strip(), low, high, value, unit, qualifier, exact))
    return found


def tallies(sentence: str) -> list[tuple[int, int, str]]:
    """Vote tallies ("134-63", "97 to 1") in ``sentence`` as (for, against, words); only in a sentence about a vote."""
    if not re.search(r"\b(?:vote[sd]?|tally|margin|override|passed|approved)\b", sentence, re.I):
        return []
    out = []
    for match in _TALLY.finditer(sentence):
        a, b = int(match.group("a")), int(match.group("b"))
        if a + b >= 3:
            out.append((a, b, match.group(0)))
    return out
