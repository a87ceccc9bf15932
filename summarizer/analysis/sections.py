"""The analysis as brief sections: discrepancies, timeline and consensus with citations resolved to exact spans.

Every item is checked against its own sentences before it ships (``check``): a side's value must
be in the sentences it cites, the sides of a discrepancy must differ in the values they give, and
a timeline date must be resolvable from its sentence. An item that fails goes to ``dropped`` with
its reason, as a model's claim would.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from summarizer.analysis.dates import MONTH_PREFIXES, event_year_hint, find_dates, publication_day, text_runs_to
from summarizer.analysis.model import Analysis, Dated, Finding, Ref
from summarizer.analysis.text import FUNCTION_WORDS
from summarizer.claims import fold, unsupported
from summarizer.ground import cite
from summarizer.schemas import BriefClaim, Citation, DiscrepancyOut, Dropped, Fact, SideOut, TimelineEntry
from summarizer.schemas.output import Origin
from summarizer.segment import Article


class Sentences:
    """Resolves ``Ref``s to citations, and knows which kept facts cite each sentence."""

    def __init__(self, articles: Sequence[Article], facts: Sequence[Fact] = ()) -> None:
        self.articles = {a.id: a for a in articles}
        self.year_hint = event_year_hint([a.doc.published for a in articles])
        self._runs_to: dict[str, dt.date | None] = {}
        self.facts: dict[tuple[str, str], list[str]] = {}
        for fact in facts:
            for c in fact.citations:
                self.facts.setdefault((c.article_id, c.sentence_id), []).append(fact.id)

    def citation(self, ref: Ref) -> Citation:
        sentence = self.articles[ref.article_id].sentence(ref.sentence_id)
        assert sentence is not None, ref
        return cite(ref.article_id, sentence)

    def text(self, refs: Sequence[Ref]) -> str:
        return "\n".join(self.citation(r).text for r in refs)

    def fact_ids(self, refs: Sequence[Ref]) -> list[str]:
        return list(dict.fromkeys(f for r in refs for f in self.facts.get((r.article_id, r.sentence_id), [])))

    def runs_to(self, article: Article) -> dt.date | None:
        """The later day ``article``'s own text runs to, if any (:func:`text_runs_to`), as the analysis read it."""
        if article.id not in self._runs_to:
            published = publication_day(article.doc.published)
            self._runs_to[article.id] = text_runs_to([s.text for s in article.citable], published)
        return self._runs_to[article.id]


def _side_text(refs: Sequence[Ref], sentences: Sentences) -> str:
    """The side in the source's words: its first sentence (the rest are cited)."""
    return " ".join(sentences.citation(refs[0]).text.split())


def check_finding(finding: Finding, sentences: Sentences) -> str | None:
    """Why ``finding`` must not ship, or None: each side's words in its sentences, and the sides differing."""
    for side in finding.sides:
        evidence = sentences.text(side.refs)
        if side.words and fold(side.words) not in fold(evidence):
            return f"the value {side.words!r} is not in the cited sentence(s) {', '.join(map(str, side.refs))}"
    values = {fold(side.value) for side in finding.sides}
    if len(values) < len(finding.sides):
        return "its sides give the same value"
    return None


def check_dated(entry: Dated, sentences: Sentences) -> str | None:
    """A timeline date must be what its sentence's own words resolve to (an anchored "a day earlier" excepted)."""
    article = sentences.articles[entry.ref.article_id]
    text = sentences.citation(entry.ref).text
    if entry.words not in text:
        return f"the date words {entry.words!r} are not in {entry.ref}"
    if entry.iso is None:
        return None
    again = find_dates(
        text, entry.ref.article_id, entry.ref.sentence_id, publication_day(article.doc.published), sentences.year_hint,
        runs_to=sentences.runs_to(article),
    )  # fmt: skip
    same = [m for m in again if m.text == entry.words]
    # Resolved from the sentence before ("a day earlier", a year written just before): not checkable alone.
    if same and all(m.iso != entry.iso for m in same) and any(m.iso for m in same) and not entry.context:
        return f"{entry.iso} is not what {entry.words!r} resolves to"
    if not same:
        return f"{entry.words!r} is not a date expression of {entry.ref}"
    return None


def resolve_entry(entry: TimelineEntry, sentences: Sentences) -> TimelineEntry:
    """A model's timeline entry placed on the calendar from its own cited sentence: the date expression there
    that its date words are (or contain) gives the ISO date and how; none, and it stays unresolved."""
    words = " ".join(entry.date.split()).lower()
    for citation in entry.citations:
        article = sentences.articles[citation.article_id]
        published = publication_day(article.doc.published)
        for mention in find_dates(
            citation.text, citation.article_id, citation.sentence_id, published, sentences.year_hint,
            runs_to=sentences.runs_to(article),
        ):  # fmt: skip
            if mention.iso and (mention.text.lower() in words or words in mention.text.lower()):
                return entry.model_copy(update={"iso": mention.iso, "resolution": mention.resolution})
    return entry.model_copy(update={"iso": None, "resolution": "unresolved"})


def discrepancies(
    analysis: Analysis,
    sentences: Sentences,
    confirmed: frozenset[int] = frozenset(),
    skip: frozenset[int] = frozenset(),
) -> tuple[list[DiscrepancyOut], list[Dropped]]:
    """The findings as brief items: those in ``confirmed`` (by a model) marked "both", those in ``skip`` left out."""
    out: list[DiscrepancyOut] = []
    dropped: list[Dropped] = []
    for i, finding in enumerate(analysis.discrepancies):
        if i in skip:
            continue
        origin: Origin = "both" if i in confirmed else "analysis"
        problem = check_finding(finding, sentences)
        if problem:
            where = f"analysis.discrepancies[{i}]"
            dropped.append(Dropped(where=where, claim=finding.topic, reason=problem, cited=[]))
            continue
        sides = [
            SideOut(
                text=_side_text(side.refs, sentences),
                citations=[sentences.citation(r) for r in side.refs],
                facts=sentences.fact_ids(side.refs),
                article_ids=list(dict.fromkeys(r.article_id for r in side.refs)),
                value=side.value,
                origin=origin,
            )
            for side in finding.sides
        ]
        out.append(
            DiscrepancyOut(topic=finding.topic, kind=finding.kind, sides=sides, note=finding.note, origin=origin)
        )
    return out, dropped


def timeline(
    analysis: Analysis,
    sentences: Sentences,
    confirmed: frozenset[int] = frozenset(),
    skip: frozenset[int] = frozenset(),
) -> tuple[list[TimelineEntry], list[Dropped]]:
    out: list[TimelineEntry] = []
    dropped: list[Dropped] = []
    for i, entry in enumerate(analysis.timeline):
        if i in skip:
            continue
        problem = check_dated(entry, sentences)
        citation = sentences.citation(entry.ref)
        if problem:
            dropped.append(Dropped(where=f"analysis.timeline[{i}]", claim=citation.text, reason=problem, cited=[]))
            continue
        out.append(
            TimelineEntry(
                date=entry.words,
                iso=entry.iso,
                resolution=entry.resolution,
                text=" ".join(citation.text.split()),
                citations=[citation],
                facts=sentences.fact_ids([entry.ref]),
                origin="both" if i in confirmed else "analysis",
            )
        )
    return out, dropped


def consensus(
    analysis: Analysis,
    sentences: Sentences,
    confirmed: frozenset[int] = frozenset(),
    skip: frozenset[int] = frozenset(),
) -> tuple[list[BriefClaim], list[Dropped]]:
    """Each point in the words of a member sentence that the other members support on their own (every name and
    number of it in them); failing that, the words all its sentences share, in the order of the shortest. A
    point whose wording is not supported by two articles is dropped, visibly."""
    out: list[BriefClaim] = []
    dropped: list[Dropped] = []
    for i, point in enumerate(analysis.consensus):
        if i in skip:
            continue
        citations = [sentences.citation(r) for r in point.refs]
        text = _whole_sentence(citations) or _shared_words(citations)
        if not text:
            continue  # too little in common to word a point: a weak candidate, not a claim that failed
        backing = [c for c in citations if not unsupported(text, c.text)]
        if len({c.article_id for c in backing}) < 2:
            reason = "its wording is not supported by two articles' sentences on their own"
            dropped.append(Dropped(where=f"analysis.consensus[{i}]", claim=text, reason=reason, cited=[]))
            continue
        refs = [Ref(c.article_id, c.sentence_id) for c in backing]
        origin: Origin = "both" if i in confirmed else "analysis"
        out.append(BriefClaim(text=text, citations=backing, facts=sentences.fact_ids(refs), origin=origin))
    return out, dropped


def _whole_sentence(citations: Sequence[Citation]) -> str | None:
    """The member sentence most other members support, if another member supports it at all."""
    best, backers = None, 1
    for candidate in sorted(citations, key=lambda c: len(c.text)):
        count = sum(1 for c in citations if c is candidate or not unsupported(candidate.text, c.text))
        if count > backers:
            best, backers = candidate, count
    return " ".join(best.text.split()) if best is not None else None


def _shared_words(citations: Sequence[Citation]) -> str:
    """The runs of words of the shortest sentence that every cited sentence also uses, joined by "…"."""
    shortest = min(citations, key=lambda c: len(c.text))
    common = set.intersection(*({w.lower().strip(_EDGE) for w in c.text.split()} for c in citations))
    runs: list[list[str]] = [[]]
    for word in shortest.text.split():
        bare = word.strip(_EDGE)
        if bare and bare.lower() in common:
            runs[-1].append(bare)
        elif runs[-1]:
            runs.append([])
    phrases = [" ".join(run) for run in runs if run and not all(w.lower() in _FILLER for w in run)]
    content = [w for p in phrases for w in p.split() if w.lower() not in _FILLER]
    longest = max(sum(1 for w in p.split() if w.lower() not in _FILLER) for p in phrases) if phrases else 0
    # A figure all of them give with a word of what it counts ("$5.7 billion") is a point; scattered
    # words alone ("… security … prison … forces …") are not one anyone made.
    counted = any(_counts(p.split()) and sum(w.lower() not in _FILLER for w in p.split()) >= 2 for p in phrases)
    least = MIN_FIGURE_WORDS if counted else MIN_SHARED_WORDS
    if len(content) < least or longest < 2:
        return ""
    return "reported alike: … " + " … ".join(dict.fromkeys(phrases)) + " …"  # lower case: a capital reads as a name


def _counts(words: Sequence[str]) -> bool:
    """Whether a run of words holds a figure that counts something: not a day ("June 14", "Sept. 11") or a year."""
    for before, word in zip(["", *words], words, strict=False):
        if _FIGURE.fullmatch(word) and not _YEAR.fullmatch(word) and before.rstrip(".").lower()[:3] not in _MONTHS:
            return True
    return False


_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_MONTHS = frozenset(prefix.lower() for prefix in MONTH_PREFIXES)


MIN_SHARED_WORDS = 5
"""Fewer shared content words than this say too little to be a point (and one run of them must hold two)."""
MIN_FIGURE_WORDS = 3
"""As MIN_SHARED_WORDS, when a run of the shared words is a figure with a word of what it counts."""
_FIGURE = re.compile(r"[$€£]?\d[\d,.]*%?")
"""A word that is a figure ("$5.7", "1,200", "40%"); not "9/11" or "97-1", which name things."""
_EDGE = ".,;:!?\"'“”‘’()[]—–-"
_FILLER = FUNCTION_WORDS
