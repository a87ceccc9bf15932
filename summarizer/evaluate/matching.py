"""How a prediction is compared with a label: stated values, statement similarity, one-to-one pairing.

Values ("5,000", "Friday", "al-Sina'a") are compared after normalisation, never by fuzzy
string distance, because a near-miss is exactly what must not match: "5,500" is not "5,000"
and "Ghweran" is not "Geweran" (spelling discrepancies are labelled on purpose).

- Numbers are compared as numbers: "5,000" = "5000" = "five thousand"; "21st" = "21".
- Words are compared case-, accent- and apostrophe-insensitively, split at hyphens and
  apostrophes; particles of one or two letters ("al-", "'s") are ignored; month and weekday
  abbreviations count as the full word ("Jan." = "January").
- A capitalised word (a name) must appear exactly. A lower-case word may differ by a short
  ending ("escape" = "escaped", "kill" = "killed"): stems of four letters or more, at most
  three letters apart.

Statements are compared with rapidfuzz's ``token_set_ratio`` over their content words (folded,
function words dropped, numbers written as canonical digits so "five thousand" = "5,000"),
which treats a prediction that copies its source sentence, or a shorter one that says the same
thing, as similar, and word order as irrelevant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from rapidfuzz import fuzz

from summarizer.claims import fold, numbers

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CANONICAL = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november",
    "dec": "december", "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday",
    "thu": "thursday", "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday",
    "sun": "sunday",
}  # fmt: skip
_STOP = frozenset({"the", "of", "and", "in", "on", "at", "to", "by", "for", "from", "with", "or"})


def _canonical(word: str) -> str:
    return _CANONICAL.get(word, word)


def _is_number_word(word: str) -> bool:
    return any(isinstance(n, Decimal) for n in numbers(word))


@lru_cache(maxsize=8192)
def words(text: str) -> frozenset[str]:
    """The normalised words of ``text`` (letters only; numbers are compared separately)."""
    return frozenset(_canonical(w) for w in _WORD.findall(fold(text)))


@lru_cache(maxsize=4096)
def _required(value: str) -> tuple[tuple[str, bool], ...]:
    """The words ``value`` requires, each with whether it is a name (capitalised)."""
    found = []
    for match in _WORD.finditer(value):
        raw = match.group(0)
        word = _canonical(fold(raw))
        if word in _STOP or _is_number_word(word):
            continue  # number words are checked as numbers
        found.append((word, raw[:1].isupper()))
    long_enough = [w for w in found if len(w[0]) > 2]
    return tuple(long_enough or found)


def _word_in(word: str, is_name: bool, text_words: frozenset[str]) -> bool:
    if word in text_words:
        return True
    if is_name or len(word) < 4:
        return False
    for other in text_words:
        shorter, longer = (word, other) if len(word) <= len(other) else (other, word)
        if len(shorter) >= 4 and longer.startswith(shorter) and len(longer) - len(shorter) <= 3:
            return True
    return False


def states(value: str, text: str) -> bool:
    """Whether ``text`` states ``value``: all its numbers and all its words, normalised as above."""
    if not numbers(value) <= numbers(text):
        return False
    text_words = words(text)
    return all(_word_in(word, is_name, text_words) for word, is_name in _required(value))


def states_any(variants: Iterable[str], text: str) -> bool:
    return any(states(v, text) for v in variants)


def states_all(groups: Sequence[Sequence[str]], text: str) -> bool:
    """Whether ``text`` states every value group (any variant of each)."""
    return all(states_any(group, text) for group in groups)


_FUNCTION = frozenset(
    {
        "a", "an", "the", "of", "and", "or", "in", "on", "at", "to", "by", "for", "from", "with", "as", "is", "are",
        "was", "were", "be", "been", "has", "have", "had", "that", "this", "these", "those", "it", "its", "their",
        "there", "which", "who", "whom", "whose", "than", "then", "into", "onto", "about", "around", "over", "under",
        "after", "before", "during", "since", "until", "also",
    }
)  # fmt: skip
_SCALES = frozenset({"hundred", "thousand", "million", "billion"})


@lru_cache(maxsize=8192)
def content(text: str) -> str:
    """The content words of ``text`` (folded, no function words) and its numbers as canonical digits."""
    kept = [
        w
        for w in _WORD.findall(fold(text))
        if len(w) > 2 and w not in _FUNCTION and w not in _SCALES and not _is_number_word(w)
    ]
    kept += sorted(format(n, "f") for n in numbers(text) if isinstance(n, Decimal))
    return " ".join(kept)


def similarity(a: str, b: str) -> float:
    """Statement similarity in [0, 1]: rapidfuzz ``token_set_ratio`` of the two texts' ``content``."""
    return fuzz.token_set_ratio(content(a), content(b)) / 100.0


# -- one-to-one pairing --------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    pred: int
    gold: int
    score: float


def assign(scores: Mapping[tuple[int, int], float]) -> list[Pair]:
    """A one-to-one pairing of predictions to labels from the eligible ``(pred, gold) -> score`` pairs.

    Greedy by score (ties: lower indices first), then augmenting paths so that no pair is lost to
    the greedy order: the result always has the largest possible number of pairs, and among the
    greedy choices keeps the best-scoring ones.
    """
    order = sorted(scores, key=lambda k: (-scores[k], k))
    gold_of: dict[int, int] = {}
    pred_of: dict[int, int] = {}
    for p, g in order:
        if p not in gold_of and g not in pred_of:
            gold_of[p], pred_of[g] = g, p
    options: dict[int, list[int]] = {}
    for p, g in order:
        options.setdefault(p, []).append(g)

    def augment(p: int, seen: set[int]) -> bool:
        for g in options.get(p, []):
            if g in seen:
                continue
            seen.add(g)
            if g not in pred_of or augment(pred_of[g], seen):
                gold_of[p], pred_of[g] = g, p
                return True
        return False

    for p in sorted(options):
        if p not in gold_of:
            augment(p, set())
    return sorted((Pair(p, g, scores[(p, g)]) for p, g in gold_of.items()), key=lambda x: x.gold)
