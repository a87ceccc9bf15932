"""The library API: articles in, a grounded Brief out.

    from summarizer.pipeline import brief_sources
    brief = brief_sources(["examples/hasakah"])          # embedded model, offline
    brief = brief_sources(paths, provider=resolve(model="gpt-4o-mini"))

The CLI is a thin layer over these functions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from summarizer.ask import ModelClient, Settings
from summarizer.brief import BriefParts, build_brief, single_source, with_analysis
from summarizer.cache import ResponseCache
from summarizer.errors import ProviderError
from summarizer.load import MAX_BYTES, load
from summarizer.providers import Provider, resolve, running
from summarizer.schemas import ArticleSummary, Brief, CallStats, RunInfo
from summarizer.segment import Article, prepare
from summarizer.summarize import summarize_article
from summarizer.templates import PromptSet, load_prompts

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, str], None]
"""Called as ``progress(stage, detail)``: stage is "summarize", "summarized", "brief" or "done"."""

Engine = Literal["llm", "extractive"]
"""``extractive``: no model at all, the lead and fact-bearing sentences (the eval baseline)."""


@dataclass
class Job:
    """What a run needs besides the articles."""

    provider: Provider
    prompts: PromptSet = field(default_factory=load_prompts)
    settings: Settings = field(default_factory=Settings)
    concurrency: int = 1
    progress: ProgressFn | None = None
    cache: ResponseCache | None = None
    """Answer identical requests from here instead of the model (None: always ask)."""

    def run_info(self) -> RunInfo:
        return RunInfo(
            provider=self.provider.kind,
            model=self.provider.model,
            prompt_version=self.prompts.label,
            temperature=self.settings.temperature,
            seed=self.settings.seed,
            max_tokens=self.settings.max_tokens,
            max_attempts=self.settings.max_attempts,
            token_budget=self.settings.token_budget,
        )

    def _notify(self, stage: str, detail: str) -> None:
        if self.progress is not None:
            self.progress(stage, detail)


async def summarize_all(articles: Sequence[Article], job: Job, client: ModelClient) -> list[ArticleSummary]:
    """Per-article summaries, ``job.concurrency`` at a time. A provider failure fails that article only."""
    gate = asyncio.Semaphore(max(job.concurrency, 1))
    unreachable: list[ProviderError] = []

    async def one(article: Article) -> ArticleSummary:
        async with gate:
            job._notify("summarize", f"{article.id} {article.title}")
            try:
                result = await summarize_article(
                    article,
                    client=client,
                    model=job.provider.model,
                    prompts=job.prompts,
                    settings=job.settings,
                    cache=job.cache,
                )
            except ProviderError as exc:
                if exc.unreachable:
                    unreachable.append(exc)
                result = ArticleSummary(article_id=article.id, status="failed", error=str(exc), headline=article.title)
            if job.settings.copy_mode and result.status == "ok":
                result = with_selected_facts(result, article)
            job._notify("summarized", article.id)
            return result

    summaries = list(await asyncio.gather(*(one(a) for a in articles)))
    if summaries and len(unreachable) == len(summaries):
        raise unreachable[0]  # nothing answered at all: one clear error beats N failed articles
    return summaries


def with_selected_facts(summary: ArticleSummary, article: Article) -> ArticleSummary:
    """Copy mode: the article's facts are the deterministic selection (sentences with figures, dates and
    quotes, typed), not the tiny model's picks, which the evals measure far below it; the model's summary
    sentences, headline and entities stay."""
    from summarizer.extractive import summarize_article as select

    return summary.model_copy(update={"facts": select(article).facts})


def default_settings(provider: Provider) -> Settings:
    """Copy mode is the default for the embedded tiny model, free text for every other provider."""
    return Settings(copy_mode=provider.kind == "embedded")


def assemble(
    articles: Sequence[Article], summaries: Sequence[ArticleSummary], parts: BriefParts, run: RunInfo
) -> Brief:
    stats = CallStats()
    for s in summaries:
        stats = stats.add(s.stats)
    stats = stats.add(parts.stats)
    return Brief(
        run=run,
        articles=[a.to_out() for a in articles],
        summaries=list(summaries),
        overview=parts.overview,
        consensus=parts.consensus,
        discrepancies=parts.discrepancies,
        timeline=parts.timeline,
        single_source=single_source(summaries, parts.consensus),
        dropped=[d for s in summaries for d in s.dropped] + parts.dropped,
        stats=stats,
    )


async def brief_articles(articles: Sequence[Article], job: Job, *, cross_article: bool = True) -> Brief:
    """Summaries of every article and (if ``cross_article``) the brief across them. Provider must be running."""
    client = job.provider.async_client()
    try:
        summaries = await summarize_all(articles, job, client)
        parts = BriefParts()
        if cross_article:
            job._notify("brief", f"{sum(len(s.facts) for s in summaries)} facts")
            try:
                parts = await build_brief(
                    articles,
                    summaries,
                    client=client,
                    model=job.provider.model,
                    prompts=job.prompts,
                    settings=job.settings,
                    cache=job.cache,
                )
            except ProviderError as exc:
                parts = BriefParts(error=str(exc))
            if parts.error:
                log.warning("brief: %s", parts.error)
            facts = [f for s in summaries for f in s.facts]
            with_analysis(parts, articles, facts, trusted=not job.settings.copy_mode)
    finally:
        await client.close()  # its aiohttp session: left open, asyncio reports it as an error at exit
    job._notify("done", "")
    return assemble(articles, summaries, parts, job.run_info())


def brief_sources(
    sources: Sequence[str],
    *,
    provider: Provider | None = None,
    prompts: PromptSet | None = None,
    settings: Settings | None = None,
    concurrency: int = 1,
    cross_article: bool = True,
    max_bytes: int = MAX_BYTES,
    progress: ProgressFn | None = None,
    engine: Engine = "llm",
    on_loaded: Callable[[Sequence[Article]], None] | None = None,
) -> Brief:
    """Load, segment, summarise and brief ``sources`` (paths, directories, URLs, "-").

    ``engine="extractive"`` uses no model at all (``provider`` and the rest are then unused).
    ``on_loaded`` sees the articles once read, before any model starts: it may raise to refuse them.
    """
    articles = prepare(load(sources, max_bytes=max_bytes))
    if on_loaded is not None:
        on_loaded(articles)
    if engine == "extractive":
        from summarizer import extractive

        return extractive.brief_articles(articles, cross_article=cross_article)
    provider = provider or resolve()
    with running(provider) as ready:
        job = Job(
            provider=ready,
            prompts=prompts or load_prompts(),
            settings=settings or default_settings(provider),
            concurrency=concurrency,
            progress=progress,
        )
        return asyncio.run(brief_articles(articles, job, cross_article=cross_article))
