"""Names: spelling variants of one name across and within articles, and who a sentence says is speaking.

Transliterations of one name (Geweran / Ghweran / Guweiran; al-Hasakeh / Hasaka / Hasakah) are
one entity written differently: a discrepancy a reader cannot resolve alone. Inflections and
derived words (Democrat / Democratic / Democrats, Iraq / Iraqi) are not spellings, and two similar
names are taken for one only when they appear in like contexts (Scalise and Scalia are two people).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from summarizer.analysis.text import STOPWORDS, containment, stems
from summarizer.claims import fold, names

SPELLING_SIMILARITY = 80.0
"""Names this similar (rapidfuzz ratio of the folded names) may be spellings of one name."""
CLOSE_SPELLING = 90.0
CLOSE_CONTEXT = 0.2
"""Names this similar need less alike contexts (Hasakeh / Hasaka); Capito and Capitol still need some."""
CONTEXT_OVERLAP = 0.3
UNION_CONTEXT = 0.5
"""Least containment between all the words around one spelling and all the words around the other."""
"""Least containment of content stems between a sentence of each spelling, so both name one thing."""
_SUFFIXES = frozenset(
    [
        "s",
        "es",
        "'s",
        "’s",
        "ic",
        "ics",
        "ian",
        "ians",
        "an",
        "ans",
        "n",
        "ns",
        "i",
        "is",
        "ed",
        "ing",
        "er",
        "ers",
        "ese",
        "ism",
        "ist",
        "ists",
        "ite",
        "ites",
        "ly",
        "al",
        "ally",
        "l",
        "man",
        "men",
        "ie",
        "y",
        "e",
    ]
)
"""What turns a word into another word (Democrat -> Democratic), not another spelling of it."""
_PARTICLE = re.compile(r"^(?:al|el|ad|ar|as|ash|at|az|an)-")


@dataclass(frozen=True)
class NameUse:
    name: str
    article_id: str
    sentence_id: str
    context: frozenset[str]


@lru_cache(maxsize=16384)
def name_key(name: str) -> str:
    """A name as compared: folded, without particles ("al-Hasakeh" and "Hasakeh" alike)."""
    return _PARTICLE.sub("", fold(name))


def variants(a: str, b: str) -> bool:
    """Keys of two spellings of one name: similar, same initial, neither an inflection of the other."""
    if a == b or not a or not b or a[0] != b[0] or fuzz.ratio(a, b) < SPELLING_SIMILARITY:
        return False
    stem = len(_common_prefix(a, b))
    rest_a, rest_b = a[stem:], b[stem:]
    # Democrat / Democratic / Democrats: one stem with English endings, not two spellings.
    return not ((rest_a in _SUFFIXES or not rest_a) and (rest_b in _SUFFIXES or not rest_b))


def _common_prefix(a: str, b: str) -> str:
    size = 0
    while size < min(len(a), len(b)) and a[size] == b[size]:
        size += 1
    return a[:size]


def spelling_groups(uses: Sequence[NameUse]) -> list[list[NameUse]]:
    """Groups of two or more spellings of one name, each spelling with its first use; like contexts only."""
    first: dict[str, NameUse] = {}
    contexts: dict[str, list[frozenset[str]]] = {}
    for use in uses:
        key = name_key(use.name)
        if len(key) < 4 or key in STOPWORDS:
            continue
        first.setdefault(key, use)
        contexts.setdefault(key, []).append(use.context)
    groups: list[list[str]] = []
    by_initial: dict[str, list[list[str]]] = {}
    for key in sorted(first):
        # Variants share an initial and differ in length by a few letters: only those groups are compared.
        candidates = by_initial.setdefault(key[0], [])
        for group in candidates:
            if any(
                abs(len(key) - len(other)) <= 3 and variants(key, other) and _alike(key, other, contexts)
                for other in group
            ):
                group.append(key)
                break
        else:
            candidates.append([key])
            groups.append(candidates[-1])
    return [[first[k] for k in group] for group in groups if len(group) >= 2]


def _alike(a: str, b: str, contexts: dict[str, list[frozenset[str]]]) -> bool:
    """Near-identical spellings (Hasakeh / Hasaka) stand on their own; less similar ones need like contexts."""
    need = CLOSE_CONTEXT if fuzz.ratio(a, b) >= CLOSE_SPELLING else CONTEXT_OVERLAP
    if any(containment(x, y) >= need for x in contexts[a] for y in contexts[b]):
        return True
    # A spelling used once, in a long sentence: compare it with everything said around the other spelling.
    around_a, around_b = frozenset().union(*contexts[a]), frozenset().union(*contexts[b])
    return min(len(around_a), len(around_b)) >= 8 and containment(around_a, around_b) >= UNION_CONTEXT


def name_uses(text: str, article_id: str, sentence_id: str) -> list[NameUse]:
    context = stems(text)
    return [NameUse(n, article_id, sentence_id, context) for n in names(text) if _PARTICLE.sub("", n)[:1].isupper()]


_VERBS = r"(?:said|says|told|tweeted|wrote|added|warned|announced|noted|commented|argued|claimed|insisted|stated)"
_VERB = re.compile(rf"\b{_VERBS}\b")
# Anchored at the end of the text before the verb: searched only there, not at every position of the sentence.
_BEFORE = re.compile(r"(?P<who>(?:[A-Za-z][\w.'’-]*\s+){0,4}[A-Za-z][\w.'’-]*)\s+(?:had\s+|has\s+)?$")
# After the verb only for verbs that put the speaker last ("tweeted SDF spokesperson Farhad Shami"), never
# "told" (its object is the listener).
_AFTER = re.compile(r"\b(?:said|says|tweeted|added|warned|wrote)\s+(?P<who>(?:[A-Z][\w.'’-]*\s*){1,4})")
_ACCORDING = re.compile(r"\baccording to (?P<who>(?:the\s+)?(?:[A-Za-z][\w.'’-]*\s*){1,4})")
_PRONOUNS = frozenset(["he", "she", "they", "it", "we", "i", "you", "who", "which", "that", "this", "one"])


def speaker(text: str) -> str | None:
    """Who the sentence says is speaking ("Shami", "Prison officials", "the al-Monitor website"), if anyone."""
    verb = _VERB.search(text)
    for pattern in (_ACCORDING, _AFTER, _BEFORE):
        if pattern is _BEFORE:
            match = _BEFORE.search(text[max(verb.start() - 80, 0) : verb.start()]) if verb else None
        else:
            match = pattern.search(text)
        if match is None:
            continue
        words = match.group("who").strip(" ,.").split()[-4:]
        while words and words[0].lower() in STOPWORDS:
            words = words[1:]  # "and current detainees in Hasakah" -> "current detainees in Hasakah"
        if not words or words[-1].lower() in _PRONOUNS:
            continue
        return " ".join(words)  # the source's own words: the side's value is checked against them
    return None
