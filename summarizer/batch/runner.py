"""The batch itself: ingest the inbox into the store, then summarise and brief what is new, concurrently.

    batch = Batch(store, model="gpt-4o-mini", prompts=load_prompts(), settings=Settings(), config=BatchConfig())
    batch.start(inbox="inbox/", provider="openai")
    with contextlib.ExitStack() as stack:   # the provider is made ready (e.g. a server started) only if needed
        batch.run_inbox(inbox.read(["inbox/"]), lambda: stack.enter_context(running(provider)))
    batch.finish("completed")

``run_inbox`` is, in one process, ``ingest`` (no model calls: hashes, duplicates, events),
``plan`` (pending summaries, events whose brief is stale) and ``run``. With several worker
processes the two overlap: the workers summarise each ingested chunk while the parent reads
the next (see ``workers``). Ingest is idempotent, each chunk one transaction.

Execution (in each worker process) is asyncio tasks pulling jobs from a priority queue:
summaries first come first served, and an event's brief once its last pending member is
finished, behind any summary still waiting (briefs fill the slots the last summaries leave).
``concurrency`` bounds the requests in flight (the client's transport), not the tasks: there are
half as many again, so segmenting the next article and validating, grounding and storing an
answer never hold a server's slot.
Every attempt passes the rate limiter; transient faults are retried by the tenacity policy;
an article that still fails is recorded as failed with its reason, and the batch goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from summarizer.batch import BatchError, dedupe, events
from summarizer.batch import workers as parallel
from summarizer.batch.grouping import Grouper
from summarizer.batch.inbox import Item
from summarizer.batch.limits import RateLimiter
from summarizer.batch.retry import RetryPolicy, TransientFault, classify
from summarizer.batch.store import BUSY_POLL, BUSY_TIMEOUT, LockBusy, Store, WorkItem, document_of, parse_time
from summarizer.errors import ModelOutputError, ProviderError
from summarizer.load import MAX_BYTES

if TYPE_CHECKING:
    # What model calls need (openai, instructor, pydantic schemas, the segmenter: about a second of
    # imports) is imported where the calls are made: a run with nothing new never loads it.
    from summarizer.ask import ModelClient
    from summarizer.brief import BriefParts
    from summarizer.providers import Provider
    from summarizer.settings import Settings
    from summarizer.templates import PromptSet

log = logging.getLogger(__name__)

T = TypeVar("T")

INGEST_CHUNK = 200
"""Inbox items per ingest transaction."""

REJECTED_IN_A_ROW = 5
"""Requests rejected with a 4xx other than 401/403/404 (each recorded as its article's failure),
one after another with no answer between, after which the batch stops: the server rejects what
every request has in common (the model's parameters, the output mode), not one article."""


@dataclass
class _Fresh:
    """An article new to the store, with what its ingest computes before its transaction."""

    sketch: tuple[int, ...]
    terms: Counter[str]
    duplicate_of: int | str | None = None
    """The stored article it copies (its id), or an earlier one in the same chunk (its content hash)."""
    similarity: float = 0.0


@dataclass(frozen=True)
class BatchConfig:
    concurrency: int = 8
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
    """Processes executing the plan (see :mod:`summarizer.batch.workers`); concurrency and limits are shared out.
    With more than one, they summarise while the inbox is still being read."""


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

    def run_columns(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "new": self.new,
            "duplicates": self.duplicates,
            "skipped": self.skipped,
            "input_errors": self.input_errors,
            "summarized": self.summarized,
            "failed": self.failed,
            "briefs": self.briefs,
            "calls": self.calls,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


ProgressFn = Callable[[str, Counters], None]
"""Called as ``progress(what, counters)``; ``what`` is "ingest" (a chunk read), "ingested" (the whole inbox),
"article", "brief", "retry", "failure" or "tick"."""


@dataclass(frozen=True)
class BriefJob:
    event_id: int
    members: tuple[int, ...]
    digest: str


@dataclass
class Plan:
    summaries: list[WorkItem]
    briefs: list[BriefJob]
    """Events whose brief is stale and that have no member left to summarise in this run."""
    waiting: dict[int, int]
    """Pending members per event: when it reaches 0 the event's brief is checked."""

    def __bool__(self) -> bool:
        return bool(self.summaries or self.briefs)


class PermanentFailure(Exception):
    """An attempt ended in a way retrying will not change (e.g. the model's answer was unusable)."""


def estimate_tokens(messages: list[dict[str, str]], max_tokens: int) -> int:
    """A conservative token estimate for the rate limiter: ~4 characters a token, plus the reply allowance."""
    return sum(len(m.get("content") or "") for m in messages) // 4 + max_tokens


Feed = AsyncIterator["WorkItem | BriefJob"]
"""Jobs that arrive while a plan runs (a worker process's, from its parent)."""


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def members_digest(members: Iterable[int]) -> str:
    return hashlib.sha256(json.dumps(sorted(members)).encode()).hexdigest()[:16]


class Batch:
    """One run of the batch over a store, for one model and prompt version."""

    def __init__(
        self,
        store: Store,
        *,
        model: str,
        prompts: PromptSet,
        settings: Settings,
        config: BatchConfig,
        progress: ProgressFn | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config.concurrency < 1:
            raise BatchError("--concurrency must be at least 1")
        self.store = store
        self.model = model
        self.prompts = prompts
        # Results are keyed by model and prompt version; copy mode asks differently, so it is part of the version.
        self.prompt_version = prompts.label + ("+copy" if getattr(settings, "copy_mode", False) else "")
        self.settings = settings
        self.config = config
        self.counters = Counters()
        self.run_id = 0
        self.progress = progress
        self.owns_run = True
        """False in a worker process: the parent keeps the run's row."""
        self._sleep = sleep  # retry waits and rate-limit waits (tests pass a fake clock and sleep)
        self._clock = clock
        self._flushed = 0.0
        self._inbox_ids: list[int] = []
        self._events: Grouper | None = None
        self._briefed: set[int] = set()
        self._counted_skipped: set[int] = set()
        self.finished: list[tuple[str, int]] | None = None
        """In a worker process, the jobs finished since the last report: ("summary", summary_id) or
        ("brief", event_id). Its parent decides the briefs, so the worker starts none of its own."""

    def notify(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what, self.counters)

    # -- run bookkeeping ---------------------------------------------------------------------
    def start(self, *, inbox: str, provider: str = "") -> int:
        self.run_id = self.store.start_run(
            inbox=inbox, provider=provider, model=self.model, prompt_version=self.prompt_version
        )
        return self.run_id

    def flush(self, *, force: bool = False) -> None:
        """Write the counters to the run's row (at most every two seconds unless forced)."""
        now = time.monotonic()
        if not self.owns_run:
            return
        if force or now - self._flushed >= 2.0:
            self._flushed = now
            self.store.update_run(self.run_id, **self.counters.run_columns())

    def finish(self, status: str, error: str | None = None) -> None:
        self.store.finish_run(self.run_id, status, error, **self.counters.run_columns())

    # -- ingest ------------------------------------------------------------------------------
    def ingest(self, items: Iterable[Item]) -> None:
        """Store every inbox item (new articles, sightings of known ones, input errors); group the new into events."""
        for chunk in chunked(items, INGEST_CHUNK):
            self.ingest_chunk(chunk)
        self.finish_ingest()

    def ingest_chunk(self, items: list[Item]) -> list[tuple[int, int]]:
        """Store one chunk of inbox items, queue summaries for its canonical articles (one transaction)
        and return (summary ID, article ID) of its articles' pending summaries, in article order.
        Summaries do not depend on events, so what a chunk queued can be worked on at once (the
        worker processes do); only briefs wait for :meth:`finish_ingest`."""
        start = len(self._inbox_ids)
        self._ingest_chunk(items)
        ids = self._inbox_ids[start:]
        summaries = self.store.summaries_of(ids, model=self.model, prompt_version=self.prompt_version)
        pending = []
        for article_id, (summary_id, state) in sorted(summaries.items()):
            # Counted before anything of this run is summarised: done now means done by an earlier run.
            if state == "done" and article_id not in self._counted_skipped:
                self._counted_skipped.add(article_id)
                self.counters.skipped += 1
            elif state == "pending":
                pending.append((summary_id, article_id))
        return pending

    def finish_ingest(self) -> None:
        """The whole inbox is in, every new article in its event: the run's row and the display are told."""
        self._grouper()  # an empty inbox still places what an older run left without an event
        self.flush(force=True)
        self.notify("ingested")

    def _ingest_chunk(self, items: list[Item]) -> None:
        docs = [item.document for item in items if item.document is not None]
        known = self.store.known_hashes([d.sha256 for d in docs])
        grouper = self._grouper()
        # The CPU work and the reads first, outside the transaction: while workers run, they wait for its lock.
        fresh: dict[str, _Fresh] = {}
        for doc in docs:
            if doc.sha256 not in known and doc.sha256 not in fresh:
                fresh[doc.sha256] = _Fresh(dedupe.sketch(doc.text), events.terms(doc.title, doc.text))
        self._find_duplicates(fresh)
        counted = [new.terms for new in fresh.values() if new.duplicate_of is None]
        now = time.time()
        start = len(self._inbox_ids)
        try:
            vectors = iter(grouper.count(counted))  # in inbox order, as the loop below places them
            with self.store.transaction():
                for item in items:
                    self.counters.seen += 1
                    if item.document is None:
                        self.counters.input_errors += 1
                        self.store.add_input_error(item.origin, item.error or "unreadable", self.run_id)
                        continue
                    doc = item.document
                    article_id = known.get(doc.sha256)
                    if article_id is not None:
                        self.store.add_sighting(article_id, doc.origin, self.run_id)
                        self._inbox_ids.append(article_id)
                        continue
                    article_id = self.store.add_article(doc, seen_at=now, run_id=self.run_id)
                    known[doc.sha256] = article_id
                    self._inbox_ids.append(article_id)
                    self.counters.new += 1
                    new = fresh[doc.sha256]
                    published = parse_time(doc.published)
                    at = now if published is None else published
                    if new.duplicate_of is not None:
                        of = new.duplicate_of if isinstance(new.duplicate_of, int) else known[new.duplicate_of]
                        self.store.mark_duplicate(article_id, of, new.similarity)
                        self.counters.duplicates += 1
                        grouper.place_copy(
                            article_id, of, title=doc.title, text=doc.text, at=at, dated=published is not None
                        )
                    else:
                        prefix = new.sketch[: dedupe.INDEXED_PREFIX]
                        self.store.set_sketch(article_id, dedupe.pack(new.sketch), prefix)
                        grouper.place(article_id, next(vectors), at=at, dated=published is not None, label=doc.title)
                self.store.add_doc_freq(counted)
                grouper.save()
                self.store.queue_summaries(
                    self._inbox_ids[start:], model=self.model, prompt_version=self.prompt_version, run_id=self.run_id
                )
        except BaseException:
            grouper.forget()  # what it counted and placed was rolled back
            raise
        self.notify("ingest")

    def _grouper(self) -> Grouper:
        """The run's event grouping, made with its first chunk: articles an older run left without an event first."""
        if self._events is None:
            window = self.config.event_window_days * 86400.0
            grouper = Grouper(self.store, threshold=self.config.event_threshold, window=window, run_id=self.run_id)
            grouper.place_leftovers()
            self._events = grouper
        return self._events

    def _find_duplicates(self, fresh: dict[str, _Fresh]) -> None:
        """Decide which of a chunk's new articles (in inbox order) are near-duplicates, of a stored
        canonical article or of an earlier one in the chunk, as if each were stored before the next
        is looked at. Reads only: the parent is the one process that adds articles."""
        canonical: list[tuple[str, tuple[int, ...]]] = []  # this chunk's, in order: ids above every stored one
        for sha, new in fresh.items():
            prefix = new.sketch[: dedupe.INDEXED_PREFIX]
            stored = self.store.sketch_candidates(prefix, min(dedupe.MIN_SHARED, len(prefix)))
            # Oldest first: the stored ones by ID, then this chunk's (ties go to the first given).
            candidates: list[tuple[int | str, Sequence[int]]] = [
                (article_id, dedupe.unpack(packed)) for article_id, packed in sorted(stored)
            ]
            candidates += [
                (earlier, sketch) for earlier, sketch in canonical if dedupe.shares_index(new.sketch, sketch)
            ]
            found = dedupe.most_similar(new.sketch, candidates, self.config.duplicate_threshold)
            if found is None:
                canonical.append((sha, new.sketch))
            else:
                new.duplicate_of, new.similarity = found

    # -- planning ----------------------------------------------------------------------------
    def leftovers(self) -> list[WorkItem]:
        """Pending summaries, after re-queueing the failures to retry."""
        self.store.requeue_failed(
            model=self.model, prompt_version=self.prompt_version, include_permanent=self.config.retry_failed
        )
        return self.pending()

    def pending(self, *, summary_ids: list[int] | None = None) -> list[WorkItem]:
        """Pending summaries of this run's model and prompts, with their articles (only ``summary_ids``)."""
        return self.store.pending(model=self.model, prompt_version=self.prompt_version, summary_ids=summary_ids)

    def plan(self) -> Plan:
        """What this run has to do: pending summaries (after re-queueing retryable failures) and stale briefs."""
        work = self.leftovers()
        waiting = Counter(item.event_id for item in work if item.event_id is not None)
        self.counters.queued = len(work)
        briefs = self.stale_briefs(skip=waiting) if self.config.briefs else []
        self.counters.briefs_queued = len(briefs)
        return Plan(summaries=work, briefs=briefs, waiting=dict(waiting))

    def brief_job(self, event_id: int) -> BriefJob | None:
        """The brief this event needs, if its summarised members changed since its last brief."""
        if event_id in self._briefed:
            return None
        members = self.store.done_members(event_id, model=self.model, prompt_version=self.prompt_version)
        job = self._brief_over(event_id, members)
        if job is None or self.store.has_brief(
            event_id, model=self.model, prompt_version=self.prompt_version, digest=job.digest
        ):
            return None
        return job

    def stale_briefs(self, skip: Container[int] = ()) -> list[BriefJob]:
        """:meth:`brief_job` of every event in the store but those in ``skip``, in event order: two
        queries, however many events the store has kept."""
        members = self.store.done_members_by_event(model=self.model, prompt_version=self.prompt_version)
        done = self.store.brief_digests(model=self.model, prompt_version=self.prompt_version)
        jobs = []
        for event_id in sorted(members):
            if event_id in skip or event_id in self._briefed:
                continue
            job = self._brief_over(event_id, members[event_id])
            if job is not None and (event_id, job.digest) not in done:
                jobs.append(job)
        return jobs

    def _brief_over(self, event_id: int, members: list[int]) -> BriefJob | None:
        """The brief of ``event_id`` over its latest summarised ``members``, if there are enough of them."""
        members = members[-self.config.max_brief_articles :]
        if len(members) < max(self.config.min_event_articles, 1):
            return None
        return BriefJob(event_id, tuple(members), members_digest(members))

    # -- execution ---------------------------------------------------------------------------
    def run_inbox(self, items: Iterable[Item], ready: Callable[[], Provider]) -> None:
        """Ingest ``items`` and do what they bring. ``ready()`` returns the provider ready to use (starting
        an embedded server, say); it is called once, when there is work, and never when there is none.

        With several workers (Linux), the two overlap: the workers summarise each ingested chunk
        while the next is read, and events are briefed once the whole inbox is grouped (see
        :func:`summarizer.batch.workers.stream`). In one process: :meth:`ingest`, :meth:`plan`, :meth:`run`.
        """
        if self._parallel():
            parallel.stream(self, ready, self.config.workers, items=items)
            return
        self.ingest(items)
        if plan := self.plan():
            self.run(plan, ready())

    def run(self, plan: Plan, provider: Provider) -> None:
        """Execute ``plan``: in this process, or in ``config.workers`` forked processes (Linux).
        SIGTERM stops it like Ctrl-C (the caller sees KeyboardInterrupt or CancelledError)."""
        if self._parallel() and len(plan.summaries) + len(plan.briefs) > 1:
            parallel.stream(self, lambda: provider, self.config.workers, leftovers=plan.summaries)
        else:
            asyncio.run(self.execute_cancellable(plan, provider))

    def _parallel(self) -> bool:
        return min(self.config.workers, self.config.concurrency) > 1 and parallel.supported()

    def prepare_requests(self, provider: Provider) -> None:
        """Build what the first calls need (the summary's request shape, the segmenter's rules) before
        they are made: a worker process does it as it starts, before it reads its first job, with
        instructor's handlers already imported by its parent. (The brief's shape, a few
        milliseconds, is built with the first brief.)"""
        from summarizer.ask import prepare
        from summarizer.schemas import ArticleExtraction
        from summarizer.schemas.llm import scoped
        from summarizer.segment import segment

        prepare(provider.mode, [scoped(ArticleExtraction, ["s1"])])
        segment("Warm-up. The segmenter builds its rules on first use.")

    async def execute_cancellable(self, plan: Plan, provider: Provider, feed: Feed | None = None) -> None:
        """:meth:`execute`, cancelled by SIGTERM (e.g. a scheduler's timeout) as Ctrl-C would."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await self.execute(plan, provider, feed)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGTERM)

    async def execute(self, plan: Plan, provider: Provider, feed: Feed | None = None) -> None:
        """Run the plan, and what ``feed`` brings until it ends, with ``config.concurrency`` requests in
        flight against a ready ``provider``; return when all is done.

        The client is built here, in the process that runs the plan (a worker builds its own
        after the fork), with no transport retries: the retry policy is the only one, and every
        attempt passes the rate limiter. Its requests go out from an I/O thread of their own
        (:class:`summarizer.transport.ThreadedTransport`), so an answer the server has sent frees
        its slot at once, not when this loop is done with other articles' CPU work.
        """
        client = provider.batch_client(self.config.concurrency)
        try:
            await self._execute(plan, client, feed)
        finally:
            await client.close()

    async def _execute(self, plan: Plan, client: ModelClient, feed: Feed | None = None) -> None:
        self._client = client
        self._limiter = RateLimiter(
            self.config.requests_per_minute, self.config.tokens_per_minute, clock=self._clock, sleep=self._sleep
        )
        self._waiting = dict(plan.waiting)
        self._rejected_in_a_row = 0
        self._queue: asyncio.PriorityQueue[tuple[int, int, Any]] = asyncio.PriorityQueue()
        self._sequence = 0
        for job in plan.briefs:
            self._enqueue_brief(job, count=False)
        for item in plan.summaries:
            self._enqueue(item)
        # More tasks than requests in flight: while the server holds ``concurrency`` requests, the
        # others segment their next article or validate, ground and store an answer.
        tasks = self.config.concurrency + max(self.config.concurrency // 2, 1)
        workers = [asyncio.create_task(self._worker()) for _ in range(tasks)]
        joiner = asyncio.create_task(self._drain(feed))
        ticker = asyncio.create_task(self._tick())
        try:
            await asyncio.wait([joiner, *workers], return_when=asyncio.FIRST_COMPLETED)
            for worker in workers:
                if worker.done() and not worker.cancelled() and worker.exception() is not None:
                    raise worker.exception()  # type: ignore[misc]
        finally:
            # Halted first: as each cancelled request frees its slot, one waiting for the slot would
            # otherwise go out before its own cancellation arrives (a request sent after Ctrl-C, or
            # after another worker's refusal stopped the batch).
            client.halt()
            for task in (joiner, ticker, *workers):
                task.cancel()
            await asyncio.gather(joiner, ticker, *workers, return_exceptions=True)
            self.counters.in_flight = client.in_flight
            self.flush(force=True)

    async def _drain(self, feed: Feed | None) -> None:
        """Returns once the queue is empty and, with a ``feed``, the feed has ended."""
        if feed is not None:
            async for job in feed:
                if isinstance(job, BriefJob):
                    self._enqueue_brief(job, count=False)
                else:
                    self._enqueue(job)
        await self._queue.join()

    async def _tick(self) -> None:
        """A heartbeat for the progress display, which refreshes from this thread (no display thread)."""
        while True:
            await asyncio.sleep(parallel.REPORT_EVERY)
            self.counters.in_flight = self._client.in_flight
            self.notify("tick")

    def _enqueue(self, job: WorkItem | BriefJob) -> None:
        """Queue a job: summaries before briefs, each kind first come first served. A brief waits for
        summaries and nothing waits for a brief, so the summaries an event's brief waits for go first
        and briefs fill the slots they leave. (Briefs first held the last summaries back, and with them
        the last events' briefs: 0.08 s of a 3.9 s benchmark.)"""
        self._sequence += 1
        self._queue.put_nowait((int(isinstance(job, BriefJob)), self._sequence, job))

    def _enqueue_brief(self, job: BriefJob, *, count: bool = True) -> None:
        self._briefed.add(job.event_id)
        if count:
            self.counters.briefs_queued += 1
        self._enqueue(job)

    async def _worker(self) -> None:
        while True:
            _, _, job = await self._queue.get()
            try:
                if isinstance(job, BriefJob):
                    await self._brief(job)
                else:
                    await self._summarize(job)
            finally:
                self._queue.task_done()

    async def _attempts(
        self, call: Callable[[], Awaitable[Any]], estimate: int, before: Callable[[], None] | None = None
    ) -> Any:
        """``call`` under the retry policy, each attempt through the rate limiter. Raises TransientFault
        when out of attempts, PermanentFailure for an answer retrying cannot fix, ProviderError to stop the batch."""

        def on_retry(state: Any) -> None:
            self.counters.retries += 1
            self.notify("retry")

        async for attempt in self.config.retry.retrying(sleep=self._sleep, before_sleep=on_retry):
            with attempt:
                if before is not None:
                    before()
                await self._limiter.acquire(estimate)
                try:
                    answer = await call()
                except (ProviderError, ModelOutputError) as exc:
                    self._limiter.settle(estimated_tokens=estimate, actual_tokens=0)
                    fault = classify(exc)
                    if fault is None:
                        raise PermanentFailure(str(exc)) from exc
                    if fault.kind == "bad_request":
                        # This article's request (too long for the model, say): its failure, not the batch's,
                        # unless every request is rejected alike.
                        self._rejected_in_a_row += 1
                        if self._rejected_in_a_row < REJECTED_IN_A_ROW:
                            raise PermanentFailure(f"the model server rejected the request: {fault.message}") from exc
                        self._client.halt()
                        raise ProviderError(
                            f"the model server rejected {self._rejected_in_a_row} requests in a row: {fault.message}"
                        ) from exc
                    if not fault.retryable:
                        self._client.halt()  # the tasks waiting for a slot must not send another request
                        raise ProviderError(f"the model server refused the request: {fault.message}") from exc
                    if fault.kind == "rate_limited" and fault.retry_after:
                        self._limiter.pause(min(fault.retry_after, self.config.retry.max_retry_after))
                    raise TransientFault(fault) from exc
                self._rejected_in_a_row = 0
                return answer
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    def _account(self, stats: Any, estimate: int) -> None:
        self.counters.calls += stats.calls
        self.counters.prompt_tokens += stats.prompt_tokens
        self.counters.completion_tokens += stats.completion_tokens
        self._limiter.settle(
            estimated_tokens=estimate,
            actual_tokens=stats.prompt_tokens + stats.completion_tokens,
            extra_requests=stats.calls - 1,
        )

    async def _summarize(self, item: WorkItem) -> None:
        from summarizer.schemas import ArticleSummary
        from summarizer.segment import Article, segment
        from summarizer.summarize import summarize_article, summary_messages

        article = Article(id=f"a{item.article_id}", doc=item.document, sentences=tuple(segment(item.document.text)))
        estimate = estimate_tokens(summary_messages(article, self.prompts), self.settings.max_tokens)
        status, error, kind, result = "failed", None, None, None
        stats: dict[str, Any] = {}
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1

        async def call() -> ArticleSummary:
            return await summarize_article(
                article, client=self._client, model=self.model, prompts=self.prompts, settings=self.settings
            )

        try:
            summary: ArticleSummary = await self._attempts(call, estimate, before=attempt)
        except TransientFault as exc:
            error, kind = f"gave up after {self.config.retry.attempts} attempt(s): {exc.fault.message}", "transient"
        except PermanentFailure as exc:
            error, kind = str(exc), "permanent"
        else:
            self._account(summary.stats, estimate)
            stats = summary.stats.model_dump()
            if summary.status == "ok":
                status, result = "done", summary.model_dump_json()
            else:
                error, kind = summary.error or "no usable answer", "permanent"
        spans = json.dumps([[s.start, s.end, int(s.citable)] for s in article.sentences])
        recorded = await self._write(
            lambda wait: self.store.finish_summary(
                item.summary_id,
                status=status,
                result=result,
                error=error,
                error_kind=kind,
                stats=stats,
                run_id=self.run_id,
                article_id=item.article_id,
                sentences=spans,
                attempts=attempts,
                wait=wait,
            )
        )
        if recorded and status == "done":
            self.counters.summarized += 1
        elif recorded:
            self.counters.failed += 1
            log.info("a%d (%s): %s", item.article_id, item.document.origin, error)
            self.notify("failure")
        if self.finished is not None:
            self.finished.append(("summary", item.summary_id))
        self.notify("article")
        self.flush()
        if item.event_id is not None and self.finished is None:
            left = self._waiting.get(item.event_id, 1) - 1
            self._waiting[item.event_id] = left
            if left <= 0 and self.config.briefs and (job := self.brief_job(item.event_id)) is not None:
                self._enqueue_brief(job)

    async def _write(self, write: Callable[[bool], bool]) -> bool:
        """``write(wait)``, a result's transaction, from the event loop: while another connection (the
        other workers, the ingest) holds the store's lock, this loop goes on with other answers and
        tries again about every millisecond (asyncio's timers count whole milliseconds), rather than
        sleeping in ``Store._begin`` with every answer waiting on it (measured: a worker waited
        320-370 ms of a 3.5 s run to begin its 500 writes). Past BUSY_TIMEOUT it waits as any write
        does, and fails as any write does. Cancelled meanwhile (Ctrl-C, SIGTERM, another task's
        refusal), it stores the answer it holds, waiting for the lock, before it stops: the answer is
        paid for, and its calls are already counted."""
        deadline = time.monotonic() + BUSY_TIMEOUT
        try:
            while time.monotonic() < deadline:
                try:
                    return write(False)
                except LockBusy:
                    await asyncio.sleep(BUSY_POLL)
        except asyncio.CancelledError:
            write(True)
            raise
        return write(True)

    async def _brief(self, job: BriefJob) -> None:
        from summarizer.brief import BriefParts, build_brief
        from summarizer.schemas import ArticleSummary
        from summarizer.segment import Article

        rows = {
            int(r["id"]): r
            for r in self.store.event_members(job.event_id, model=self.model, prompt_version=self.prompt_version)
        }
        members = [rows[i] for i in job.members if i in rows and rows[i]["summary"]]
        articles = [Article(id=f"a{int(r['id'])}", doc=document_of(r), sentences=()) for r in members]
        summaries = [ArticleSummary.model_validate_json(r["summary"]) for r in members]
        estimate = self.settings.max_tokens + sum(len(f.text) + 16 for s in summaries for f in s.facts) // 4 + 400

        async def call() -> BriefParts:
            return await build_brief(
                articles,
                summaries,
                client=self._client,
                model=self.model,
                prompts=self.prompts,
                settings=self.settings,
            )

        kind: str | None = None
        try:
            parts: BriefParts = await self._attempts(call, estimate)
        except TransientFault as exc:
            parts = BriefParts(error=f"gave up after {self.config.retry.attempts} attempt(s): {exc.fault.message}")
            kind = "transient"
        except PermanentFailure as exc:
            parts, kind = BriefParts(error=str(exc)), "permanent"
        else:
            self._account(parts.stats, estimate)
            kind = "permanent" if parts.error else None
        result = None if parts.error else parts_json(parts)
        recorded = await self._write(
            lambda wait: self.store.save_brief(
                job.event_id,
                model=self.model,
                prompt_version=self.prompt_version,
                members=list(job.members),
                digest=job.digest,
                status="failed" if parts.error else "done",
                error=parts.error,
                error_kind=kind,
                result=result,
                stats=parts.stats.model_dump(),
                run_id=self.run_id,
                wait=wait,
            )
        )
        if recorded and not parts.error:
            self.counters.briefs += 1
        elif recorded:
            self.counters.briefs_failed += 1
            log.info("event %d brief: %s", job.event_id, parts.error)
        if self.finished is not None:
            self.finished.append(("brief", job.event_id))
        self.notify("brief")
        self.flush()


def parts_json(parts: BriefParts) -> str:
    """BriefParts (a dataclass of pydantic models) as JSON; :func:`parts_from_json` reads it back."""
    lists = ("overview", "consensus", "discrepancies", "timeline", "dropped")
    data: dict[str, Any] = {name: [item.model_dump(mode="json") for item in getattr(parts, name)] for name in lists}
    data["stats"] = parts.stats.model_dump(mode="json")
    data["error"] = parts.error
    return json.dumps(data)


def parts_from_json(text: str) -> BriefParts:
    from summarizer.brief import BriefParts
    from summarizer.schemas import BriefClaim, CallStats, DiscrepancyOut, Dropped, TimelineEntry

    data = json.loads(text)
    return BriefParts(
        overview=[BriefClaim.model_validate(x) for x in data.get("overview", [])],
        consensus=[BriefClaim.model_validate(x) for x in data.get("consensus", [])],
        discrepancies=[DiscrepancyOut.model_validate(x) for x in data.get("discrepancies", [])],
        timeline=[TimelineEntry.model_validate(x) for x in data.get("timeline", [])],
        dropped=[Dropped.model_validate(x) for x in data.get("dropped", [])],
        stats=CallStats.model_validate(data.get("stats", {})),
        error=data.get("error"),
    )
