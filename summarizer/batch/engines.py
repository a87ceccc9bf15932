"""How a job's result is made: by a model, through the batch's client (:class:`ModelEngine`), or with no
model at all (:class:`ExtractiveEngine`, the same summaries and briefs as ``summarizer brief --engine
extractive``). The executor (:mod:`summarizer.batch.executing`) runs either the same way.

What model calls need (openai, instructor, the schemas, the segmenter: about a second of imports) is
imported when an engine is made: a run with nothing new never loads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from summarizer.batch.config import EngineName

if TYPE_CHECKING:
    from summarizer.analysis import Analysis
    from summarizer.ask import ModelClient
    from summarizer.brief import BriefParts
    from summarizer.providers import Provider
    from summarizer.schemas import ArticleSummary
    from summarizer.segment import Article
    from summarizer.settings import Settings
    from summarizer.templates import PromptSet

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One job's work: its token estimate for the rate limiter, and the call that does it (once per attempt)."""

    estimate: int
    make: Callable[[], Awaitable[T]]


class Engine(Protocol):
    def warm_up(self) -> None:
        """Build what the first calls need, before they are made (a worker process, as it starts)."""

    def summary(self, article: Article) -> Call[ArticleSummary]:
        """Summarise a segmented article."""
        ...

    def brief(
        self, articles: Sequence[Article], summaries: Sequence[ArticleSummary], analysis: Analysis
    ) -> Call[BriefParts]:
        """Brief an event's members (segmented, as stored) from their summaries and their cross-source analysis."""
        ...

    @property
    def in_flight(self) -> int:
        """Requests sent and not yet answered."""
        ...

    def halt(self) -> None:
        """Send nothing more: requests not yet sent are cancelled."""

    async def close(self) -> None: ...


def stored_as(engine: EngineName, model: str, prompts: PromptSet, settings: Settings) -> tuple[str, str]:
    """The (model, prompt version) an engine's results are stored under: results of another model, prompt set
    or engine are other work. Copy mode asks differently, so it is part of the version; the extractive engine
    is keyed as ``summarizer brief --engine extractive`` labels its runs."""
    if engine == "extractive":
        from summarizer.extractive import run_info

        info = run_info()
        return info.model, info.prompt_version
    return model, prompts.label + ("+copy" if settings.copy_mode else "")


def engine_of(model: str, prompt_version: str) -> EngineName:
    """Which engine made the results stored under (``model``, ``prompt_version``): the inverse of :func:`stored_as`."""
    from summarizer.extractive import run_info

    info = run_info()
    return "extractive" if (model, prompt_version) == (info.model, info.prompt_version) else "llm"


def open_engine(
    provider: Provider | None, *, model: str, prompts: PromptSet, settings: Settings, concurrency: int
) -> Engine:
    """The extractive engine without a provider; otherwise the model's, with at most ``concurrency`` requests
    in flight."""
    if provider is None:
        return ExtractiveEngine()
    return ModelEngine(provider.batch_client(concurrency), model=model, prompts=prompts, settings=settings)


def estimate_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    """A conservative token estimate for the rate limiter: ~4 characters a token, plus the reply allowance."""
    return sum(len(m.get("content") or "") for m in messages) // 4 + max_tokens


class ModelEngine:
    """Summaries and briefs from a model. The client sends its requests from an I/O thread of its own
    (:class:`summarizer.transport.ThreadedTransport`), with no transport retries: the batch's retry policy is
    the only one, and every attempt passes its rate limiter."""

    def __init__(self, client: ModelClient, *, model: str, prompts: PromptSet, settings: Settings) -> None:
        self.client = client
        self.model = model
        self.prompts = prompts
        self.settings = settings

    def warm_up(self) -> None:
        """The summary's request shape and the segmenter's rules (the brief's shape is built with the first brief)."""
        from summarizer.ask import warm_request_shapes
        from summarizer.schemas import ArticleExtraction
        from summarizer.schemas.llm import scoped
        from summarizer.segment import segment

        warm_request_shapes(self.client.mode, [scoped(ArticleExtraction, ["s1"])])
        segment("Warm-up. The segmenter builds its rules on first use.")

    def summary(self, article: Article) -> Call[ArticleSummary]:
        from summarizer.summarize import summarize, summary_messages

        async def make() -> ArticleSummary:
            return await summarize(
                article, client=self.client, model=self.model, prompts=self.prompts, settings=self.settings
            )

        return Call(estimate_tokens(summary_messages(article, self.prompts), self.settings.max_tokens), make)

    def brief(
        self, articles: Sequence[Article], summaries: Sequence[ArticleSummary], analysis: Analysis
    ) -> Call[BriefParts]:
        from summarizer.brief import build_brief

        facts = sum(len(f.text) + 16 for s in summaries for f in s.facts)

        async def make() -> BriefParts:
            return await build_brief(
                articles,
                summaries,
                client=self.client,
                model=self.model,
                prompts=self.prompts,
                settings=self.settings,
                analysis=analysis,
            )

        return Call(self.settings.max_tokens + facts // 4 + 400, make)

    @property
    def in_flight(self) -> int:
        return self.client.in_flight

    def halt(self) -> None:
        self.client.halt()

    async def close(self) -> None:
        await self.client.close()


class ExtractiveEngine:
    """Summaries and briefs with no model: lead and fact-bearing sentences, and the cross-source analysis."""

    in_flight = 0

    def warm_up(self) -> None:
        from summarizer.segment import segment

        segment("Warm-up. The segmenter builds its rules on first use.")

    def summary(self, article: Article) -> Call[ArticleSummary]:
        from summarizer import extractive

        async def make() -> ArticleSummary:
            return extractive.summarize_article(article)

        return Call(0, make)

    def brief(
        self, articles: Sequence[Article], summaries: Sequence[ArticleSummary], analysis: Analysis
    ) -> Call[BriefParts]:
        from summarizer import extractive

        async def make() -> BriefParts:
            return extractive.brief_parts(articles, summaries, analysis)

        return Call(0, make)

    def halt(self) -> None:
        pass

    async def close(self) -> None:
        pass
