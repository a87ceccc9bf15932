"""Run an engine over eval cases and score every brief: the model pipeline, or the extractive baseline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

from summarizer import extractive
from summarizer.cache import ResponseCache
from summarizer.evaluate.gold import LoadedCase
from summarizer.evaluate.metrics import Counts, compute, total
from summarizer.evaluate.score import CaseScore, score_case
from summarizer.pipeline import Job, brief_articles
from summarizer.providers import Provider
from summarizer.schemas import Brief
from summarizer.settings import Settings
from summarizer.templates import PromptSet

Progress = Callable[[str, str], None]
"""Called as ``progress(run_label, message)``."""


class RunResult(BaseModel):
    """One engine (and prompt set) over every case: what the reports and the gate read."""

    model_config = ConfigDict(extra="forbid")

    label: str
    engine: Literal["llm", "extractive"]
    provider: str
    model: str
    prompts: str | None = None
    """The prompt set's label, ``version@digest``: the exact prompt text that was run."""
    prompts_origin: str | None = None
    settings: dict[str, bool | int | float | None] | None = None
    cached_articles: int = 0
    """Article answers served from the response cache (no model call)."""
    wall_seconds: float
    """Measured for this run (near zero when cached); the ``seconds_per_article`` metric is model time."""
    counts: Counts
    metrics: dict[str, float | None]
    cases: list[CaseScore]


@dataclass
class RunOutcome:
    result: RunResult
    briefs: dict[str, Brief] = field(default_factory=dict)
    """Case ID → the brief that was scored, for inspection."""


def _result(
    label: str, engine: Literal["llm", "extractive"], briefs: dict[str, Brief], scores: list[CaseScore], **info: object
) -> RunResult:
    counts: Counts = total(s.counts for s in scores)
    cached = sum(1 for b in briefs.values() for s in b.summaries if s.stats.cached)
    return RunResult(
        label=label,
        engine=engine,
        counts=counts,
        metrics=compute(counts),
        cases=scores,
        cached_articles=cached,
        **info,  # type: ignore[arg-type]
    )


def run_extractive(cases: Sequence[LoadedCase], *, label: str = "baseline") -> RunOutcome:
    """The no-model baseline over ``cases``."""
    started = time.perf_counter()
    briefs = {case.id: extractive.brief_articles(list(case.articles)) for case in cases}
    scores = [score_case(case, briefs[case.id]) for case in cases]
    info = extractive.run_info()
    result = _result(
        label,
        "extractive",
        briefs,
        scores,
        provider=info.provider,
        model=info.model,
        wall_seconds=round(time.perf_counter() - started, 3),
    )
    return RunOutcome(result, briefs)


def run_llm(
    cases: Sequence[LoadedCase],
    *,
    provider: Provider,
    prompts: PromptSet,
    settings: Settings | None = None,
    cache: ResponseCache | None = None,
    concurrency: int = 1,
    label: str | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """The model pipeline over ``cases``; ``provider`` must already be running (``providers.running``)."""
    settings = settings or Settings()
    label = label or prompts.label
    started = time.perf_counter()
    briefs: dict[str, Brief] = {}
    for case in cases:

        def notify(stage: str, detail: str, case_id: str = case.id) -> None:
            if progress is not None and stage in ("summarize", "brief"):
                progress(label, f"{case_id}: {stage} {detail}".strip())

        job = Job(
            provider=provider,
            prompts=prompts,
            settings=settings,
            concurrency=concurrency,
            progress=notify,
            cache=cache,
        )
        briefs[case.id] = asyncio.run(brief_articles(list(case.articles), job))
    scores = [score_case(case, briefs[case.id]) for case in cases]
    result = _result(
        label,
        "llm",
        briefs,
        scores,
        provider=provider.kind,
        model=provider.model,
        prompts=prompts.label,
        prompts_origin=prompts.origin,
        settings=asdict(settings),
        wall_seconds=round(time.perf_counter() - started, 3),
    )
    return RunOutcome(result, briefs)
