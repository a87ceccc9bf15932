"""Run an engine over eval cases and score every brief: the model pipeline, or the extractive baseline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from summarizer import extractive
from summarizer.cache import ResponseCache
from summarizer.evaluate.gold import LoadedCase
from summarizer.evaluate.intervals import DEFAULT_SEED, CaseGroup, Summary, group_cases, summarize
from summarizer.evaluate.metrics import Counts, compute, total
from summarizer.evaluate.score import CaseScore, score_case
from summarizer.pipeline import Job, brief_articles
from summarizer.providers import Provider
from summarizer.schemas import Brief
from summarizer.settings import Settings
from summarizer.templates import PromptSet


@dataclass(frozen=True)
class Step:
    """Where a model run is: which run, repeat, case and article (``stage`` as the pipeline reports it)."""

    run: str
    case_id: str
    stage: str
    """"summarize" (``detail`` names the article), "summarized", "brief" or "done"."""
    detail: str
    repeat: int = 0
    repeats: int = 1


Progress = Callable[[Step], None]


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
    repeats: int = 1
    """Runs of a stochastic provider (``--repeat``); ``cases`` holds a score per case and run."""
    cached_articles: int = 0
    """Article answers served from the response cache (no model call)."""
    wall_seconds: float
    """Measured for this run (near zero when cached); the ``seconds_per_article`` metric is model time."""
    counts: Counts
    metrics: dict[str, float | None]
    """Micro metrics: counts summed over every case (and run), then divided."""
    summary: dict[str, Summary] = Field(default_factory=dict)
    """Every metric's micro and macro average across cases, with its 95 % bootstrap interval over cases."""
    cases: list[CaseScore]

    def case_groups(self) -> list[CaseGroup]:
        return group_cases([(c.case_id, c.counts) for c in self.cases])

    def scores_of(self, case_id: str) -> list[CaseScore]:
        """The case's scores, one per run."""
        return [c for c in self.cases if c.case_id == case_id]


@dataclass
class RunOutcome:
    result: RunResult
    briefs: dict[str, Brief] = field(default_factory=dict)
    """Case ID → the brief that was scored (the first run's, when repeated), for inspection."""


def _result(
    label: str,
    engine: Literal["llm", "extractive"],
    briefs: Sequence[Brief],
    scores: list[CaseScore],
    *,
    seed: int = DEFAULT_SEED,
    **info: object,
) -> RunResult:
    counts: Counts = total(s.counts for s in scores)
    cached = sum(1 for b in briefs for s in b.summaries if s.stats.cached)
    groups = group_cases([(s.case_id, s.counts) for s in scores])
    return RunResult(
        label=label,
        engine=engine,
        counts=counts,
        metrics=compute(counts),
        summary=summarize(groups, seed=seed),
        cases=scores,
        cached_articles=cached,
        **info,  # type: ignore[arg-type]
    )


def run_extractive(cases: Sequence[LoadedCase], *, label: str = "baseline", seed: int = DEFAULT_SEED) -> RunOutcome:
    """The no-model baseline over ``cases``."""
    started = time.perf_counter()
    briefs = {case.id: extractive.brief_articles(list(case.articles)) for case in cases}
    scores = [score_case(case, briefs[case.id]) for case in cases]
    info = extractive.run_info()
    result = _result(
        label,
        "extractive",
        list(briefs.values()),
        scores,
        seed=seed,
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
    repeats: int = 1,
    seed: int = DEFAULT_SEED,
) -> RunOutcome:
    """The model pipeline over ``cases``; ``provider`` must already be running (``providers.running``).

    With ``repeats`` > 1 every case is run that many times, run ``r`` with generation seed ``seed + r``
    (so a cached run is not simply served again); every run's score goes into the intervals.
    ``seed`` here is the bootstrap's.
    """
    settings = settings or Settings()
    label = label or prompts.label
    started = time.perf_counter()
    first: dict[str, Brief] = {}
    briefs: list[Brief] = []
    scores: list[CaseScore] = []
    for r in range(repeats):
        run_settings = settings if repeats == 1 else replace(settings, seed=(settings.seed or 0) + r)
        for case in cases:

            def notify(stage: str, detail: str, case_id: str = case.id, r: int = r) -> None:
                if progress is not None:
                    progress(Step(label, case_id, stage, detail, r, repeats))

            job = Job(
                provider=provider,
                prompts=prompts,
                settings=run_settings,
                concurrency=concurrency,
                progress=notify,
                cache=cache,
            )
            brief = asyncio.run(brief_articles(list(case.articles), job))
            briefs.append(brief)
            first.setdefault(case.id, brief)
            scores.append(score_case(case, brief).model_copy(update={"repeat": r}))
    result = _result(
        label,
        "llm",
        briefs,
        scores,
        seed=seed,
        provider=provider.kind,
        model=provider.model,
        prompts=prompts.label,
        prompts_origin=prompts.origin,
        settings=asdict(settings),
        repeats=repeats,
        wall_seconds=round(time.perf_counter() - started, 3),
    )
    return RunOutcome(result, first)
