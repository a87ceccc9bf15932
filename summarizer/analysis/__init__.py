"""Cross-source analysis: the stage between the per-article facts and the brief, shared by every engine.

    from summarizer.analysis import analyse
    analysis = analyse(articles)        # segmented articles, with their publication dates

It resolves every date against its article's publication date, finds each figure with what it
counts, groups spellings of one name, and from these builds typed discrepancies (figure,
arithmetic, date, spelling, outcome, attribution), a timeline in date order and consensus points,
each citing the exact sentences it rests on. Deterministic and offline: the embedded model's brief
rests on it, and a capable model confirms, words and extends it (``summarizer.brief``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from summarizer.analysis.accounts import agent_findings, attribution_findings, charge_findings, outcome_findings
from summarizer.analysis.consensus import agreements
from summarizer.analysis.dates import event_year_hint, find_dates, publication_day, text_runs_to
from summarizer.analysis.dating import date_findings
from summarizer.analysis.figures import arithmetic_findings, figure_findings, self_figure_findings
from summarizer.analysis.model import Agreement, Analysis, Dated, Finding, Ref, Side
from summarizer.analysis.naming import name_findings, post_findings, spelling_findings, wording_findings
from summarizer.analysis.quantities import find_quantities
from summarizer.analysis.sentences import SentenceInfo, folded_names, merge_pairs, sentence_info, unique
from summarizer.analysis.timeline import timeline
from summarizer.segment import Article

__all__ = ["Agreement", "Analysis", "Dated", "Finding", "Ref", "Side", "analyse", "analyse_yielding", "read_sentences"]

MAX_DISCREPANCIES = 12


def warm() -> None:
    """Load what the first analysis would otherwise load as it runs (dateparser's English tables)."""
    find_dates("It happened on January 1, 2000.", "a0", "s0", None)


def read_sentences(articles: Sequence[Article]) -> list[SentenceInfo]:
    """Every citable sentence with its dates (resolved) and figures."""
    hint = event_year_hint([a.doc.published for a in articles])
    return [info for article in articles for info in _read_article(article, hint)]


def _read_article(article: Article, hint: dt.date | None) -> list[SentenceInfo]:
    infos: list[SentenceInfo] = []
    published = publication_day(article.doc.published)
    runs_to = text_runs_to([s.text for s in article.citable], published)
    previous = published
    written: int | None = None  # a year written out in the sentence before
    for order, sentence in enumerate(article.citable):
        info = sentence_info(Ref(article.id, sentence.id), sentence.text, order, article.doc.published)
        info.dates = find_dates(sentence.text, article.id, sentence.id, published, hint, previous, written, runs_to)
        days = [d.first for d in info.dates if d.is_day and d.first is not None]
        previous = days[-1] if days else previous
        years = [
            d.first.year
            for d in info.dates
            if d.resolution == "explicit" and d.first and d.last and (d.last - d.first).days < 365
        ]
        written = years[-1] if years else None
        spans = [(d.start, d.start + len(d.text)) for d in info.dates]
        info.quantities = find_quantities(sentence.text, article.id, sentence.id, spans)
        infos.append(info)
    return infos


def analyse(articles: Sequence[Article]) -> Analysis:
    steps = _Steps(articles)
    while not steps.advance():
        pass
    return steps.analysis


async def analyse_yielding(articles: Sequence[Article]) -> Analysis:
    """:func:`analyse` for an event loop that serves other requests meanwhile: it yields to the loop after each
    article read and each detector (about a millisecond each), so no answer waits on a whole analysis."""
    steps = _Steps(articles)
    while not steps.advance():
        await asyncio.sleep(0)
    return steps.analysis


class _Steps:
    """The analysis one step at a time; ``seconds`` counts the time spent in the steps, not between them."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.analysis = Analysis()
        self._steps = _steps(articles, self.analysis)

    def advance(self) -> bool:
        """Run the next step; True once there is none left (the analysis is complete)."""
        started = time.perf_counter()
        finished = next(self._steps, True)
        self.analysis.seconds = round(self.analysis.seconds + time.perf_counter() - started, 4)
        return finished


def _steps(articles: Sequence[Article], out: Analysis) -> Iterator[bool]:
    hint = event_year_hint([a.doc.published for a in articles])
    infos: list[SentenceInfo] = []
    for article in articles:
        infos += _read_article(article, hint)
        yield False
    by_article: dict[str, list[SentenceInfo]] = {}
    for info in infos:
        by_article.setdefault(info.article_id, []).append(info)
    detectors: list[Callable[[], Iterable[Finding]]] = [
        lambda: spelling_findings(infos),
        lambda: name_findings(infos),
        lambda: wording_findings(infos),
        lambda: post_findings(infos),
        lambda: charge_findings(infos),
        lambda: arithmetic_findings(by_article),
        lambda: date_findings(infos),
        lambda: outcome_findings(infos),
        lambda: figure_findings(infos, folded_names(infos)),
        lambda: self_figure_findings(by_article),
        lambda: attribution_findings(infos),
        lambda: agent_findings(infos),
    ]
    findings: list[Finding] = []
    for detect in detectors:
        findings += detect()
        yield False
    out.discrepancies = merge_pairs(unique(findings))[:MAX_DISCREPANCIES]
    out.timeline = timeline(infos)
    yield False
    out.consensus = agreements(infos)
