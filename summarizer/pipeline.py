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
from summarizer.brief import BriefParts, analysed, assemble, build_brief
from summarizer.cache import ResponseCache
from summarizer.errors import ModelOutputError, ProviderError
from summarizer.load import MAX_BYTES, load
from summarizer.providers import Provider, resolve, running
from summarizer.schemas import ArticleSummary, Brief, RunInfo
from summarizer.segment import Article, prepare
from summarizer.summarize import summarize
from summarizer.templates import PromptSet, load_prompts

log = logging.getLogger(__name__)

StageProgress = Callable[[str, str], None]
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
    progress: StageProgress | None = None
    cache: ResponseCache | None = None
    """Answer identical requests from here instead of the model (None: always ask)."""

    def run_info(self) -> RunInfo:
        return RunInfo(
            provider=self.provider.kind,  # the backend's name, for the record
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


async def summarize_all(
    articles: Sequence[Article], job: Job, client: ModelClient, *, require_answer: bool = False
) -> list[ArticleSummary]:
    """Per-article summaries, ``job.concurrency`` at a time. A provider failure fails that article only.

    Raises ProviderError when the backend failed every article (unreachable, refused, kept failing) and,
    with ``require_answer``, ModelOutputError when it answered every article but no answer could be used.
    """
    gate = asyncio.Semaphore(max(job.concurrency, 1))
    failures: dict[str, ProviderError] = {}
    unusable: list[ArticleSummary] = []

    async def one(article: Article) -> ArticleSummary:
        async with gate:
            job._notify("summarize", f"{article.id} {article.title}")
            try:
                result = await summarize(
                    article,
                    client=client,
                    model=job.provider.model,
                    prompts=job.prompts,
                    settings=job.settings,
                    cache=job.cache,
                )
            except ProviderError as exc:
                failures[article.id] = exc
                result = ArticleSummary(article_id=article.id, status="failed", error=str(exc), headline=article.title)
            else:
                if result.status == "failed":
                    unusable.append(result)
            job._notify("summarized", article.id)
            return result

    summaries = list(await asyncio.gather(*(one(a) for a in articles)))
    if summaries and len(failures) == len(summaries):
        raise failures[summaries[0].article_id]  # one clear error beats N articles failed alike
    if require_answer and summaries and len(unusable) == len(summaries):
        first = summaries[0]  # every one failed so
        which = "the article" if len(summaries) == 1 else f"any of the {len(summaries)} articles"
        raise ModelOutputError(
            f"model {job.provider.model!r} gave no usable answer for {which} ({first.article_id}: {first.error})"
        )
    return summaries


def default_settings(provider: Provider) -> Settings:
    """The provider's defaults: copy mode for the embedded tiny model, free text for the others."""
    return Settings(copy_mode=provider.copy_mode)


async def brief_articles(
    articles: Sequence[Article], job: Job, *, cross_article: bool = True, require_answer: bool = False
) -> Brief:
    """Summaries of every article and (if ``cross_article``) the brief across them. Provider must be running.

    ``require_answer``: raise ModelOutputError rather than return a brief in which no article could be
    summarised because no answer of the model could be used (see :func:`summarize_all`).
    """
    client = job.provider.async_client()
    try:
        summaries = await summarize_all(articles, job, client, require_answer=require_answer)
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
            except ProviderError as exc:  # the model failed: the analysis alone still makes a brief
                parts = analysed(BriefParts(error=str(exc)), articles, summaries, job.settings)
            if parts.error:
                log.warning("brief: %s", parts.error)
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
    progress: StageProgress | None = None,
    engine: Engine = "llm",
    on_loaded: Callable[[Sequence[Article]], None] | None = None,
) -> Brief:
    """Load, segment, summarise and brief ``sources`` (paths, directories, URLs, "-").

    ``engine="extractive"`` uses no model at all (``provider`` and the rest are then unused).
    ``on_loaded`` sees the articles once read, before any model starts: it may raise to refuse them.
    Raises ModelOutputError when the model answered but no answer, for any article, could be used.
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
        return asyncio.run(brief_articles(articles, job, cross_article=cross_article, require_answer=True))
