"""The labels as predictions: a Brief that must score 1.0, and model answers that reproduce the labels.

Used to check the scorer (a perfect prediction, discrepancy kinds and timeline ISO dates included, scores
1.0 on every quality metric, and each
perturbation of it lowers exactly the metric it should) and to script a model in tests.
"""

from __future__ import annotations

from typing import Any

from summarizer.brief import BriefParts, assemble
from summarizer.evaluate.gold import GoldClaim, GoldFact, LoadedCase
from summarizer.extractive import max_items
from summarizer.schemas import (
    ArticleExtraction,
    ArticleSummary,
    Brief,
    BriefClaim,
    Citation,
    DiscrepancyOut,
    Fact,
    RunInfo,
    SideOut,
    TimelineEntry,
)


def _citation(case: LoadedCase, aid: str, sid: str) -> Citation:
    sentence = case.article(aid).sentence(sid)
    assert sentence is not None, f"{aid}.{sid} is not in the case"  # the loader checked every reference
    return Citation(article_id=aid, sentence_id=sid, start=sentence.start, end=sentence.end, text=sentence.text)


def fact_citations(case: LoadedCase, aid: str, fact: GoldFact) -> list[Citation]:
    """The first listed support of ``fact`` (one sentence, or every sentence of a required set)."""
    first = fact.support[0]
    sids = [first] if isinstance(first, str) else list(first)
    return [_citation(case, aid, sid) for sid in sids]


def claim_citations(case: LoadedCase, claim: GoldClaim) -> list[Citation]:
    return [_citation(case, aid, sid) for aid, sids in claim.support.items() for sid in sids]


def _words(values: list[str | list[str]]) -> str:
    """A label's values in words, first variant of each: "January 22, 30"."""
    return ", ".join(v if isinstance(v, str) else v[0] for v in values)


def oracle_brief(case: LoadedCase) -> Brief:
    """The case's labels written as a Brief, in the output schema."""
    summaries = []
    for article in case.articles:
        facts = [
            Fact(
                id=f"{article.id}.f{j}",
                kind=g.kind,
                text=g.statement,
                speaker=g.speaker,
                citations=fact_citations(case, article.id, g),
            )
            for j, g in enumerate(case.facts(article.id), start=1)
        ]
        summaries.append(ArticleSummary(article_id=article.id, headline=article.title, facts=facts))
    consensus = [BriefClaim(text=c.statement, citations=claim_citations(case, c)) for c in case.case.consensus]
    discrepancies = [
        DiscrepancyOut(
            topic=d.topic,
            kind=d.kind,
            sides=[
                SideOut(
                    text=s.statement,
                    value=_words(s.values) or None,
                    citations=claim_citations(case, s),
                    article_ids=sorted(s.support),
                )
                for s in d.sides
            ],
        )
        for d in case.case.discrepancies
    ]
    timeline = [
        TimelineEntry(
            text=e.statement,
            date=_words(e.values) or e.statement,  # the source's words: the ISO date is not in the sentence
            iso=e.date,
            resolution="relative" if e.relative else "explicit",
            citations=claim_citations(case, e),
        )
        for e in case.case.timeline
    ]
    parts = BriefParts(consensus=consensus, discrepancies=discrepancies, timeline=timeline)
    run = RunInfo(provider="gold", model="labels", prompt_version="none", engine="extractive")
    return assemble(case.articles, summaries, parts, run)


def article_answer(case: LoadedCase, aid: str, *, facts: int | None = None) -> dict[str, Any]:
    """An ``ArticleExtraction`` payload stating the first ``facts`` gold facts (default: as many as it allows)."""
    gold = case.facts(aid)[: max_items(ArticleExtraction, "facts", 10) if facts is None else facts]
    return {
        "headline": case.article(aid).title,
        "summary": [
            {"cites": [c.sentence_id for c in fact_citations(case, aid, g)], "text": g.statement} for g in gold[:2]
        ],
        "facts": [
            {
                "cites": [c.sentence_id for c in fact_citations(case, aid, g)],
                "kind": g.kind,
                "statement": g.statement,
                "value": None,
                "speaker": g.speaker,
            }
            for g in gold
        ],
        "entities": [],
    }
