"""One batch run: the run's row in the store, its counters, and :meth:`Batch.run`, the one way to run it.

    batch = Batch(store, model="gpt-4o-mini", prompts=load_prompts(), settings=Settings(), config=BatchConfig())
    batch.start(inbox="inbox/", provider="openai")
    with contextlib.ExitStack() as stack:   # the provider is made ready (e.g. a server started) only if needed
        batch.run(inbox.read(["inbox/"]), lambda: stack.enter_context(running(provider)))
    batch.finish("completed")

In one process, ``run`` reads the whole inbox into the store (:mod:`~summarizer.batch.ingest`), finds
the work (:mod:`~summarizer.batch.planning`: pending summaries, stale briefs) and does it
(:mod:`~summarizer.batch.executing`), each event's brief once its last member is finished. In worker
processes (``config.workers > 1``, Linux: :mod:`~summarizer.batch.pool`) the two overlap: the workers
summarise each chunk of the inbox while the parent reads the next.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from summarizer.batch import BatchError, pool
from summarizer.batch.config import BatchConfig, BatchProgress, Counters
from summarizer.batch.engines import open_engine, stored_as
from summarizer.batch.executing import Executor, Job, run_cancellable
from summarizer.batch.inbox import Item
from summarizer.batch.ingest import Ingest
from summarizer.batch.planning import BriefsDue, Planner
from summarizer.batch.records import WorkItem
from summarizer.batch.store import Store
from summarizer.batch.worker import WorkerSpec

if TYPE_CHECKING:
    from summarizer.providers import Provider
    from summarizer.settings import Settings
    from summarizer.templates import PromptSet

FLUSH_EVERY = 2.0
"""Seconds between writes of the counters to the run's row while it runs."""


class Batch:
    """One run of the batch over a store, for one model and prompt version (or the extractive engine,
    ``config.engine``, whose results are stored under their own name: see :func:`~summarizer.batch.engines.stored_as`).

    ``progress`` sees the counters as the run goes; ``sleep`` and ``clock`` pace retries and rate limits
    in this process (tests pass a fake clock).
    """

    def __init__(
        self,
        store: Store,
        *,
        model: str,
        prompts: PromptSet,
        settings: Settings,
        config: BatchConfig,
        progress: BatchProgress | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config.concurrency < 1:
            raise BatchError("--concurrency must be at least 1")
        self.store = store
        self.prompts = prompts
        self.settings = settings
        self.config = config
        self.model, self.prompt_version = stored_as(config.engine, model, prompts, settings)
        self.counters = Counters()
        self.run_id = 0
        self.progress = progress
        self.planner = Planner(store, model=self.model, prompt_version=self.prompt_version, config=config)
        self._sleep = sleep
        self._clock = clock
        self._flushed = 0.0

    # -- the run's row ---------------------------------------------------------------------------
    def start(self, *, inbox: str, provider: str = "") -> int:
        self.run_id = self.store.start_run(
            inbox=inbox, provider=provider, model=self.model, prompt_version=self.prompt_version
        )
        return self.run_id

    def flush(self, counters: Counters | None = None, *, force: bool = False) -> None:
        """Write the counters (this process's unless given) to the run's row: at most every FLUSH_EVERY unless
        forced."""
        now = time.monotonic()
        if force or now - self._flushed >= FLUSH_EVERY:
            self._flushed = now
            self.store.update_run(self.run_id, **(counters or self.counters).run_columns())

    def finish(self, status: str, error: str | None = None) -> None:
        self.store.finish_run(self.run_id, status, error, **self.counters.run_columns())

    def _report(self, what: str, counters: Counters) -> None:
        """The run's progress callback: the display, and the run's row (not for each chunk read)."""
        if self.progress is not None:
            self.progress(what, counters)
        if what != "ingest":
            self.flush(counters, force=what == "ingested")

    # -- running -------------------------------------------------------------------------------
    def ingest(self) -> Ingest:
        """This run's reading of an inbox into the store, counted in its counters."""
        return Ingest(
            self.store, model=self.model, prompt_version=self.prompt_version, config=self.config,
            run_id=self.run_id, counters=self.counters, progress=self._report,
        )  # fmt: skip

    def run(self, items: Iterable[Item], ready: Callable[[], Provider] | None = None) -> None:
        """Read ``items`` into the store and do the work they bring, with what earlier runs left to do.

        ``ready()`` returns the provider, ready to use (starting an embedded server, say); it is called once,
        when there is work, and never when there is none (nor for the extractive engine). SIGTERM stops the
        run like Ctrl-C: the caller sees KeyboardInterrupt or CancelledError, and what is done is stored.
        """
        if self.config.engine != "extractive" and ready is None:
            raise BatchError("a batch with a model needs its provider (ready)")
        if min(self.config.workers, self.config.concurrency) > 1 and pool.supported():
            self._run_in_workers(items, None if self.config.engine == "extractive" else ready)
        else:
            self._run_here(items, None if self.config.engine == "extractive" else ready)

    def _run_in_workers(self, items: Iterable[Item], ready: Callable[[], Provider] | None) -> None:
        spec = WorkerSpec(
            store=self.store.path, model=self.model, prompt_version=self.prompt_version, prompts=self.prompts,
            settings=self.settings, config=self.config, run_id=self.run_id,
        )  # fmt: skip
        workers = pool.Pool(
            spec, ready, self.config.workers, planner=self.planner, counters=self.counters, progress=self._report
        )
        try:
            workers.run(self.ingest(), items)
        finally:
            self.flush(force=True)

    def _run_here(self, items: Iterable[Item], ready: Callable[[], Provider] | None) -> None:
        self.ingest().read(items)
        work = self.planner.leftovers()
        due = BriefsDue(self.planner, {item.article_id: item.event_id for item in work if item.event_id is not None})
        briefs = due.start()
        self.counters.queued, self.counters.briefs_queued = len(work), len(briefs)
        if work or briefs:
            run_cancellable(self._execute([*briefs, *work], due, None if ready is None else ready()))

    async def _execute(self, jobs: list[Job], due: BriefsDue, provider: Provider | None) -> None:
        """Do ``jobs`` in this process, and each brief ``due`` as its last member is finished."""
        engine = open_engine(
            provider, model=self.model, prompts=self.prompts, settings=self.settings,
            concurrency=self.config.concurrency,
        )  # fmt: skip

        def finished(job: Job) -> None:
            if isinstance(job, WorkItem) and (brief := due.finished(job.article_id)) is not None:
                self.counters.briefs_queued += 1
                executor.submit(brief)

        executor = Executor(
            self.store, engine, model=self.model, prompt_version=self.prompt_version, config=self.config,
            run_id=self.run_id, counters=self.counters, progress=self._report, on_finished=finished,
            sleep=self._sleep, clock=self._clock,
        )  # fmt: skip
        for job in jobs:
            executor.submit(job)
        try:
            await executor.run()
        finally:
            await engine.close()
            self.flush(force=True)
