"""Whether two sentences that share words say opposite things about them: one negates what the other asserts.

Conservative by design: a sentence negates shared content when a negation cue ("not", "no", "never",
"without", "before any", "denied" ...) stands just before one of the words both sentences use. Two
sentences contradict when exactly one of them negates their shared content; a negation in both ("no one
was hurt" and "nobody was injured") is agreement. A concession ("despite a storm warning") asserts its
content, so it reads as affirmative: against "before any storm warning was issued" it is a contradiction.
"""

from __future__ import annotations

import re
from functools import lru_cache

from summarizer.analysis.text import STEM, WORD
from summarizer.claims import fold

NEGATIONS = frozenset({"no", "not", "never", "none", "nobody", "nothing", "neither", "nor", "cannot", "without"})
"""Words that deny what follows them."""
DENIALS = frozenset({"denied", "denies", "deny"})
"""Verbs that deny their object: "denied the report"."""
NEGATED_PHRASES = (("before", "any"), ("no", "longer"))
"""Two-word cues: "left before any warning" says there was none yet."""
SCOPE = 3
"""A cue negates the content words this many tokens after it."""


_NUMBER_SIGN = re.compile(r"\bno\.\s*(?=\d)", re.IGNORECASE)
"""'No. 2' numbers a rank; it negates nothing."""


def _tokens(text: str) -> list[tuple[str, bool]]:
    """The words of ``text``, folded, each with whether the source writes it in lower case (not a name)."""
    text = _NUMBER_SIGN.sub(" ", text)
    return [(fold(m.group(0)), m.group(0)[0].islower()) for m in WORD.finditer(text)]


def _cue_length(words: list[str], i: int) -> int:
    """How many words of a negation cue start at ``i`` (0 for none)."""
    if i + 1 < len(words) and (words[i], words[i + 1]) in NEGATED_PHRASES:
        return 2
    word = words[i]
    return 1 if word in NEGATIONS or word in DENIALS or word.endswith(("n't", "n’t")) else 0


@lru_cache(maxsize=16384)
def negated(text: str) -> frozenset[str]:
    """The stems of ``text`` a negation cue stands within ``SCOPE`` words before, written in lower case: a
    negation bears on what happened, and a name after it is rarely what it denies ("if not for Smith")."""
    tokens = _tokens(text)
    words = [w for w, _ in tokens]
    out: set[str] = set()
    for i in range(len(tokens)):
        cue = _cue_length(words, i)
        if cue:
            out.update(w[:STEM] for w, lower in tokens[i + cue : i + cue + SCOPE] if lower)
    return frozenset(out)


def negates(text: str, shared: frozenset[str]) -> bool:
    """Whether ``text`` negates one of the ``shared`` stems."""
    return not negated(text).isdisjoint(shared)


def contradicts(a: str, b: str, shared: frozenset[str]) -> bool:
    """Whether exactly one of ``a`` and ``b`` negates the content stems they share."""
    if not shared:
        return False
    return negates(a, shared) != negates(b, shared)
