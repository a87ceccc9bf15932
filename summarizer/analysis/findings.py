"""Typed discrepancies between (and within) articles, found sentence by sentence.

Each detector prefers no finding to a wrong one: a false discrepancy costs an analyst more than
a missed one. Two sentences are compared only when they are about the same thing (shared
content words and names, the same kind of event), and every side cites the sentences whose
words carry its value.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from summarizer.analysis.dates import DateMention
from summarizer.analysis.model import Finding, Ref, Side
from summarizer.analysis.names import name_key, name_uses, speaker, spelling_groups, variants
from summarizer.analysis.quantities import Quantity
from summarizer.analysis.text import DATE_WORDS, STOPWORDS, containment, stems
from summarizer.claims import names

GENERIC_UNITS = frozenset({"", "years", "months", "weeks", "days", "percent", "time", "point", "thing", "way"})
"""Units too general to say two figures count the same thing."""
FIGURE_CONTEXT = 0.5
DATE_CONTEXT = 0.25
_ANCHORED = ("counted from 1", "counted from 2")
"""Dates counted from another date ("a day after"): too easily anchored to the wrong one to contradict anything."""
DATE_SHARED = 1
MAX_DATE_GAP = 7
ACTOR_DATE_CONTEXT = 0.15
"""Less context is needed when both dates follow the same name ("the House on Thursday" / "the House ... Wednesday")."""
YEAR_CONTEXT = 0.3
"""Least containment of the words around two "since YEAR" dates for them to date one thing."""
"""Content words two dates' surroundings must share to be dates of one event."""
OUTCOME_CONTEXT = 0.15
FRAMING_CONTEXT = 0.05
"""Loaded framing words about one named subject need little else in common."""
ATTRIBUTION_CONTEXT = 0.6
ATTRIBUTION_SHARED = 5
ARITHMETIC_SPREAD = Decimal("0.1")
"""Parts that add up to within 10 % of a total, but not to it, are a contradiction rather than other figures."""

_EVENT_CLASSES = {
    "violence": "attack assault shooting shooter shot shots gunman gunfire fired bomb explosion break jailbreak escape "
    "riot siege clash fighting",
    "vote": "vote voted votes voting override overrode ballot elected election primary caucus",
    "legal": "indicted indictment arrested arrest charged charges plead pleaded plea sentenced sentencing court "
    "hearing trial",
    "resign": "resign resigned resignation resigning retire retirement",
    "deal": "deal agreement agreed signed sign shutdown reopen",
}
_EVENT_STEMS = {word[:5]: cls for cls, words in _EVENT_CLASSES.items() for word in words.split()}
_OUTCOMES: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    (
        "whether the attempt succeeded",
        re.compile(r"\b(?:thwarted|foiled|prevented|repelled|stopped|failed)\b", re.I),
        re.compile(r"\b(?:escaped|managed to escape|broke out|succeeded)\b", re.I),
    ),
    (
        "the plea",
        re.compile(r"\bpleaded guilty\b", re.I),
        re.compile(r"\bpleaded not guilty\b", re.I),
    ),
    (
        "whether he or she resigns",
        re.compile(r"\b(?:resigned|resigns|is resigning|will resign|stepped down)\b", re.I),
        re.compile(r"\b(?:will not resign|won't resign|refused to resign|not resigning|no plans to resign)\b", re.I),
    ),
    (
        "the condition reported",
        re.compile(r"\bcritical condition\b", re.I),
        re.compile(r"\b(?:stable|good|fair|serious but stable) condition\b", re.I),
    ),
)
# Framings of one result that cannot both be right: a win or a climb-down, a show of strength or a rebuke.
_FRAMING = "how sources frame"
_OUTCOMES += (
    (
        f"{_FRAMING} the result (a win or a climb-down)",
        re.compile(r"\b(?:victory|triumph|(?:a|big|clear) win|no way a concession|not a concession)\b", re.I),
        re.compile(r"\b(?:surrender(?:ed)?|caved?|capitulat(?:ed|ion)|climb-?down|backed down|retreat(?:ed)?)\b", re.I),
    ),
    (
        f"{_FRAMING} the vote (strength or a rebuke)",
        re.compile(r"\b(?:strong support|decisive(?:ly)?|resounding|commanding)\b", re.I),
        re.compile(r"\b(?:rebuke|repudiation|dissent|discontent|revolt|defections?)\b", re.I),
    ),
    (
        f"{_FRAMING} the tactics (routine or excessive)",
        re.compile(r"\b(?:routine|standard practice|standard procedure|typical(?:ly)?|ordinary)\b", re.I),
        re.compile(r"\b(?:unnecessary|excessive|vindictive|heavy-handed|overkill|gestapo)\b", re.I),
    ),
    (
        "whether it was admitted",
        re.compile(r"\b(?:admitted|acknowledged|confirmed)\b", re.I),
        re.compile(r"\b(?:deny|denied|denies|changed (?:his|her) story|backed away|walked back)\b", re.I),
    ),
)
_DONE_OR_PENDING = (
    ("pleaded guilty", "plead guilty"),
    ("resigned", "resign"),
    ("testified", "testify"),
    ("was sentenced", "be sentenced"),
    ("was arrested", "be arrested"),
    ("was indicted", "be indicted"),
)
# One report says it happened, another that it is still to come: "pleaded guilty" vs "is expected to plead guilty".
# Only across articles: within one, "He pleaded guilty; his wife is expected to plead" is two people.
_PENDING_TOPIC = "whether it has happened"
_OUTCOMES += tuple(
    (
        f"{_PENDING_TOPIC} ({done} or still expected)",
        re.compile(rf"\b{done}\b", re.I),
        re.compile(rf"\b(?:is|are|was|were)\s+(?:expected|set|scheduled|due|slated|likely)\s+to\s+{pending}\b", re.I),
    )
    for done, pending in _DONE_OR_PENDING
)
_ATTRIBUTION_TRIM = re.compile(r"\b(?:according to|cited by|told|said|says)\b[^,.;]*", re.I)


@dataclass
class SentenceInfo:
    ref: Ref
    text: str
    order: int
    published: str | None
    stems: frozenset[str]
    names: frozenset[str]
    dates: list[DateMention] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    speaker: str | None = None

    @property
    def article_id(self) -> str:
        return self.ref.article_id


def sentence_info(ref: Ref, text: str, order: int, published: str | None) -> SentenceInfo:
    return SentenceInfo(
        ref=ref,
        text=text,
        order=order,
        published=published,
        stems=stems(text),
        names=frozenset(name_key(n) for n in names(text)),
        speaker=speaker(text),
    )


def shared_stem_pairs(
    sentences: Sequence[SentenceInfo], min_shared: int, skip_common: bool = True
) -> list[tuple[SentenceInfo, SentenceInfo, int]]:
    """Pairs of sentences from different articles sharing at least ``min_shared`` content stems, with the
    count, in sentence order. Found through an index of the stems, so the work grows with the sentences that
    share words, not with the square of all of them; a stem in a third of the sentences is no evidence."""
    postings: dict[str, list[int]] = {}
    for i, info in enumerate(sentences):
        for stem in info.stems:
            postings.setdefault(stem, []).append(i)
    shared: dict[tuple[int, int], int] = {}
    common = len(sentences) // 3 + 2 if skip_common else len(sentences)
    for members in postings.values():
        if len(members) > common:
            continue
        for i, j in itertools.combinations(members, 2):
            if sentences[i].article_id != sentences[j].article_id:
                shared[(i, j)] = shared.get((i, j), 0) + 1
    return [(sentences[i], sentences[j], n) for (i, j), n in sorted(shared.items()) if n >= min_shared]


def _events(info: SentenceInfo) -> set[str]:
    return {_EVENT_STEMS[s] for s in info.stems if s in _EVENT_STEMS}


EVENT_WINDOW = 80
"""Characters either side of a date within which the event it dates is named."""
_EVENT_WORD = re.compile(r"[A-Za-z]+")


def _window(info: SentenceInfo, mention: DateMention) -> frozenset[str]:
    lo, hi = max(mention.start - EVENT_WINDOW, 0), mention.start + len(mention.text) + EVENT_WINDOW
    return stems(info.text[lo:hi])


def _dated_events(info: SentenceInfo, mention: DateMention) -> set[str]:
    """The kinds of event named near a date: "attack ... on Friday" dates the attack, not the campaign."""
    lo, hi = max(mention.start - EVENT_WINDOW, 0), mention.start + len(mention.text) + EVENT_WINDOW
    words = _EVENT_WORD.findall(info.text[lo:hi].lower())
    return {_EVENT_STEMS[w[:5]] for w in words if w[:5] in _EVENT_STEMS}


def _shared_names(a: SentenceInfo, b: SentenceInfo) -> bool:
    return bool(a.names & b.names) or any(variants(x, y) for x in a.names for y in b.names)


# -- spellings ------------------------------------------------------------------------------------
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
            sides.append(Side(value=use.name, refs=tuple(_spread(refs)), words=use.name))
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


def _spread(refs: Sequence[Ref], per_article: int = 2, limit: int = 4) -> list[Ref]:
    """Up to ``per_article`` refs from each article, ``limit`` in all, in article order."""
    out: list[Ref] = []
    counts: dict[str, int] = {}
    for ref in refs:
        if counts.get(ref.article_id, 0) < per_article and len(out) < limit:
            out.append(ref)
            counts[ref.article_id] = counts.get(ref.article_id, 0) + 1
    return out


# -- first names ----------------------------------------------------------------------------------
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
            sides = tuple(
                Side(
                    value=firsts[first][0][1],
                    refs=tuple(_spread([i.ref for i, _ in firsts[first]])),
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


# -- who did it --------------------------------------------------------------------------------
_AGENT = r"(?P<who>(?:[A-Za-z][\w'’-]*\s+){0,3}?[A-Za-z][\w'’-]*)"
# After "by" or "of" the doer runs on (greedy) to the end of its phrase: "by ISIS sleeper cells, who ...".
_PHRASE_END = "who|which|that|from|in|near|on|at|to|since|after|before|for|with|and|as"
_AGENT_AFTER = rf"(?P<who>[A-Za-z][\w'’-]*(?:\s+(?!(?:{_PHRASE_END})\b)[A-Za-z][\w'’-]*){{0,3}})"
_DID = "led|carried out|launched|staged|mounted"
_ATTACKS = "attack|assault|explosion|raid|bomb|bombing|shooting"
_ACTIONS: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...] = (
    (
        "ordered",
        (
            re.compile(rf"{_AGENT}\s+(?:ordered|directed)\b"),
            re.compile(rf"\b(?:on|at|under) the (?:orders?|direction|instructions?) of (?:the\s+)?{_AGENT_AFTER}"),
        ),
    ),
    (
        "attacked",
        (
            re.compile(rf"{_AGENT}\s+(?:{_DID})\s+(?:an?\s+)?(?:\w+\s+)?(?:attack|assault|raid)"),
            re.compile(rf"\b(?:{_ATTACKS})\b[^,.;]{{0,40}}?\b(?:conducted|{_DID}) by {_AGENT_AFTER}"),
            re.compile(rf"{_AGENT}\s+who\s+attacked\b"),
        ),
    ),
)
AGENT_CONTEXT = 0.2
_ACTION_WORDS = {
    "ordered": re.compile(r"\b(?:ordered|directed|orders?|direction|instructions?)\b"),
    "attacked": re.compile(rf"\b(?:{_DID}|attacked|conducted)\b"),
}


def _head(who: str) -> str:
    words = [w for w in who.split() if w.lower() not in STOPWORDS]
    return name_key(words[-1]) if words else ""


def agent_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """The same act credited to different doers: "detainees led the attack" vs "cells who attacked from outside"."""
    found = []
    for act, patterns in _ACTIONS:
        doers: list[tuple[SentenceInfo, str]] = []
        gate = _ACTION_WORDS[act]
        for info in sentences:
            if not gate.search(info.text):
                continue  # the doer patterns scan every position; most sentences have no such verb at all
            for pattern in patterns:
                match = pattern.search(info.text)
                if match and _head(match.group("who")):
                    doers.append((info, match.group("who").strip()))
                    break
        best: tuple[float, SentenceInfo, str, SentenceInfo, str] | None = None
        for (a, who_a), (b, who_b) in itertools.combinations(doers, 2):
            if a.article_id == b.article_id or _head(who_a) == _head(who_b) or variants(_head(who_a), _head(who_b)):
                continue
            if stems(who_a) <= stems(who_b) or stems(who_b) <= stems(who_a):
                continue  # "ISIS" and "ISIS sleeper cells": the same doer, named more or less fully
            score = containment(a.stems - stems(who_a), b.stems - stems(who_b))
            if score >= AGENT_CONTEXT and _shared_names(a, b) and (best is None or score > best[0]):
                best = (score, a, who_a, b, who_b)
        if best is None:
            continue
        _, a, who_a, b, who_b = best
        sides = (Side(value=who_a, refs=(a.ref,), words=who_a), Side(value=who_b, refs=(b.ref,), words=who_b))
        found.append(Finding("attribution", f"Who {act}: {who_a} vs {who_b}", sides, None, f"agent:{act}"))
    return found


# -- what was pleaded to ----------------------------------------------------------------------
_CHARGES = (
    "fraud|conspiracy|perjury|obstruction|bribery|extortion|embezzlement|money laundering|tax evasion|"
    "false statements|lying|witness tampering|contempt|theft|misuse"
)
_PLEA = re.compile(
    r"\b(?:pleaded guilty|plea was|pleaded not guilty|was convicted|was charged)\b(?P<what>.{0,80})", re.I
)
_CHARGE = re.compile(rf"\b(?:{_CHARGES})\b", re.I)


def charge_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """One person's plea or charge named differently: "one felony fraud count" vs "a conspiracy charge"."""
    pleas: list[tuple[SentenceInfo, frozenset[str], frozenset[str]]] = []
    for info in sentences:
        for match in _PLEA.finditer(info.text):
            before = frozenset(name_key(n) for n in names(info.text[: match.start()]) if n.lower() not in DATE_WORDS)
            words = frozenset(w.lower() for w in _CHARGE.findall(match.group("what").split(";")[0]))
            if before and words:
                pleas.append((info, before, words))
    found = []
    seen: set[frozenset[str]] = set()
    for (a, who_a, wa), (b, who_b, wb) in itertools.combinations(pleas, 2):
        if a.article_id == b.article_id or wa & wb or not who_a & who_b:
            continue
        if any(w in b.text.lower() for w in wa) or any(w in a.text.lower() for w in wb):
            continue  # each names the other's charge too: two charges, not two versions of one
        key = frozenset(who_a & who_b)
        if key in seen:
            continue
        seen.add(key)
        one, other = " and ".join(sorted(wa)), " and ".join(sorted(wb))
        sides = (
            Side(value=one, refs=(a.ref,), words=sorted(wa)[0]),
            Side(value=other, refs=(b.ref,), words=sorted(wb)[0]),
        )
        topic = f"What the plea or charge was: {one} vs {other}"
        found.append(Finding("outcome", topic, sides, None, f"charge:{'/'.join(sorted(key))}"))
    return found


# -- who held a post -----------------------------------------------------------------------------
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
            Side(value=who, refs=tuple(_spread([i.ref for i in infos])), words=who) for who, infos in people.items()
        )[:4]
        topic = f"Who was the {post}: " + " / ".join(side.value for side in sides)
        found.append(Finding("name", topic, sides, None, f"post:{post}"))
    return found


# -- wording ------------------------------------------------------------------------------------
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
            Side(value=term, refs=tuple(_spread([s.ref for s in uses[term]])), words=term) for term in (one, other)
        )
        found.append(Finding("name", f"Wording: {one} vs {other}", sides, None, f"wording:{one}/{other}"))
    return found


# -- figures --------------------------------------------------------------------------------------
_PLACE = re.compile(r"\b(?:in|at|near|outside)\s+(?:the\s+|an?\s+)?([A-Z][\w'’-]+)")


PLACE_REACH = 50
"""Characters around a figure within which a place tells which event the figure is about."""


def _exclusive_names(
    a: SentenceInfo, qa: Quantity, b: SentenceInfo, qb: Quantity, article_names: dict[str, frozenset[str]]
) -> bool:
    """A place next to one figure that the other article never names: likely another event ("in Diyala ... where
    11 soldiers were killed", beside a Hasakah toll)."""
    for this, figure, other in ((a, qa, b), (b, qb, a)):
        known = article_names[other.article_id]
        at = max(this.text.find(figure.words), 0)
        near = this.text[max(at - PLACE_REACH, 0) : at + len(figure.words) + PLACE_REACH]
        for place in _PLACE.findall(near):
            key = name_key(place)
            if key.lower() in DATE_WORDS or len(key) < 3:
                continue
            if not any(key == m or variants(key, m) for m in known):
                return True
    return False


def _nearest_name(info: SentenceInfo, quantity: Quantity) -> str | None:
    at = info.text.find(quantity.words)
    before = names(info.text[: max(at, 0)])
    return name_key(before[-1]) if before else None


LOCAL_AFTER = 60
"""Characters after a figure that say what it is the figure of ("$43,350 gold-plated men's Rolex watch")."""


def _local_names(info: SentenceInfo, quantity: Quantity) -> frozenset[str]:
    at = info.text.find(quantity.words)
    if at < 0:
        return frozenset()
    after = info.text[at + len(quantity.words) : at + len(quantity.words) + LOCAL_AFTER]
    after = re.split(r"[,;]| and (?=\$|\d)", after)[0]  # up to the next item of a list
    return frozenset(name_key(n) for n in names(after) if len(name_key(n)) > 2 and n.lower() not in DATE_WORDS)


_UP = re.compile(r"\b(?:gain(?:ed|s)?|picked up|pick up|won|wins|add(?:ed|s)?|rose|rise|increase[ds]?|grew)\b", re.I)
_DOWN = re.compile(r"\b(?:lost|lose|loses|fell|fall|drop(?:ped|s)?|decrease[ds]?|cut|shed)\b", re.I)


def _direction(info: SentenceInfo, quantity: Quantity) -> int:
    """+1 for a gain ("picked up six seats"), -1 for a loss ("lost nearly 60 seats"), 0 for a plain count."""
    at = info.text.find(quantity.words)
    before = info.text[max(at - 30, 0) : max(at, 0)]
    return (1 if _UP.search(before) else 0) - (1 if _DOWN.search(before) else 0)


def _counted(sentences: Sequence[SentenceInfo]) -> list[SentenceInfo]:
    return [s for s in sentences if any(q.unit not in GENERIC_UNITS for q in s.quantities)]


def figure_findings(sentences: Sequence[SentenceInfo], article_names: dict[str, frozenset[str]]) -> list[Finding]:
    """Figures that count the same thing about the same subject, and disagree even allowing for qualifiers."""
    found: dict[tuple[Ref, Ref], Finding] = {}
    for a, b in itertools.combinations(_counted(sentences), 2):
        if a.article_id == b.article_id:
            continue
        for qa, qb in itertools.product(a.quantities, b.quantities):
            if qa.unit != qb.unit or qa.unit in GENERIC_UNITS or qa.agrees(qb):
                continue
            if any(q.agrees(qb) for q in a.quantities if q.unit == qb.unit) or any(
                q.agrees(qa) for q in b.quantities if q.unit == qa.unit
            ):
                continue  # the other sentence gives this figure too: they list different things
            if not _same_count(a, qa, b, qb, article_names):
                continue
            later = _later(a, b)
            note = None
            if later is not None and qa.exact and qb.exact:
                note = (
                    f"{later.article_id} was published later: it may revise the earlier count rather than contradict it"
                )
            sides = (
                Side(value=qa.words, refs=(a.ref,), words=qa.words),
                Side(value=qb.words, refs=(b.ref,), words=qb.words),
            )
            topic = f"How many ({qa.unit}): {qa.words} vs {qb.words}"
            found.setdefault((a.ref, b.ref), Finding("figure", topic, sides, note, f"figure:{qa.unit}:{a.ref}:{b.ref}"))
    return list(found.values())


def _same_count(
    a: SentenceInfo, qa: Quantity, b: SentenceInfo, qb: Quantity, article_names: dict[str, frozenset[str]]
) -> bool:
    """Two figures of one thing: the same named item right after them, or one subject in like sentences."""
    if _direction(a, qa) * _direction(b, qb) < 0:
        return False  # six seats gained, nearly 60 lost: two changes, not one count
    if _local_names(a, qa) & _local_names(b, qb):
        return True  # "$5,587.75 vacation at the Martha's Vineyard Holistic Retreat" / "$5,687.75 on Martha's ..."
    casualty = qa.unit in ("dead", "injured")
    if not casualty and containment(a.stems, b.stems) < FIGURE_CONTEXT:
        return False
    name_a, name_b = _nearest_name(a, qa), _nearest_name(b, qb)
    if not casualty and not (name_a and name_b and (name_a == name_b or variants(name_a, name_b))):
        return False  # 134 votes for Pelosi, 63 for Ryan; $200,000 raised by Brat, $5.4 million by Cantor
    return not _exclusive_names(a, qa, b, qb, article_names) and (casualty or _shared_names(a, b))


def _later(a: SentenceInfo, b: SentenceInfo) -> SentenceInfo | None:
    if a.published and b.published and a.published != b.published:
        return a if a.published > b.published else b
    return None


def arithmetic_findings(by_article: dict[str, list[SentenceInfo]]) -> list[Finding]:
    """A total whose own parts, listed in the same or the next sentence, add up to something else."""
    found = []
    for infos in by_article.values():
        for i, total_sentence in enumerate(infos):
            for total in total_sentence.quantities:
                if not total.exact or total.value < 10:
                    continue
                for parts_sentence in infos[i + 1 : i + 2]:
                    parts = [
                        q
                        for q in parts_sentence.quantities
                        if q.exact and q.value < total.value and q.unit not in GENERIC_UNITS | {"age"}
                    ]
                    if len(parts) < 3:
                        continue
                    added = sum((q.value for q in parts), Decimal(0))
                    if added == total.value or abs(added - total.value) > total.value * ARITHMETIC_SPREAD:
                        continue
                    shown = " + ".join(q.words for q in parts)
                    sides = (
                        Side(value=total.words, refs=(total_sentence.ref,), words=total.words),
                        Side(value=f"{shown} = {format(added, 'f')}", refs=(parts_sentence.ref,), words=parts[0].words),
                    )
                    topic = f"A total that its own parts contradict: {total.words} vs {shown} = {format(added, 'f')}"
                    key = f"arithmetic:{total_sentence.ref}:{parts_sentence.ref}"
                    found.append(
                        Finding("arithmetic", topic, sides, f"{total_sentence.ref.article_id} contradicts itself", key)
                    )
    return found


# -- dates ----------------------------------------------------------------------------------------
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
        later = _later(a, b)
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
        if d.is_day and not d.how.startswith(_ANCHORED) and not _BOUND.search(info.text[max(d.start - 12, 0) : d.start])
    ]


_BOUND = re.compile(r"\b(?:until|through|till|by|before|after|deadline|ahead of)\s*(?:the\s*)?$", re.I)


def _day_pair(a: SentenceInfo, b: SentenceInfo) -> tuple[DateMention, DateMention] | None:
    days_a, days_b = _event_days(a), _event_days(b)
    if not days_a or not days_b or not _shared_names(a, b):
        return None
    context = containment(a.stems, b.stems)
    for x, y in itertools.product(days_a, days_b):
        if not _near(x, y) or not _events(a) & _events(b) or context < ACTOR_DATE_CONTEXT:
            continue
        actor_x, actor_y = _actor(a, x), _actor(b, y)
        if actor_x and actor_x == actor_y and not any(z.first == y.first and _actor(a, z) == actor_x for z in days_a):
            return x, y  # the House on Thursday vs the House on Wednesday, whatever else each sentence dates
    if context < DATE_CONTEXT or any(x.first == y.first for x in days_a for y in days_b):
        return None
    for x, y in itertools.product(days_a, days_b):
        if (
            _near(x, y)
            and _dated_events(a, x) & _dated_events(b, y)
            and len(_window(a, x) & _window(b, y)) >= DATE_SHARED
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
        if containment(_window(a, x), _window(b, y)) >= YEAR_CONTEXT and _shared_names(a, b):
            return x, y
    return None


# -- outcomes and attributions --------------------------------------------------------------------
_NEGATED = re.compile(r"\b(?:not|never|no|won't|wouldn't|didn't|don't|refused to)\s+(?:\w+\s+)?$", re.I)


def _affirmed(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` in ``text`` that is not negated ("will not cave" is no climb-down)."""
    for match in pattern.finditer(text):
        if not _NEGATED.search(text[max(match.start() - 24, 0) : match.start()]):
            return match
    return None


_OUTCOME_KEYS = (
    "thwart", "foil", "prevent", "repel", "stopped", "failed", "escap", "broke out", "succeed", "plead", "resign",
    "stepped down", "condition", "victor", "triumph", "win", "concession", "surrender", "cave", "capitulat",
    "climb", "backed down", "retreat", "support", "decisive", "resounding", "commanding", "rebuke", "repudiat",
    "dissent", "discontent", "revolt", "defection", "routine", "standard", "typical", "ordinary", "unnecessary",
    "excessive", "vindictive", "heavy-handed", "overkill", "gestapo", "admit", "acknowledg", "confirm", "deny",
    "denie", "changed h", "backed away", "walked back", "testif", "sentenced", "arrested", "indicted",
)  # fmt: skip
"""Lower-case pieces of every outcome pattern's words: a sentence with none of them is skipped at once."""
_OUTCOME_GATE = re.compile("|".join(map(re.escape, _OUTCOME_KEYS)))


def outcome_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """Two versions of one outcome that cannot both be right, each side citing up to two of its best sentences."""
    found = []
    worded = [s for s in sentences if _OUTCOME_GATE.search(s.text.lower())]
    for topic, yes, no in _OUTCOMES:
        hits_yes = [(s, m) for s in worded if (m := _affirmed(yes, s.text))]
        hits_no = [(s, m) for s in worded if (m := _affirmed(no, s.text))]
        pairs: list[tuple[float, SentenceInfo, SentenceInfo, str, str]] = []
        for (a, ma), (b, mb) in itertools.product(hits_yes, hits_no):
            if a.ref == b.ref or _affirmed(yes, b.text) or _affirmed(no, a.text):
                continue  # a sentence that says both is weighing them, not taking a side
            if topic.startswith(_PENDING_TOPIC) and a.article_id == b.article_id:
                continue
            score = containment(a.stems, b.stems)
            framing = topic.startswith(_FRAMING)
            if framing and _shared_names(a, b) and score >= FRAMING_CONTEXT:
                pass  # words this loaded, about the same named subject, are enough
            elif score < OUTCOME_CONTEXT or not (_shared_names(a, b) or _events(a) & _events(b)):
                continue
            pairs.append((score, a, b, ma.group(0), mb.group(0)))
        if not pairs:
            continue
        pairs.sort(key=lambda p: (-p[0], str(p[1].ref), str(p[2].ref)))
        _, a, b, wa, wb = pairs[0]
        refs_a = list(dict.fromkeys(p[1].ref for p in pairs))[:2]
        refs_b = list(dict.fromkeys(p[2].ref for p in pairs))[:2]
        sides = (Side(value=wa, refs=tuple(refs_a), words=wa), Side(value=wb, refs=tuple(refs_b), words=wb))
        note = f"{a.article_id} contradicts itself" if a.article_id == b.article_id else None
        if topic.startswith(_PENDING_TOPIC) and (b.published or "") <= (a.published or ""):
            note = f"{b.article_id} may have been written before it happened"
        found.append(Finding("outcome", f"Outcome, {topic}: {wa} vs {wb}", sides, note, f"outcome:{topic}"))
    return found


def attribution_findings(sentences: Sequence[SentenceInfo]) -> list[Finding]:
    """The same words credited to two different, named speakers."""
    quoted = [s for s in sentences if s.speaker and _named(s.speaker)]  # not "the ex-congressman", "the indictment"
    found = []
    for a, b, _ in shared_stem_pairs(quoted, ATTRIBUTION_SHARED):
        assert a.speaker is not None and b.speaker is not None
        who_a, who_b = stems(a.speaker), stems(b.speaker)
        if not who_a or not who_b or who_a & who_b:
            continue
        if any(variants(name_key(x), name_key(y)) for x in a.speaker.split() for y in b.speaker.split()):
            continue
        said_a, said_b = a.stems - who_a - who_b, b.stems - who_a - who_b
        if len(said_a & said_b) < ATTRIBUTION_SHARED or containment(said_a, said_b) < ATTRIBUTION_CONTEXT:
            continue
        sides = (
            Side(value=a.speaker, refs=(a.ref,), words=a.speaker),
            Side(value=b.speaker, refs=(b.ref,), words=b.speaker),
        )
        topic = f"Who said it: {a.speaker} vs {b.speaker}"
        found.append(Finding("attribution", topic, sides, None, f"attribution:{a.ref}:{b.ref}"))
    return found


def _named(who: str) -> bool:
    return any(any(ch.isupper() for ch in word) for word in who.split())


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per set of cited sentences and kind, in the order given."""
    out: list[Finding] = []
    seen: set[tuple[str, frozenset[Ref]]] = set()
    for f in findings:
        key = (f.kind, frozenset(r for side in f.sides for r in side.refs))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def folded_names(sentences: Sequence[SentenceInfo]) -> dict[str, frozenset[str]]:
    by_article: dict[str, set[str]] = {}
    for s in sentences:
        by_article.setdefault(s.article_id, set()).update(name_key(n) for n in names(s.text))
    return {k: frozenset(v) for k, v in by_article.items()}
