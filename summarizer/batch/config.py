"""What a batch run is told (``BatchConfig``), what it counts (``Counters``) and how it reports (``BatchProgress``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Literal

from summarizer.batch import dedupe, events
from summarizer.batch.retry import RetryPolicy
from summarizer.load import MAX_BYTES

EngineName = Literal["llm", "extractive"]
"""``extractive``: no model at all; summaries and briefs from :mod:`summarizer.extractive`."""

REPORT_EVERY = 0.1
"""Seconds between progress ticks: the display's refresh, a worker process's counter report."""


@dataclass(frozen=True)
class BatchConfig:
    concurrency: int = 8
    """Model requests in flight at once, over all worker processes."""
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    duplicate_threshold: float = dedupe.NEAR_DUPLICATE_JACCARD
    event_threshold: float = events.DEFAULT_THRESHOLD
    event_window_days: float = events.DEFAULT_WINDOW_DAYS
    briefs: bool = True
    min_event_articles: int = 2
    """Events with fewer summarised articles get no cross-article brief."""
    max_brief_articles: int = 20
    """A larger event is briefed from its most recent articles."""
    retry_failed: bool = False
    """Also retry articles that failed for good (unusable answers), not only transient failures."""
    max_bytes: int = MAX_BYTES
    workers: int = 1
    """Worker processes executing the work (see :mod:`summarizer.batch.pool`); concurrency and limits are
    shared out. With more than one, they summarise while the inbox is still being read."""
    engine: EngineName = "llm"

    def share(self, worker: int, workers: int) -> BatchConfig:
        """Worker ``worker``'s part (of ``workers``): its share of the concurrency and of the rate limits."""
        per = self.concurrency // workers + (1 if worker < self.concurrency % workers else 0)
        rpm, tpm = self.requests_per_minute, self.tokens_per_minute
        return replace(
            self,
            concurrency=per,
            requests_per_minute=rpm / workers if rpm else None,
            tokens_per_minute=tpm / workers if tpm else None,
            workers=1,
        )


@dataclass
class Counters:
    """What a run has done so far; the progress display and the runs table read it."""

    seen: int = 0
    new: int = 0
    duplicates: int = 0
    skipped: int = 0
    input_errors: int = 0
    queued: int = 0
    summarized: int = 0
    failed: int = 0
    briefs_queued: int = 0
    briefs: int = 0
    briefs_failed: int = 0
    calls: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    in_flight: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def plus(self, *others: Counters) -> Counters:
        """A new Counters: these and ``others`` added up (a parent's and its worker processes')."""
        total = replace(self)
        for other in others:
            for f in fields(total):
                setattr(total, f.name, getattr(total, f.name) + getattr(other, f.name))
        return total

    def run_columns(self) -> dict[str, int]:
        """The counters the runs table keeps (the others describe the run only while it goes)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in LIVE_ONLY}


LIVE_ONLY = frozenset({"queued", "briefs_queued", "briefs_failed", "in_flight"})
"""Counters the progress display shows and the runs table does not keep."""


BatchProgress = Callable[[str, Counters], None]
"""Called as ``progress(what, counters)``; ``what`` is "ingest" (a chunk read), "ingested" (the whole inbox),
"article", "brief", "retry", "failure" or "tick"."""
