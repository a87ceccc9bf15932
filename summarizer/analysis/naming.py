"""Discrepancies of naming: one name spelt differently, one person with two first names, one post credited to two
people, and contested wording for one thing (illegal / undocumented immigrants).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence

from summarizer.analysis.model import Finding, Ref, Side
from summarizer.analysis.names import name_key, name_uses, spelling_groups, variants
from summarizer.analysis.sentences import SentenceInfo, spread_refs
from summarizer.analysis.text import DATE_WORDS, STOPWORDS


def spelling_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    uses = [u for s in sentences for u in name_uses(s.text, s.ref.article_id, s.ref.sentence_id)]
    where: dict[str, list[Ref]] = {}
    for use in uses:
        refs_of = where.setdefault(name_key(use.name), [])
        ref = Ref(use.article_id, use.sentence_id)
        if ref not in refs_of:
            refs_of.append(ref)
    found = []
    for group in spelling_groups(uses):
        sides = []
        for use in group[:4]:
            refs = where[name_key(use.name)]
            sides.append(Side(value=use.name, refs=tuple(spread_refs(refs)), words=use.name))
        per_side = Counter(a for side in sides for a in {r.article_id for r in side.refs})
        within = sorted(a for a, n in per_side.items() if n > 1)
        note = (
            f"{', '.join(within)} use{'s' if len(within) == 1 else ''} more than one spelling itself"
            if within
            else None
        )
        topic = "Spelling of one name: " + " / ".join(side.value for side in sides)
        key = "spelling:" + "/".join(sorted(name_key(side.value) for side in sides))
        found.append(Finding("spelling", topic, tuple(sides), note, key))
    return found


# A lookahead, so "Representative James E. Clyburn" yields "James E. Clyburn" after "Representative James".


_PERSON = re.compile(r"(?=\b([A-Z][a-z]{1,15})\s+(?:[A-Z]\.\s+)?([A-Z][^\W\d_]{2,}(?:['’-][^\W\d_]+)?))")


_NOT_FIRST = frozenset(
    [
        "The",
        "A",
        "An",
        "In",
        "On",
        "At",
        "Of",
        "For",
        "From",
        "By",
        "With",
        "As",
        "And",
        "But",
        "Or",
        "If",
        "When",
        "While",
        "After",
        "Before",
        "Since",
        "Until",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Rep",
        "Sen",
        "Gov",
        "Gen",
        "Lt",
        "Col",
        "Sgt",
        "Capt",
        "President",
        "Senator",
        "Representative",
        "Speaker",
        "Leader",
        "Judge",
        "Justice",
        "House",
        "Senate",
        "New",
        "North",
        "South",
        "East",
        "West",
        "Former",
        "Democratic",
        "Republican",
        "Democrat",
        "GOP",
        "Vice",
        "Chief",
        "Special",
        "Agent",
        "Officer",
        "Mount",
        "Lake",
        "Fort",
        "Saint",
        "San",
        "Santa",
        "Los",
        "Las",
        "El",
        "La",
        "Le",
        "De",
        "Del",
        "Van",
        "Von",
    ]
)


_RELATIVE = re.compile(
    r"\b(?P<owner>[A-Z][\w'’-]+)['’]s\s+(?:wife|husband|son|daughter|brother|sister|father|mother),\s+"
    r"(?P<first>[A-Z][a-z]+)\b(?!\s+[A-Z])"
)


def name_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """One surname with two first names that share an initial (David / Dave Brat, Linda / Loretta Sanchez)."""
    by_surname: dict[str, dict[str, list[tuple[SentenceInfo, str]]]] = {}
    # Words the articles also write in lower case are words, not names ("Majority Leader", "Sexual Harassment").
    common = {w for info in sentences for w in re.findall(r"\b[a-z][a-z'’-]+\b", info.text)}
    for info in sentences:
        for match in _PERSON.finditer(info.text):
            first, last = match.group(1), match.group(2)
            if first in _NOT_FIRST or first.lower() in DATE_WORDS or first.lower() in STOPWORDS:
                continue
            if first.lower() in common or last.lower() in common:
                continue
            words = info.text[match.start(1) : match.end(2)]
            by_surname.setdefault(name_key(last), {}).setdefault(first, []).append((info, words))
        for match in _RELATIVE.finditer(info.text):
            # "Mr. Jackson's wife, Sandi": the first name, and the surname of whose wife she is.
            first = match.group("first")
            if first not in _NOT_FIRST and first.lower() not in common:
                by_surname.setdefault(name_key(match.group("owner")), {}).setdefault(first, []).append((info, first))
    found = []
    for surname, firsts in sorted(by_surname.items()):
        initials: dict[str, list[str]] = {}
        for first in firsts:
            initials.setdefault(first[0], []).append(first)
        for group in initials.values():
            if len(group) < 2 or not any(
                {i.article_id for i, _ in firsts[x]} != {i.article_id for i, _ in firsts[y]}
                for x, y in itertools.combinations(group, 2)
            ):
                continue
            if all(variants(name_key(x), name_key(y)) for x, y in itertools.combinations(group, 2)):
                continue  # one word spelled two ways (Keldon / Keldan Point): the spelling finding tells it
            sides = tuple(
                Side(
                    value=firsts[first][0][1],
                    refs=tuple(spread_refs([i.ref for i, _ in firsts[first]])),
                    words=firsts[first][0][1],
                )
                for first in sorted(
                    group, key=lambda f: min(i.order + 1000 * int(i.article_id[1:]) for i, _ in firsts[f])
                )
            )[:4]
            topic = "One person, two first names: " + " / ".join(side.value for side in sides)
            note = "possibly a short form of the same name" if _short_form(group) else None
            found.append(Finding("name", topic, sides, note, f"name:{surname}:{'/'.join(sorted(group))}"))
    return found


def _short_form(firsts: Sequence[str]) -> bool:
    """Dave / David, Zack / Zachary: the shorter shares the longer's first three letters."""
    return any(a[:3].lower() == b[:3].lower() for a, b in itertools.combinations(firsts, 2))


_POSTS = r"communications director|chief of staff|press secretary|campaign manager|campaign chairman"
"""Posts one person holds at a time for a principal; spokesmen and lawyers come in numbers, so they are left out."""


_WHOSE = r"(?:his|her|their|[A-Z][\w'’-]+['’]s)\s+(?:former\s+|then-|new\s+)?"


_PERSON_NAME = r"[A-Z][a-z]+(?:\s+[A-Z]\.)?\s+[A-Z][\w'’-]+"


_POST_THEN_NAME = re.compile(rf"{_WHOSE}(?P<post>{_POSTS}),?\s+(?P<who>{_PERSON_NAME})")


_NAME_THEN_POST = re.compile(rf"(?P<who>{_PERSON_NAME}),\s+{_WHOSE}(?P<post>{_POSTS})")


def post_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """One post credited to two different people by two articles ("his former communications director")."""
    holders: dict[str, dict[str, list[SentenceInfo]]] = {}
    for info in sentences:
        for pattern in (_POST_THEN_NAME, _NAME_THEN_POST):
            for match in pattern.finditer(info.text):
                post, who = match.group("post").lower(), match.group("who")
                holders.setdefault(post, {}).setdefault(who, []).append(info)
    found = []
    for post, people in sorted(holders.items()):
        if len(people) < 2:
            continue
        articles = {who: {i.article_id for i in infos} for who, infos in people.items()}
        if len(set().union(*articles.values())) < 2:
            continue  # one article naming two holders: a succession, more likely than a contradiction
        sides = tuple(
            Side(value=who, refs=tuple(spread_refs([i.ref for i in infos])), words=who) for who, infos in people.items()
        )[:4]
        topic = f"Who was the {post}: " + " / ".join(side.value for side in sides)
        found.append(Finding("name", topic, sides, None, f"post:{post}"))
    return found


TERMS: tuple[tuple[str, str], ...] = (
    ("illegal immigrants", "undocumented immigrants"),
    ("illegal aliens", "undocumented immigrants"),
    ("illegal immigration", "undocumented immigration"),
    ("pro-life", "anti-abortion"),
    ("pro-choice", "abortion-rights"),
    ("death tax", "estate tax"),
    ("assault weapons", "semiautomatic rifles"),
)
"""Contested names for one thing: which one a source uses tells the reader something (BASIL's own subject)."""


def wording_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """Two articles naming one thing with terms from opposite sides of a known divide."""
    found = []
    for one, other in TERMS:
        uses = {term: [s for s in sentences if term in s.text.lower()] for term in (one, other)}
        if not uses[one] or not uses[other]:
            continue
        if {s.article_id for s in uses[one]} == {s.article_id for s in uses[other]}:
            continue  # every source uses both: no source's choice to report
        sides = tuple(
            Side(value=term, refs=tuple(spread_refs([s.ref for s in uses[term]])), words=term) for term in (one, other)
        )
        found.append(Finding("name", f"Wording: {one} vs {other}", sides, None, f"wording:{one}/{other}"))
    return found
