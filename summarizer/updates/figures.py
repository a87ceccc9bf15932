"""Figures across two briefs: a count revised by a newer source (12 → 19 → 23 dead), or a new disagreement.

Revisions come from the analysis's own reading of every article either brief holds: two figures are one count
when the analysis would compare them (same unit, same subject, see ``analysis.figures.same_count``), including
figures a qualifier lets agree ("at least 12", then 19), which a brief does not list as a discrepancy but a reader
following the story wants told. The brief's figure discrepancies, listed pair by pair, are grouped the same way
(pairs sharing a cited figure), so what a revision already tells is not told again.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from summarizer.analysis import read_sentences
from summarizer.analysis.figures import GENERIC_UNITS, same_count
from summarizer.analysis.quantities import Quantity
from summarizer.analysis.sentences import SentenceInfo, folded_names
from summarizer.load import Document
from summarizer.schemas import ArticleOut, Citation, DiscrepancyOut, SideOut
from summarizer.schemas.updates import DiscrepancyChange, FigureRevision, FigureValue
from summarizer.segment import Article, Sentence
from summarizer.times import parse_time
from summarizer.updates.sides import SentenceKey, Side

FIGURE_KINDS = frozenset({"figure"})


def _when(published: str | None) -> float:
    """Publication time for ordering; undated sorts first (it cannot be shown to be the later report)."""
    return parse_time(published) or 0.0


# -- revisions: the analysis's reading of every article ------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One figure in one sentence of one article, placed in time."""

    info: SentenceInfo
    quantity: Quantity
    when: float
    order: int
    sha: str


def _articles(before: Side, after: Side) -> tuple[list[Article], dict[str, ArticleOut]]:
    """Every article either brief holds, under the diff's IDs (the newer brief's, else ``old-…``)."""
    out: list[Article] = []
    by_id: dict[str, ArticleOut] = {}
    for side in (after, before):
        for a in side.brief.articles:
            diff_id = side.ids.get(a.id, a.id)
            if diff_id in by_id:
                continue
            by_id[diff_id] = a
            doc = Document(
                title=a.title, text=a.text, origin=a.origin or a.id, url=a.url, source=a.source, published=a.published
            )
            sentences = tuple(Sentence(s.id, s.start, s.end, s.text, s.citable) for s in a.sentences)
            out.append(Article(id=diff_id, doc=doc, sentences=sentences))
    return out, by_id


def _counts(readings: Sequence[Reading], names: dict[str, frozenset[str]]) -> list[list[Reading]]:
    """Figures the analysis reads as one count, grouped (a figure joins a group if it counts the same as any)."""
    parent = list(range(len(readings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in itertools.combinations(range(len(readings)), 2):
        a, b = readings[i], readings[j]
        if a.sha == b.sha or a.quantity.unit != b.quantity.unit:
            continue
        if same_count(a.info, a.quantity, b.info, b.quantity, names):
            parent[root(i)] = root(j)
    groups: dict[int, list[Reading]] = {}
    for i, r in enumerate(readings):
        groups.setdefault(root(i), []).append(r)
    return [sorted(g, key=lambda r: (r.when, r.order)) for g in groups.values() if len(g) > 1]


def _numeric(q: Quantity) -> bool:
    """A figure a count can be revised to: a number, qualified or not ("19", "at least 19"), not "several"."""
    return q.exact or q.qualifier is not None


def _cite(r: Reading, by_id: dict[str, ArticleOut]) -> Citation:
    article = by_id[r.info.ref.article_id]
    s = next(s for s in article.sentences if s.id == r.info.ref.sentence_id)
    return Citation(article_id=r.info.article_id, sentence_id=s.id, start=s.start, end=s.end, text=s.text)


def revisions(before: Side, after: Side) -> tuple[list[FigureRevision], set[SentenceKey]]:
    """Counts whose newest value comes from a source that joined and differs from the newest the older brief had;
    and the sentences these revisions cite (the brief's figure discrepancies between them are told by them)."""
    articles, by_id = _articles(before, after)
    old_shas = set(before.sha.values())
    order = {a.id: i for i, a in enumerate(articles)}
    infos = read_sentences(articles)
    readings = [
        Reading(
            info,
            q,
            _when(by_id[info.article_id].published),
            order[info.article_id] * 10_000 + info.order,
            by_id[info.article_id].sha256,
        )
        for info in infos
        for q in info.quantities
        if q.unit not in GENERIC_UNITS
    ]
    out: list[FigureRevision] = []
    cited: set[SentenceKey] = set()
    for count in _counts(readings, folded_names(infos)):
        earlier = [r for r in count if r.sha in old_shas]
        latest = count[-1]
        if not earlier or latest.sha in old_shas or not 0 < earlier[-1].when < latest.when:
            continue  # only a later report, both dated, can revise an earlier one
        if latest.quantity.value == earlier[-1].quantity.value or not _numeric(latest.quantity):
            continue
        history = [
            FigureValue(
                value=r.quantity.words,
                article_id=r.info.article_id,
                published=by_id[r.info.article_id].published,
                citations=[_cite(r, by_id)],
            )
            for r in count
        ]
        out.append(
            FigureRevision(
                quantity=latest.quantity.unit,
                old=earlier[-1].quantity.words,
                new=latest.quantity.words,
                history=history,
            )
        )
        cited |= {(c.sha, *_span(c, by_id)) for c in count}
    return out, cited


def _span(r: Reading, by_id: dict[str, ArticleOut]) -> tuple[int, int]:
    c = _cite(r, by_id)
    return c.start, c.end


# -- the brief's figure discrepancies, as counts -------------------------------------------------


@dataclass
class Count:
    """A quantity as a brief lists it: the figures its figure discrepancies compare, and those discrepancies."""

    figures: dict[tuple[SentenceKey, str], SideOut] = field(default_factory=dict)
    discrepancies: list[int] = field(default_factory=list)

    def keys(self) -> set[SentenceKey]:
        return {k for k, _ in self.figures}


def counts(side: Side) -> list[Count]:
    """The brief's figure discrepancies grouped: pairs that share a cited figure are one count."""
    out: list[Count] = []
    for index, d in enumerate(side.brief.discrepancies):
        if d.kind not in FIGURE_KINDS:
            continue
        figures = {
            ((side.sha[s.citations[0].article_id], s.citations[0].start, s.citations[0].end), s.value or s.text): s
            for s in d.sides
            if s.citations and s.citations[0].article_id in side.sha
        }
        keys = {k for k, _ in figures}
        joined = [c for c in out if c.keys() & keys]
        target = joined[0] if joined else Count()
        for other in joined[1:]:  # this pair links two counts seen apart so far
            target.figures.update(other.figures)
            target.discrepancies += other.discrepancies
            out.remove(other)
        if not joined:
            out.append(target)
        target.figures.update(figures)
        target.discrepancies.append(index)
    return out


def _diff_keys(count: Count, side: Side) -> set[tuple[str, int, int]]:
    """The count's cited figures as (diff article ID, start, end)."""
    return {
        (side.ids.get(s.citations[0].article_id, s.citations[0].article_id), s.citations[0].start, s.citations[0].end)
        for s in count.figures.values()
    }


def _merged(count: Count, side: Side) -> DiscrepancyOut:
    """A count's pairs as one discrepancy with a side per figure, in publication order."""
    published = {a.id: _when(a.published) for a in side.brief.articles}
    first = side.brief.discrepancies[count.discrepancies[0]]
    ordered = sorted(count.figures.values(), key=lambda s: published.get(s.citations[0].article_id, 0.0))
    sides = [
        s.model_copy(
            update={"citations": side.cite(s.citations), "article_ids": [side.ids.get(a, a) for a in s.article_ids]}
        )
        for s in ordered
    ]
    notes = [side.brief.discrepancies[i].note for i in count.discrepancies]
    topic = (
        first.topic
        if len(count.discrepancies) == 1
        else f"{first.topic.split(':')[0]}: " + " vs ".join(s.value or s.text for s in ordered)
    )
    return first.model_copy(update={"topic": topic, "sides": sides, "note": next((n for n in notes if n), None)})


def figure_changes(
    before: Side, after: Side
) -> tuple[list[FigureRevision], list[DiscrepancyChange], set[int], set[int], int]:
    """Revisions; the figure discrepancies that appeared, changed or were resolved (those a revision tells are
    left out); the indices of the older and newer briefs' discrepancies accounted for here; and how many
    figure discrepancies did not change."""
    found, revised = revisions(before, after)
    olds, news = counts(before), counts(after)
    changes: list[DiscrepancyChange] = []
    matched: set[int] = set()
    same = 0
    for count in news:
        partner = next((i for i, o in enumerate(olds) if i not in matched and o.keys() & count.keys()), None)
        if partner is not None:
            matched.add(partner)
        if count.keys() <= revised:
            for revision in found:  # a revision tells these figures in order, and that the brief flags them
                if any(
                    (c.article_id, c.start, c.end) in _diff_keys(count, after)
                    for v in revision.history
                    for c in v.citations
                ):
                    revision.discrepancy = _merged(count, after).topic
            continue
        merged = _merged(count, after)
        if partner is None:
            changes.append(DiscrepancyChange(change="appeared", kind=merged.kind, topic=merged.topic, new=merged))
        elif count.keys() != olds[partner].keys():
            was, now = {w for _, w in olds[partner].figures}, {w for _, w in count.figures}
            changes.append(
                DiscrepancyChange(
                    change="changed",
                    kind=merged.kind,
                    topic=merged.topic,
                    old=_merged(olds[partner], before),
                    new=merged,
                    values_added=sorted(now - was),
                    values_removed=sorted(was - now),
                )
            )
        else:
            same += 1
    for i, o in enumerate(olds):
        if i not in matched:
            gone = _merged(o, before)
            changes.append(DiscrepancyChange(change="resolved", kind=gone.kind, topic=gone.topic, old=gone))
    old_indices = {i for o in olds for i in o.discrepancies}
    new_indices = {i for c in news for i in c.discrepancies}
    return found, changes, old_indices, new_indices, same
