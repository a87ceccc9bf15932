"""Discrepancies of figures: the same thing counted differently, by two articles or twice by one, and a total its
own parts contradict.

Two figures are compared only when they count the same unit about the same subject and cannot both be right
once qualifiers are allowed for; a later report may revise an earlier count, and the finding says so.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from decimal import Decimal

from summarizer.analysis.model import Finding, Ref, Side
from summarizer.analysis.names import name_key, variants
from summarizer.analysis.quantities import Quantity
from summarizer.analysis.sentences import SentenceInfo, published_later, shared_names
from summarizer.analysis.text import DATE_WORDS, containment
from summarizer.claims import names

GENERIC_UNITS = frozenset({"", "years", "months", "weeks", "days", "percent", "time", "point", "thing", "way"})
"""Units too general to say two figures count the same thing."""


FIGURE_CONTEXT = 0.5


ARITHMETIC_SPREAD = Decimal("0.1")
"""Parts that add up to within 10 % of a total, but not to it, are a contradiction rather than other figures."""


_PLACE = re.compile(r"\b(?:in|at|near|outside)\s+(?:the\s+|an?\s+)?([A-Z][\w'’-]+)")


PLACE_REACH = 50
"""Characters around a figure within which a place tells which event the figure is about."""


def _around(info: SentenceInfo, quantity: Quantity, reach: int) -> str:
    """The sentence's words within ``reach`` characters either side of the figure."""
    at = max(info.text.find(quantity.words), 0)
    return info.text[max(at - reach, 0) : at + len(quantity.words) + reach]


def _exclusive_names(
    a: SentenceInfo, qa: Quantity, b: SentenceInfo, qb: Quantity, article_names: dict[str, frozenset[str]]
) -> bool:
    """A place next to one figure that the other article never names: likely another event ("in Diyala ... where
    11 soldiers were killed", beside a Hasakah toll)."""
    for this, figure, other in ((a, qa, b), (b, qb, a)):
        known = article_names[other.article_id]
        for place in _PLACE.findall(_around(this, figure, PLACE_REACH)):
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
            if not same_count(a, qa, b, qb, article_names):
                continue
            later = published_later(a, b)
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


def same_count(
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
    return not _exclusive_names(a, qa, b, qb, article_names) and (casualty or shared_names(a, b))


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


NOT_RESTATED_UNITS = GENERIC_UNITS | {"dollars", "votes", "age"}
"""Units an article gives for several items or sides as a matter of course: two values are two things, not one."""


RESTATED_RATIO = 3
"""Two counts of one thing further apart than this are a part and its whole, not one count told twice."""


FIGURE_REACH = 50
"""Characters around a figure within which a word makes it a part, an addition, a rate or not an actual count."""


_DEVELOPING = re.compile(
    r"\b(?:rose|risen|rising|rises|climb\w*|increas\w*|decreas\w*|grew|grown|jump\w*|fell|dropped|reached|"
    r"revis\w*|updat\w*|initial\w*|original\w*|at first|earlier|later|previous\w*|had been|so far|by then|now|"
    r"latest|toll|since|until)\b",
    re.I,
)
"""Words that tell of a count changing over time: two values may be two moments of it."""
_NEAR_FIGURE = re.compile(
    r"\b(?:among|including|included|of them|of whom|of those|out of|in all|total\w*|altogether|overall|half|most|"
    r"majority"  # a part of a total, or the total of parts
    r"|another|additional|extra|further|new|other|second|third|separate"  # an addition or another group
    r"|need\w*|expect\w*|would|could|might|may|can|plan\w*|hope\w*|target\w*|goal|want\w*|capacity|licensed|"
    r"allowed|maximum|not|no|never|\w+n[’']t"  # a plan, a limit or a denial, not a count
    r"|per|each|every|daily|weekly|monthly|annual\w*|a (?:day|week|month|year))\b",  # a rate
    re.I,
)
_ROLE = re.compile(
    r"\b(?:rescued|saved|survived|missing|unaccounted|evacuated|arrested|detained|released|freed|escaped|captured|"
    r"charged|convicted|killed|died|dead|injured|wounded|hurt|treated|hospitali[sz]ed|recovered|found|identified|"
    r"displaced|stranded|trapped|infected|tested|fired|hired|deployed)\b",
    re.I,
)
"""What befell the counted people or things: "140 passengers rescued" and "160 passengers" are two counts."""


Counted = tuple[SentenceInfo, Quantity]


def self_figure_findings(by_article: dict[str, list[SentenceInfo]]) -> list[Finding]:
    """One article counting one thing twice, in two sentences, with values no qualifier reconciles."""
    found: list[Finding] = []
    for infos in by_article.values():
        for unit, ((a, qa), (b, qb)) in _counted_twice(infos).items():
            if _restated(a, qa, b, qb):
                found.append(_self_finding(unit, a, qa, b, qb))
    return found


def _counted_twice(infos: Sequence[SentenceInfo]) -> dict[str, tuple[Counted, Counted]]:
    """Units the article counts exactly twice, in two sentences: one count told twice, not a list of counts."""
    by_unit: dict[str, list[Counted]] = {}
    for info in infos:
        for quantity in info.quantities:
            if quantity.unit not in NOT_RESTATED_UNITS:
                by_unit.setdefault(quantity.unit, []).append((info, quantity))
    return {
        unit: (pair[0], pair[1])
        for unit, pair in by_unit.items()
        if len(pair) == 2 and pair[0][0].ref != pair[1][0].ref
    }


def _restated(a: SentenceInfo, qa: Quantity, b: SentenceInfo, qb: Quantity) -> bool:
    """Two counts of one thing that cannot both hold: one is approximate, the ranges miss, and nothing says they
    are two things (a part, an addition, a plan, a rate, another group or fate) or two moments of a changing count."""
    if qa.exact and qb.exact:
        return False  # two exact values in one article are more likely two things than one misstated
    if qa.agrees(qb) or max(qa.value, qb.value) > RESTATED_RATIO * min(qa.value, qb.value):
        return False
    if _direction(a, qa) or _direction(b, qb):
        return False  # a gain or a loss, not a count
    if _DEVELOPING.search(a.text) or _DEVELOPING.search(b.text) or _other_times(a, b):
        return False
    if _near_figure(a, qa) or _near_figure(b, qb) or _roles(a) != _roles(b):
        return False
    return _one_subject(a, qa, b, qb)


def _near_figure(info: SentenceInfo, quantity: Quantity) -> bool:
    return bool(_NEAR_FIGURE.search(_around(info, quantity, FIGURE_REACH)))


def _roles(info: SentenceInfo) -> set[str]:
    return {word.lower() for word in _ROLE.findall(info.text)}


def _other_times(a: SentenceInfo, b: SentenceInfo) -> bool:
    """Different days, or a period ("this year") that a day's count is only part of."""
    if any(not d.is_day and d.first is not None for d in (*a.dates, *b.dates)):
        return True
    days_a = {d.first for d in a.dates if d.is_day}
    days_b = {d.first for d in b.dates if d.is_day}
    return bool(days_a and days_b and not days_a & days_b)


def _modifiers(info: SentenceInfo, quantity: Quantity) -> set[str]:
    """Names between a figure and what it counts: "29 FBI agents", "246 ISIS members"."""
    at = max(info.text.find(quantity.words), 0)
    out = set()
    for word in info.text[at + len(quantity.words) :].split():
        if not word[:1].isupper():
            break
        out.add(name_key(word.strip(",;:.'’\"”")))
    return out


def _one_subject(a: SentenceInfo, qa: Quantity, b: SentenceInfo, qb: Quantity) -> bool:
    """Every name of one sentence is in the other, and so is each figure's own qualifying name: no other group,
    place or party is counted."""
    names_a = {n for n in a.names if n.lower() not in DATE_WORDS}
    names_b = {n for n in b.names if n.lower() not in DATE_WORDS}
    fewer, more = sorted((names_a, names_b), key=len)
    if not all(_named(n, more) for n in fewer):
        return False
    return all(_named(n, names_b) for n in _modifiers(a, qa)) and all(_named(n, names_a) for n in _modifiers(b, qb))


def _named(name: str, names: set[str]) -> bool:
    return any(name == n or variants(name, n) for n in names)


def _self_finding(unit: str, a: SentenceInfo, qa: Quantity, b: SentenceInfo, qb: Quantity) -> Finding:
    sides = (
        Side(value=qa.words, refs=(a.ref,), words=qa.words),
        Side(value=qb.words, refs=(b.ref,), words=qb.words),
    )
    note = f"{a.article_id} gives both {qa.words} ({a.ref}) and {qb.words} ({b.ref}): the article contradicts itself"
    topic = f"How many ({unit}): {qa.words} vs {qb.words}"
    return Finding("figure", topic, sides, note, f"figure:{unit}:{a.ref}:{b.ref}")
