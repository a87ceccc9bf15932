"""What a claim asserts that must be found in its sources: numbers, dates and names.

A claim is *supported* by a set of cited sentences when every number (digits or number
words, "5,000" = "five thousand"), every date word (month, weekday) and every proper name
in the claim also appears in those sentences. Names match case-insensitively, ignoring
diacritics and apostrophe style, and a name may differ from the source by a short suffix
("Iraq"/"Iraqi", "Syria"/"Syrian") but not otherwise. This is deliberately strict: a claim
that the check rejects goes back to the model with the reason.

Over 400 lines: numbers, dates and names are checked together, sharing the folding and the number words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "dozen": 12,
}  # fmt: skip
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_VAGUE = {"hundreds", "thousands", "millions", "billions", "dozens", "tens"}
# Every word that can make the number-word reading of a text add something.
_NUMBER_WORDS = frozenset([*_UNITS, *_TENS, *_SCALES, *_VAGUE])

_MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november",
    "dec": "december",
}  # fmt: skip
_WEEKDAYS = {"mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "thu": "thursday",
             "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday"}  # fmt: skip
_CANONICAL_WORDS = {**_WEEKDAYS, **_MONTHS}

# Words that are capitalised only because they start a sentence, or are not names at all.
_NOT_NAMES = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "it",
        "its",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "in",
        "on",
        "at",
        "of",
        "for",
        "from",
        "to",
        "by",
        "with",
        "without",
        "after",
        "before",
        "during",
        "since",
        "until",
        "about",
        "above",
        "below",
        "over",
        "under",
        "into",
        "onto",
        "near",
        "among",
        "between",
        "against",
        "according",
        "as",
        "and",
        "but",
        "or",
        "nor",
        "so",
        "yet",
        "if",
        "when",
        "while",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "what",
        "why",
        "how",
        "all",
        "both",
        "each",
        "every",
        "some",
        "many",
        "most",
        "several",
        "other",
        "another",
        "such",
        "no",
        "not",
        "only",
        "also",
        "however",
        "meanwhile",
        "moreover",
        "nearly",
        "around",
        "about",
        "almost",
        "more",
        "less",
        "one",
        "per",
        "than",
        "then",
        "there",
        "here",
        "later",
        "earlier",
        "today",
        "yesterday",
        "tomorrow",
        "last",
        "next",
        "first",
        "second",
        "third",
        "new",
        "recent",
        "major",
        "senior",
        "top",
        "local",
        "state",
        "officials",
        "mr",
        "mrs",
        "ms",
        "dr",
        "gen",
        "col",
        "lt",
        "sgt",
        "st",
    ]
)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th)?|[^\W\d_]+(?:['’\-][^\W\d_]+)*", re.UNICODE)
_NAME = re.compile(r"(?:\b(?:al|el|ad|ar|as|ash|at|az|ad|an)-)?[A-Z][^\W_]*(?:['’\-][^\W_]+)*", re.UNICODE)
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“‘(\[]\s*)$")
_DIGITS = re.compile(r"(?<![A-Za-z0-9_])\d+(?:,\d{3})*(?:\.\d+)?(?:,\d+)*(?:st|nd|rd|th)?")
_ORDINAL = re.compile(r"(st|nd|rd|th)$")
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_POSSESSIVE = re.compile(r"['’]s$")
_PART_SEPARATOR = re.compile(r"['\-]")
# Quote and dash styles that compare equal (one table, applied in a single pass).
_PUNCTUATION_STYLE = str.maketrans({"’": "'", "‘": "'", "`": "'", "–": "-", "—": "-", "‐": "-", "‑": "-"})


def fold(text: str) -> str:
    """Case-, accent- and punctuation-style-insensitive form of ``text`` for comparisons."""
    if text.isascii():
        # Hot path: ASCII is its own NFKD form, has no combining marks, curly quotes or dashes,
        # and its casefold is its lower case; only the backtick is left to map.
        return text.replace("`", "'").lower()
    return _fold_unicode(text)


@lru_cache(maxsize=4096)
def _fold_unicode(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    if not text.isascii():  # else there are no combining marks to drop ("\u00a0" decomposes to a space)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.translate(_PUNCTUATION_STYLE).casefold()


def _digit_value(token: str) -> Decimal | None:
    token = _ORDINAL.sub("", token)
    if _GROUPED.fullmatch(token):
        token = token.replace(",", "")
    elif "," in token:
        return None  # "1,5" or a list; the parts are found separately
    try:
        return Decimal(token).normalize()
    except InvalidOperation:
        return None


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """The word and number tokens of ``fold(text)``; evidence is read both for numbers and for names."""
    return tuple(_TOKEN.findall(fold(text)))


@lru_cache(maxsize=4096)
def numbers(text: str) -> frozenset[Decimal | str]:
    """Every number in ``text``: digit forms and number-word phrases as values; vague plurals as words."""
    found: set[Decimal | str] = set()
    folded = fold(text)
    tokens = _tokens(text)
    if not folded.isascii():  # folded ASCII is already lower case
        tokens = tuple(t.lower() for t in tokens)
    # Digits inside identifiers like "s4" or "COVID-19" stay numbers only when they stand alone.
    for match in _DIGITS.finditer(folded):
        raw = match.group(0)
        value = _digit_value(raw)
        if value is not None:
            found.add(value)
        else:
            for part in raw.split(","):
                if part and (v := _digit_value(part)) is not None:
                    found.add(v)
    # Hyphenated words are read part by part: "twenty-five" adds up, "five-day" is 5.
    if "-" in folded:
        tokens = tuple(part for token in tokens for part in token.split("-") if part)
    if _NUMBER_WORDS.isdisjoint(tokens):
        return frozenset(found)  # no number words: the reading below would add nothing
    total = current = Decimal(0)
    in_number = False
    previous_digit: Decimal | None = None

    def close() -> None:
        nonlocal total, current, in_number
        if in_number:
            found.add((total + current).normalize())
        total = current = Decimal(0)
        in_number = False

    for i, token in enumerate(tokens):
        if not in_number and token not in _NUMBER_WORDS and token != "a":
            # The common case, short-cut: outside a number phrase a word only matters as a digit before a scale.
            previous_digit = _digit_value(token) if token[:1].isdigit() else None
            continue
        if token == "a" and i + 1 < len(tokens) and tokens[i + 1] in _SCALES and not in_number:
            in_number = True  # "a hundred" is 100
            continue
        if token in _UNITS:
            current += _UNITS[token]
            in_number = True
        elif token in _TENS:
            current += _TENS[token]
            in_number = True
        elif token in _SCALES:
            scale = _SCALES[token]
            if not in_number and previous_digit is not None:  # "5 million" is one number, not two
                found.discard(previous_digit)
                found.add((previous_digit * scale).normalize())
            elif in_number:
                if scale == 100:
                    current = (current or Decimal(1)) * scale
                else:
                    total += (current or Decimal(1)) * scale
                    current = Decimal(0)
        elif token == "and" and in_number:
            continue
        else:
            close()
            if token in _VAGUE:
                found.add(token)
        previous_digit = _digit_value(token) if token[:1].isdigit() else None
    close()
    return frozenset(found)


def names(text: str) -> list[str]:
    """Proper names, month and weekday words in ``text``, in order, without sentence-initial common words."""
    return list(_names(text))


@lru_cache(maxsize=4096)
def _names(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for match in _NAME.finditer(text):
        token = _POSSESSIVE.sub("", match.group(0))
        lowered = fold(token)
        if all(part in _UNITS or part in _TENS or part in _SCALES for part in lowered.split("-")):
            continue  # "Seven", "Twenty-five": numbers, checked as numbers
        if lowered in _NOT_NAMES:
            if lowered in {"i", "a", "mr", "mrs", "ms", "dr", "gen", "col", "lt", "sgt", "st"}:
                continue
            # Searched only now: the scan of everything before the match is the costly part.
            if _SENTENCE_START.search(text, 0, match.start()):
                continue
        out.append(token)
    return tuple(out)


_PHRASE = re.compile(
    r"(?:\b(?:al|el)-)?[A-Z][^\W_]*(?:['’\-][^\W_]+)*"
    r"(?:[ ]+(?:(?:of|for|and|the|al|de)[ ]+)?(?:\b(?:al|el)-)?[A-Z][^\W_]*(?:['’\-][^\W_]+)*)*",
    re.UNICODE,
)


def name_phrases(text: str, limit: int = 60) -> list[str]:
    """Multi-word proper names in ``text`` ("Syrian Observatory for Human Rights"), first occurrence order."""
    return list(_name_phrases(text, limit))


@lru_cache(maxsize=1024)
def _name_phrases(text: str, limit: int) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for match in _PHRASE.finditer(text):
        phrase = _POSSESSIVE.sub("", match.group(0)).strip()
        first = fold(phrase.split()[0])
        if first in _NOT_NAMES and " " not in phrase:
            continue
        if first in _NOT_NAMES:
            phrase = phrase.split(" ", 1)[1]
        found.setdefault(phrase, None)
        if len(found) >= limit:
            break
    return tuple(found)


def _canonical_word(word: str) -> str:
    return _CANONICAL_WORDS.get(word, word)


@lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    """The folded words of ``text`` and the parts of its hyphenated/apostrophised words, canonical forms."""
    tokens = _tokens(text)
    words = set(tokens)
    for token in tokens:
        if "'" in token or "-" in token:
            words.update(part for part in _PART_SEPARATOR.split(token) if part)
    if abbreviated := words.intersection(_CANONICAL_WORDS):
        words.difference_update(abbreviated)
        words.update(_CANONICAL_WORDS[word] for word in abbreviated)
    return frozenset(words)


def _name_in(name: str, words: frozenset[str]) -> bool:
    folded = fold(name)
    parts = [_canonical_word(p) for p in _PART_SEPARATOR.split(folded) if p]
    whole = _canonical_word(folded)
    if whole in words:
        return True
    # Every part of a hyphenated/apostrophised name present ("al-Sina'a" vs "Sina'a" both fine).
    if parts and all(p in words or len(p) <= 2 for p in parts) and any(len(p) > 2 for p in parts):
        return True
    # Demonyms and plurals: a shared stem of 4+ letters differing by a short suffix.
    for word in words:
        longer, shorter = (word, whole) if len(word) >= len(whole) else (whole, word)
        if len(shorter) >= 4 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3:
            return True
    return False


@dataclass(frozen=True)
class Unsupported:
    """One thing a claim says that its cited sentences do not."""

    kind: str  # "number" | "name"
    value: str

    def found_in(self, text: str) -> bool:
        """Whether ``text`` would support this item (used to point the model at the right sentence)."""
        return not unsupported(self.value, text)

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r}"


def _show(value: Decimal | str) -> str:
    return value if isinstance(value, str) else format(value, "f")


def unsupported(claim: str, evidence: str) -> list[Unsupported]:
    """What ``claim`` states that ``evidence`` (the cited sentences, joined) does not contain."""
    return list(_unsupported(claim, evidence))


# Grounding asks the same question more than once (the re-ask check, then resolve; hints).
@lru_cache(maxsize=4096)
def _unsupported(claim: str, evidence: str) -> tuple[Unsupported, ...]:
    problems: list[Unsupported] = []
    evidence_numbers = numbers(evidence)
    for value in sorted(numbers(claim) - evidence_numbers, key=str):
        problems.append(Unsupported("number", _show(value)))
    evidence_words = _words(evidence)
    seen: set[str] = set()
    for name in names(claim):
        key = fold(name)
        if key in seen:
            continue
        seen.add(key)
        if not _name_in(name, evidence_words):
            problems.append(Unsupported("name", name))
    return tuple(problems)
