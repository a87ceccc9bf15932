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

import time
from collections.abc import Sequence

from summarizer.analysis.accounts import agent_findings, attribution_findings, charge_findings, outcome_findings
from summarizer.analysis.consensus import agreements
from summarizer.analysis.dates import event_year_hint, find_dates, publication_day
from summarizer.analysis.dating import date_findings
from summarizer.analysis.figures import arithmetic_findings, figure_findings
from summarizer.analysis.model import Agreement, Analysis, Dated, Finding, Ref, Side
from summarizer.analysis.naming import name_findings, post_findings, spelling_findings, wording_findings
from summarizer.analysis.quantities import find_quantities
from summarizer.analysis.sentences import SentenceInfo, folded_names, merge_pairs, sentence_info, unique
from summarizer.analysis.timeline import timeline
from summarizer.segment import Article

__all__ = ["Agreement", "Analysis", "Dated", "Finding", "Ref", "Side", "analyse", "read_sentences"]

MAX_DISCREPANCIES = 12


def read_sentences(articles: Sequence[Article]) -> list[SentenceInfo]:
    """Every citable sentence with its dates (resolved) and figures."""
    hint = event_year_hint([a.doc.published for a in articles])
    infos: list[SentenceInfo] = []
    for article in articles:
        published = publication_day(article.doc.published)
        previous = published
        written: int | None = None  # a year written out in the sentence before
        for order, sentence in enumerate(article.citable):
            info = sentence_info(Ref(article.id, sentence.id), sentence.text, order, article.doc.published)
            info.dates = find_dates(sentence.text, article.id, sentence.id, published, hint, previous, written)
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
    started = time.perf_counter()
    infos = read_sentences(articles)
    by_article: dict[str, list[SentenceInfo]] = {}
    for info in infos:
        by_article.setdefault(info.article_id, []).append(info)
    findings: list[Finding] = [
        *spelling_findings(infos),
        *name_findings(infos),
        *wording_findings(infos),
        *post_findings(infos),
        *charge_findings(infos),
        *arithmetic_findings(by_article),
        *date_findings(infos),
        *outcome_findings(infos),
        *figure_findings(infos, folded_names(infos)),
        *attribution_findings(infos),
        *agent_findings(infos),
    ]
    return Analysis(
        discrepancies=merge_pairs(unique(findings))[:MAX_DISCREPANCIES],
        timeline=timeline(infos),
        consensus=agreements(infos),
        seconds=round(time.perf_counter() - started, 4),
    )
