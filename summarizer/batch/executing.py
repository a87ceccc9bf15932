"""Doing a batch's jobs in one process: a job queue, attempts, and storing each result.

Jobs are summaries (a pending summary row) and briefs (an event's members), done in the order of
:mod:`summarizer.batch.ordering`: summaries first, each brief's analysis as soon as it is due, its
request once no summary waits. ``concurrency`` bounds the requests in flight (the engine's client), not
the tasks working the queue: there are half as many again, so segmenting the next article and
validating and grounding an answer never hold a request slot; a result is stored by the executor's
:class:`~summarizer.batch.writing.ResultWriter`, so waiting for the store's lock holds no task either.

Every attempt passes the rate limiter; transient faults are retried by the retry policy; an article
that still fails is recorded as failed with its reason, and the batch goes on. A refusal (a bad key,
an unknown model, every request rejected) stops the batch: :class:`~summarizer.errors.ProviderError`.
A job that trips a bug fails alone, said to be one, unless BROKEN_IN_A_ROW jobs in a row do.

About 400 lines: the two kinds of job share the attempts, the failure handling and the counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from summarizer.batch.config import REPORT_EVERY, BatchConfig, BatchProgress, Counters
from summarizer.batch.engines import Call, Engine
from summarizer.batch.limits import RateLimiter
from summarizer.batch.ordering import JobQueue, PreparedBrief
from summarizer.batch.planning import BriefJob
from summarizer.batch.records import SummaryJob, WorkItem, members_of, sentence_spans
from summarizer.batch.retry import TransientFault, classify
from summarizer.batch.store import Store
from summarizer.batch.writing import ResultWriter
from summarizer.errors import ModelOutputError, ProviderError, StoreError

if TYPE_CHECKING:
    from summarizer.brief import BriefParts
    from summarizer.schemas import CallStats

log = logging.getLogger(__name__)

T = TypeVar("T")

Job = WorkItem | SummaryJob | BriefJob
Feed = AsyncIterator[Job]
"""Jobs that arrive while the executor runs (a worker process's, from its parent)."""

PREPARED_PER_SLOT = 2
"""Briefs an executor keeps prepared (members read and analysed) per request slot: enough to fill its slots
for the two rounds of requests after its last summaries, when nothing else is left to send."""

BROKEN_IN_A_ROW = 5
"""Jobs that hit a bug (an exception no model or store failure explains), one after another with no job
done between, after which the batch stops with the last one: one article that trips a bug fails alone
and the batch goes on; a bug every job trips stops it at once instead of failing the whole inbox."""

REJECTED_IN_A_ROW = 5
"""Requests rejected with a 4xx other than 401/403/404 (each recorded as its article's failure),
one after another with no answer between, after which the batch stops: the server rejects what
every request has in common (the model's parameters, the output mode), not one article."""


class PermanentFailure(Exception):
    """An attempt ended in a way retrying will not change (e.g. the model's answer was unusable)."""


def run_cancellable(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run(main)``, cancelled by SIGTERM (e.g. a scheduler's timeout) as Ctrl-C would: the caller
    sees CancelledError."""

    async def cancellable() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await main
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)

    asyncio.run(cancellable())


class Executor:
    """Does jobs with ``engine`` and stores each result, for one model and prompt version.

    ``on_finished(job)`` is told of each job once its result is stored (or found already done by another);
    ``progress`` of what it counts. ``sleep`` and ``clock`` pace the retries and the rate limiter (tests
    pass a fake clock).
    """

    def __init__(
        self,
        store: Store,
        engine: Engine,
        *,
        model: str,
        prompt_version: str,
        config: BatchConfig,
        run_id: int,
        counters: Counters | None = None,
        progress: BatchProgress | None = None,
        on_finished: Callable[[Job], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.engine = engine
        self.model = model
        self.prompt_version = prompt_version
        self.config = config
        self.run_id = run_id
        self.counters = counters if counters is not None else Counters()
        self.progress = progress
        self.on_finished = on_finished
        self._sleep = sleep
        self._limiter = RateLimiter(config.requests_per_minute, config.tokens_per_minute, clock=clock, sleep=sleep)
        self._queue = JobQueue(PREPARED_PER_SLOT * config.concurrency)
        self._writer = ResultWriter(store)
        self._rejected_in_a_row = 0
        self._broken_in_a_row = 0

    def submit(self, job: Job) -> None:
        """Queue a job (:mod:`summarizer.batch.ordering` orders them)."""
        self._queue.put(job)

    async def run(self, feed: Feed | None = None) -> None:
        """Do the jobs submitted, those submitted meanwhile, and what ``feed`` brings until it ends; return when
        all are done. Cancelled (Ctrl-C, SIGTERM), the engine is halted first: a request waiting for a slot
        would otherwise go out as a cancelled one frees it."""
        extra = max(self.config.concurrency // 2, 1)  # tasks beyond the request slots: see the module's docstring
        tasks = [asyncio.create_task(self._work()) for _ in range(self.config.concurrency + extra)]
        tasks += [asyncio.create_task(self._prepare_briefs()), asyncio.create_task(self._writer.run())]
        joiner = asyncio.create_task(self._drain(feed))
        ticker = asyncio.create_task(self._tick())
        failure: BaseException | None = None
        try:
            await asyncio.wait([joiner, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in (joiner, *tasks):  # the feed's failure too (a job it could not read)
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self.engine.halt()
            for task in (joiner, ticker, *tasks):
                task.cancel()
            try:
                await asyncio.gather(joiner, ticker, *tasks, return_exceptions=True)
            finally:
                self._store_what_waits(failure)
            self.counters.in_flight = self.engine.in_flight

    def _store_what_waits(self, failure: BaseException | None) -> None:
        """Results still waiting for the lock are answers paid for: stored before the run ends (Ctrl-C, SIGTERM,
        another task's refusal). If that fails too, the run's own failure is the one raised."""
        try:
            self._writer.flush()
        except Exception as exc:
            if failure is None:
                raise
            log.error("results of this run were not stored (the articles stay pending): %s", exc)

    def _notify(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what, self.counters)

    async def _drain(self, feed: Feed | None) -> None:
        """Returns once the queue is empty and, with a ``feed``, the feed has ended."""
        if feed is not None:
            async for job in feed:
                self.submit(job)
        await self._queue.join()

    async def _tick(self) -> None:
        """A heartbeat for the progress display, which refreshes from this thread (no display thread)."""
        while True:
            await asyncio.sleep(REPORT_EVERY)
            self.counters.in_flight = self.engine.in_flight
            self._notify("tick")

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            handed_on = False  # its result to the writer, which counts the job done once it is stored
            try:
                if isinstance(job, PreparedBrief):
                    handed_on = await self._brief(job)
                elif isinstance(job, SummaryJob):
                    handed_on = await self._summarize_pending(job)
                else:
                    handed_on = await self._summarize(job)
            finally:
                if not handed_on:
                    self._queue.done()

    async def _prepare_briefs(self) -> None:
        """Read and analyse each due brief's members as it falls due (while there is room), for its request later."""
        while True:
            job = await self._queue.next_due()
            from summarizer.analysis import analyse_yielding  # not before a brief is due: its imports are large

            rows = self.store.members_with_summaries(job.members, model=self.model, prompt_version=self.prompt_version)
            articles, summaries = members_of(rows)
            try:
                analysis = await analyse_yielding(articles)
            except Exception as exc:
                broken = self._broken(exc, f"the analysis of event {job.event_id}")
                self._queue.prepared(PreparedBrief(job, articles, summaries, None, broken))
            else:
                self._queue.prepared(PreparedBrief(job, articles, summaries, analysis))

    # -- attempts ----------------------------------------------------------------------------
    async def _attempts(self, call: Call[T], before: Callable[[], None] | None = None) -> T:
        """``call`` under the retry policy, each attempt through the rate limiter. Raises TransientFault
        when out of attempts, PermanentFailure for an answer retrying cannot fix, ProviderError to stop the batch."""

        def on_retry(state: Any) -> None:
            self.counters.retries += 1
            self._notify("retry")

        async for attempt in self.config.retry.retrying(sleep=self._sleep, before_sleep=on_retry):
            with attempt:
                if before is not None:
                    before()
                await self._limiter.acquire(call.estimate)
                try:
                    answer = await call.make()
                except (ProviderError, ModelOutputError) as exc:
                    self._limiter.settle(estimated_tokens=call.estimate, actual_tokens=0)
                    raise self._failure(exc) from exc
                self._rejected_in_a_row = 0
                return answer
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _failure(self, exc: ProviderError | ModelOutputError) -> Exception:
        """What a failed attempt means: retry it, fail its job, or stop the batch (halting the engine first,
        so the tasks waiting for a slot send nothing more)."""
        error = classify(exc)
        if error is None:
            return PermanentFailure(str(exc))
        if error.kind == "bad_request":
            # This job's request (too long for the model, say): its failure, unless every request is rejected alike.
            self._rejected_in_a_row += 1
            if self._rejected_in_a_row < REJECTED_IN_A_ROW:
                return PermanentFailure(f"the model server rejected the request: {error.summary}")
            self.engine.halt()
            return ProviderError(
                f"the model server rejected {self._rejected_in_a_row} requests in a row: {error.summary}",
                kind=error.kind,
                status=error.status,
                model=error.model,
            )
        if not error.retryable:
            self.engine.halt()
            return ProviderError(
                f"the model server refused the request: {error.summary}",
                kind=error.kind,
                status=error.status,
                model=error.model,
            )
        if error.kind == "rate_limited" and error.retry_after:
            self._limiter.pause(min(error.retry_after, self.config.retry.max_retry_after))
        return TransientFault(error)

    def _account(self, stats: CallStats, estimate: int) -> None:
        self.counters.calls += stats.calls
        self.counters.prompt_tokens += stats.prompt_tokens
        self.counters.completion_tokens += stats.completion_tokens
        self._limiter.settle(
            estimated_tokens=estimate,
            actual_tokens=stats.prompt_tokens + stats.completion_tokens,
            extra_requests=stats.calls - 1,
        )

    def _broken(self, exc: Exception, what: str) -> str:
        """A job hit a bug: logged with its traceback, and its failure's reason; the batch stops (with ``exc``)
        once BROKEN_IN_A_ROW jobs have, one after another."""
        self._broken_in_a_row += 1
        if self._broken_in_a_row >= BROKEN_IN_A_ROW:
            raise exc
        log.error("%s hit a bug (the batch goes on): %s: %s", what, type(exc).__name__, exc, exc_info=exc)
        return f"a bug in summarizer ({type(exc).__name__}: {exc}); please report it"

    def _gave_up(self, exc: TransientFault) -> str:
        return f"gave up after {self.config.retry.attempts} attempt(s): {exc.error.summary}"

    # -- jobs --------------------------------------------------------------------------------
    async def _summarize_pending(self, job: SummaryJob) -> bool:
        """A summary handed out by its ID, its article read now. One no longer pending (nothing else should have
        done it, but the store is the judge) is finished at once, so whoever handed it out does not wait for it."""
        work = self.store.pending(model=self.model, prompt_version=self.prompt_version, summary_ids=[job.summary_id])
        if work:
            return await self._summarize(work[0])
        if self.on_finished is not None:
            self.on_finished(job)
        return False

    async def _summarize(self, item: WorkItem) -> bool:
        from summarizer.schemas import ArticleSummary
        from summarizer.segment import Article, segment

        status, error, kind, result = "failed", None, None, None
        stats: dict[str, Any] = {}
        attempts = 0
        spans: str | None = None

        def attempt() -> None:
            nonlocal attempts
            attempts += 1

        try:
            sentences = tuple(segment(item.document.text))
            article = Article(id=f"a{item.article_id}", doc=item.document, sentences=sentences)
            spans = sentence_spans(article.sentences)
            call = self.engine.summary(article)
            summary: ArticleSummary = await self._attempts(call, before=attempt)
        except TransientFault as exc:
            error, kind = self._gave_up(exc), "transient"
        except PermanentFailure as exc:
            error, kind = str(exc), "permanent"
        except (ProviderError, StoreError):
            raise
        except Exception as exc:
            error, kind = self._broken(exc, f"article a{item.article_id}"), "transient"  # retried once it is fixed
        else:
            self._account(summary.stats, call.estimate)
            stats = summary.stats.model_dump()
            if summary.status == "ok":
                status, result = "done", summary.model_dump_json()
                self._broken_in_a_row = 0
            else:
                error, kind = summary.error or "no usable answer", "permanent"

        def write() -> bool:
            return self.store.finish_summary(
                item.summary_id, status=status, result=result, error=error, error_kind=kind, stats=stats,
                run_id=self.run_id, article_id=item.article_id, sentences=spans, attempts=attempts,
            )  # fmt: skip

        def then(recorded: bool) -> None:
            if recorded and status == "done":
                self.counters.summarized += 1
            elif recorded:
                self.counters.failed += 1
                log.info("a%d (%s): %s", item.article_id, item.document.origin, error)
                self._notify("failure")
            self._finished(item, "article")

        self._writer.add(write, then)
        return True

    async def _brief(self, prepared: PreparedBrief) -> bool:
        job = prepared.job
        parts, kind = await self._brief_parts(prepared)
        failed = kind is not None
        # A brief the model could not give still carries the analysis, and a note saying so (brief.analysed): it
        # ships, as ``summarizer brief`` ships it.
        result = None if failed else parts.model_dump_json()

        def write() -> bool:
            return self.store.save_brief(
                job.event_id, model=self.model, prompt_version=self.prompt_version, members=list(job.members),
                digest=job.digest, status="failed" if failed else "done", error=parts.error, error_kind=kind,
                result=result, stats=parts.stats.model_dump(), run_id=self.run_id,
            )  # fmt: skip

        def then(recorded: bool) -> None:
            if recorded and not failed:
                self.counters.briefs += 1
            elif recorded:
                self.counters.briefs_failed += 1
            if recorded and parts.error:
                log.info("event %d brief: %s", job.event_id, parts.error)
            self._finished(job, "brief")

        self._writer.add(write, then)
        return True

    async def _brief_parts(self, prepared: PreparedBrief) -> tuple[BriefParts, str | None]:
        """The brief's parts, and the kind of its failure (None: done). A job that hit a bug is "transient": the
        next run, with the bug fixed, makes it."""
        from summarizer.brief import BriefParts

        if prepared.analysis is None:  # its analysis hit a bug (counted when it did)
            return BriefParts(error=prepared.error or "no analysis"), "transient"
        try:
            call = self.engine.brief(prepared.articles, prepared.summaries, prepared.analysis)
            parts: BriefParts = await self._attempts(call)
        except TransientFault as exc:
            return BriefParts(error=self._gave_up(exc)), "transient"
        except PermanentFailure as exc:
            return BriefParts(error=str(exc)), "permanent"
        except (ProviderError, StoreError):
            raise
        except Exception as exc:
            return BriefParts(error=self._broken(exc, f"the brief of event {prepared.job.event_id}")), "transient"
        self._account(parts.stats, call.estimate)
        self._broken_in_a_row = 0
        return parts, None

    def _finished(self, job: Job, what: str) -> None:
        """A job's result is stored: whoever handed it out is told, and the queue counts it done."""
        if self.on_finished is not None:
            self.on_finished(job)
        self._notify(what)
        self._queue.done()
