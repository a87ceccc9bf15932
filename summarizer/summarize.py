"""Per-article stage: prompt the model with the numbered sentences, ground its answer, keep what holds."""

from __future__ import annotations

import logging
import re
from typing import Any

from summarizer.ask import ModelClient, Settings, ask
from summarizer.cache import ResponseCache
from summarizer.claims import name_phrases
from summarizer.ground import ARTICLE_LISTS, ArticleGrounding, best_attempt, rejected_as_dropped
from summarizer.schemas import ArticleExtraction, ArticleSummary, Dropped
from summarizer.schemas.llm import CopyChoice, scoped
from summarizer.segment import Article
from summarizer.templates import PromptSet

log = logging.getLogger(__name__)


def numbered_sentences(article: Article) -> str:
    """The citable sentences as ``[sN] text`` lines; markup that could close the article block is defused."""
    lines = []
    for s in article.citable:
        text = " ".join(s.text.split()).replace("</article", "</ article").replace("<article", "< article")
        lines.append(f"[{s.id}] {text}")
    return "\n".join(lines)


_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _literal(text: str) -> str:
    # Double quotes and backslashes are swapped out: llama.cpp's grammar parser fails on escaped
    # quotes inside literals. Quote style never matters to grounding (see claims.fold).
    return " ".join(text.split()).replace('"', "'").replace("\\", "/")


def copy_pairs(article: Article) -> list[CopyChoice]:
    """Copy mode: each citable sentence, verbatim, with its ID and the numbers and names in it."""
    return [
        CopyChoice(
            id=s.id,
            values=list(dict.fromkeys(_NUMBER.findall(s.text)))[:8],
            names=[_literal(n) for n in name_phrases(s.text)][:8],
        )
        for s in article.citable
    ]


def copy_choices(article: Article) -> dict[str, list[str]]:
    """Copy mode: the headline is the title; entity names are names found in the article."""
    names = [_literal(n) for n in name_phrases("\n".join(s.text for s in article.citable))]
    return {"headline": [_literal(article.title)], "name": names, "aliases": names}


COPY_LIMITS = {"summary": 3, "facts": 6, "entities": 6}


def summary_messages(article: Article, prompts: PromptSet) -> list[dict[str, str]]:
    return prompts.summarize.messages(
        article_id=article.id,
        title=" ".join(article.title.split()),
        published=article.doc.published or "unknown",
        sentences=numbered_sentences(article),
    )


async def summarize_article(
    article: Article,
    *,
    client: ModelClient,
    model: str,
    prompts: PromptSet,
    settings: Settings,
    cache: ResponseCache | None = None,
) -> ArticleSummary:
    """The grounded summary of one article. Never raises for a bad answer: failures are in the result."""
    grounding = ArticleGrounding(article)
    context: dict[str, object] = {"grounding": grounding}
    if settings.copy_mode:
        context["copy_text"] = {s.id: s.text for s in article.citable}
    answer = await ask(
        client,
        model=model,
        messages=summary_messages(article, prompts),
        response_model=scoped(
            ArticleExtraction,
            [s.id for s in article.citable],
            copy_choices(article) if settings.copy_mode else None,
            copy_pairs(article) if settings.copy_mode else None,
            COPY_LIMITS if settings.copy_mode else None,
            copy=settings.copy_mode,
        ),
        settings=settings,
        context=context,
        cache=cache,
    )
    dropped: list[Dropped] = []
    extraction = answer.value
    if extraction is None:
        # Out of attempts or tokens: keep the grounded claims of the best attempt.
        def score(candidate: Any) -> int:
            _, summary, facts, _, _ = grounding.resolve(candidate)
            return len(summary) + len(facts)

        salvaged, rejected = best_attempt(ArticleExtraction, answer.payloads, ARTICLE_LISTS, score, context)
        if salvaged is None:
            reason = answer.errors[-1] if answer.errors else "no parseable answer"
            log.warning("%s: no usable answer after %d call(s)", article.id, answer.stats.calls)
            return ArticleSummary(
                article_id=article.id,
                status="failed",
                error=f"no usable answer after {answer.stats.calls} call(s): {_first_line(reason)}",
                headline=article.title,
                stats=answer.stats,
            )
        extraction = salvaged
        dropped.extend(rejected_as_dropped(article.id, rejected))
    assert isinstance(extraction, ArticleExtraction)
    return grounding.summary(extraction, answer.stats, dropped)


async def summarize(
    article: Article,
    *,
    client: ModelClient,
    model: str,
    prompts: PromptSet,
    settings: Settings,
    cache: ResponseCache | None = None,
) -> ArticleSummary:
    """The article's summary as every engine with a model ships it (``brief`` and the batch alike): the
    model's grounded answer, with copy mode's facts from the deterministic selection."""
    summary = await summarize_article(
        article, client=client, model=model, prompts=prompts, settings=settings, cache=cache
    )
    return with_selected_facts(summary, article) if settings.copy_mode and summary.status == "ok" else summary


def with_selected_facts(summary: ArticleSummary, article: Article) -> ArticleSummary:
    """Copy mode: the article's facts are the deterministic selection (sentences with figures, dates and
    quotes, typed), not the tiny model's picks, which the evals measure far below it; the model's summary
    sentences, headline and entities stay."""
    from summarizer.extractive import summarize_article as select

    return summary.model_copy(update={"facts": select(article).facts})


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else ""
