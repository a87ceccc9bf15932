"""Run a batch in several processes: one asyncio executor per CPU, sharing the store through SQLite.

One Python process spends a few milliseconds of CPU on each model call (segmentation, the
HTTP client, validation, grounding). At low latency and high concurrency that, not the
server, bounds the batch: 32 calls in flight at 100 ms leave about 3 ms of CPU per call.
With ``workers > 1`` the work runs in forked children, each with its part of the concurrency
and of the rate limits, on its own connection to the store.

- **The parent hands out the work as it becomes known** (:func:`stream`). It reads the inbox
  in short chunks (growing ones while nothing is being worked on: known articles, say) and
  sends each chunk's summaries to the least busy worker over a job pipe, so the first
  requests go out while the rest of the inbox is still being read. Each article
  joins its event as it is stored; once every article is in (until then an event may still
  grow), an event's brief goes out as soon as its last member is reported finished.
- **Workers start with the first work.** An inbox with nothing new forks nothing and does
  not start the provider (an embedded server, say).
- **The parent owns the run.** Children send their counters and the jobs they finished
  through a pipe; the parent adds them up for the progress display and the runs table.
- **Crash safety is the store's:** each ingested chunk and each result is its own
  transaction, and children die with the parent (``PR_SET_PDEATHSIG``), so a batch killed
  with ``kill -9`` leaves nothing running that could write after it. Ctrl-C or SIGTERM in the
  parent reaches each child as SIGTERM; the child cancels its work (unfinished articles stay
  pending) and exits.
- **Linux only** (``fork`` and ``prctl``). Elsewhere, one process.

Forking is safe here because nothing else runs at that moment. The parent has no threads (the
progress display refreshes from the main thread), no event loop and no open transaction.
Each child opens its own SQLite connection and never touches the one it inherited.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import os
import selectors
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from summarizer.batch import BatchError
from summarizer.errors import ProviderError

if TYPE_CHECKING:
    from summarizer.batch.inbox import Item
    from summarizer.batch.runner import Batch, BriefJob, Counters
    from summarizer.batch.store import WorkItem
    from summarizer.providers import Provider

REPORT_EVERY = 0.1
"""Seconds between a child's counter reports (and the parent's display refreshes)."""

REPORT_FINISHED_WITHIN = 0.005
"""Seconds a child may hold a finished job before it reports it, with the others finished meanwhile:
one report per answer cost the child a JSON line and a write, and the parent a wake-up, each time."""


def supported() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


SWITCH_INTERVAL = 0.001
"""A worker's GIL switch interval, seconds (see ``_child``)."""

STREAM_CHUNK = 5
"""Inbox items per ingest transaction while workers run: short, since the workers' writes wait for each one."""

BACKLOG_PER_SLOT = 2
"""While the workers have this many jobs per request slot handed out and not finished, the parent
reads no further (see ``_Dispatcher.keep_pace``)."""


def stream(
    batch: Batch,
    ready: Callable[[], Provider],
    workers: int,
    *,
    items: Iterable[Item] | None = None,
    leftovers: list[WorkItem] | None = None,
) -> None:
    """Do a batch's work in up to ``workers`` forked processes, handing it out as it becomes known.

    With ``items`` (an inbox), the store's leftovers (pending from an interrupted run, failures
    to retry) go out first, then each ingested chunk's summaries while the next chunk is read;
    once every item is in (each joins its event as it is stored), each event whose members are
    all finished is briefed. Without, ``leftovers`` (a plan's summaries) go out and then the stale briefs.

    No worker is forked, and ``ready`` not called, until there is work: an inbox with nothing
    new starts nothing. The parent owns the run's row and hands out every job; the workers
    commit each result, one transaction each.
    """
    dispatcher = _Dispatcher(batch, ready, workers)
    try:
        try:
            if items is None:
                dispatcher.summaries([(item.summary_id, item.article_id) for item in leftovers or []])
            else:
                dispatcher.summaries([(item.summary_id, item.article_id) for item in batch.leftovers()])
                for chunk in _chunks(items, batch, dispatcher.busy):
                    dispatcher.summaries(batch.ingest_chunk(chunk))
                    dispatcher.keep_pace()
                batch.finish_ingest()
            dispatcher.events_known()
            dispatcher.drain()
        except _Failed:
            dispatcher.stop()
        except BaseException:
            dispatcher.stop()
            raise
    finally:
        statuses = dispatcher.close()
    _raise_for(dispatcher.errors, statuses)


def _chunks(items: Iterable[Item], batch: Batch, busy: Callable[[], bool]) -> Iterator[list[Item]]:
    """The inbox in chunks, one ingest transaction each: STREAM_CHUNK items while work is out.

    Short transactions are for the workers waiting on the store's lock. With nothing being worked
    on (articles earlier runs stored, say) they only cost: then each chunk is twice as long as the
    one before, up to INGEST_CHUNK, and ends before its first new article, so that article's
    work goes out as soon as it would have.
    """
    from summarizer.batch.runner import INGEST_CHUNK

    rest, size = iter(items), STREAM_CHUNK
    ahead: list[Item] = []
    while True:
        ahead += itertools.islice(rest, max(size - len(ahead), 0))
        if not ahead:
            return
        cut = min(size, len(ahead))
        if cut > STREAM_CHUNK:
            docs = [item.document for item in ahead[:cut]]
            known = batch.store.known_hashes([doc.sha256 for doc in docs if doc is not None])
            first_new = next((n for n, doc in enumerate(docs) if doc is not None and doc.sha256 not in known), cut)
            cut = max(first_new, STREAM_CHUNK)
        chunk, ahead = ahead[:cut], ahead[cut:]
        yield chunk
        size = STREAM_CHUNK if busy() else min(size * 2, INGEST_CHUNK)


class _Failed(Exception):
    """A worker reported an error or died: the others are stopped, and the error raised once all are reaped."""


@dataclass
class _Worker:
    pid: int
    reports: int
    """Read end of the child's report pipe; -1 once closed."""
    jobs: int
    """Write end of its job pipe (non-blocking); -1 once closed."""
    outbox: bytes = b""
    partial: bytes = b""
    open: int = 0
    """Jobs sent and not reported finished."""


class _Dispatcher:
    """The parent's side of a run in workers: forks them when work comes, gives each job to the least
    busy, reads their reports, and briefs each event once events are known and its members finished."""

    def __init__(self, batch: Batch, ready: Callable[[], Provider], most: int) -> None:
        self.batch = batch
        self.ready = ready
        self.provider: Provider | None = None
        self.most = most
        self.concurrency = _spread(batch.config.concurrency, most)
        self.pool: list[_Worker] = []
        self.own = batch.counters
        """The parent's counters (ingest, jobs handed out); the workers' are added to them for display."""
        self.own.queued = self.own.briefs_queued = 0
        self.latest: dict[int, Counters] = {}
        self.errors: list[dict[str, Any]] = []
        self.article_of: dict[int, int] = {}
        """Summary ID -> article ID, of every summary handed out."""
        self.unfinished: set[int] = set()
        """Articles handed out and not reported finished."""
        self.waiting: dict[int, set[int]] | None = None
        """Per event, its unfinished members; None until events are known."""
        self.event_of: dict[int, int] = {}
        self.shown = 0.0

    # -- handing out -----------------------------------------------------------------------------
    def summaries(self, work: list[tuple[int, int]]) -> None:
        """Hand out pending summaries, given as (summary ID, article ID)."""
        work = [(summary_id, article_id) for summary_id, article_id in work if summary_id not in self.article_of]
        if not work:
            return
        self._grow(len(self.article_of) + len(work))
        shares: dict[int, list[int]] = {}
        for summary_id, article_id in work:
            worker = min(self._alive(), key=lambda w: w.open + len(shares.get(w.pid, ())))
            shares.setdefault(worker.pid, []).append(summary_id)
            self.article_of[summary_id] = article_id
            self.unfinished.add(article_id)
        for worker in self._alive():
            if ids := shares.get(worker.pid):
                self._send(worker, {"summaries": ids}, len(ids))
        self.own.queued += len(work)

    def brief(self, event_id: int) -> None:
        if self.batch.config.briefs and (job := self.batch.brief_job(event_id)) is not None:
            self._send_brief(job)

    def _send_brief(self, job: BriefJob) -> None:
        self._grow(len(self.article_of) + 1)
        worker = min(self._alive(), key=lambda w: w.open)
        self._send(worker, {"brief": {"event_id": job.event_id, "members": job.members, "digest": job.digest}}, 1)
        self.own.briefs_queued += 1

    def events_known(self) -> None:
        """Every article is in an event now: brief those with no member left to finish."""
        self.waiting = {}
        for article_id, event_id in self.batch.store.events_of(sorted(self.unfinished)).items():
            self.event_of[article_id] = event_id
            self.waiting.setdefault(event_id, set()).add(article_id)
        if self.batch.config.briefs:
            for job in self.batch.stale_briefs(skip=self.waiting):
                self._send_brief(job)

    def _finished(self, worker: _Worker, kind: str, ident: int) -> None:
        worker.open -= 1
        if kind != "summary":
            return
        article_id = self.article_of[ident]
        self.unfinished.discard(article_id)
        if self.waiting is None or (event_id := self.event_of.get(article_id)) is None:
            return
        members = self.waiting[event_id]
        members.discard(article_id)
        if not members:
            del self.waiting[event_id]
            self.brief(event_id)

    def keep_pace(self) -> None:
        """Between two steps of the parent's own work: hand out what is ready, read the reports, and
        wait while the workers have plenty to do (on a machine with few CPUs, reading the inbox faster
        than the workers can use it only takes CPU from them)."""
        self.pump(0)
        backlog = BACKLOG_PER_SLOT * self.batch.config.concurrency
        while self.pool and sum(worker.open for worker in self._alive()) > backlog:
            self.pump(REPORT_EVERY)

    def busy(self) -> bool:
        """Whether a worker has a job it has not reported finished."""
        return any(worker.open > 0 for worker in self.pool)

    def _send(self, worker: _Worker, message: dict[str, Any], jobs: int) -> None:
        worker.outbox += json.dumps(message).encode() + b"\n"
        worker.open += jobs

    def _alive(self) -> list[_Worker]:
        alive = [worker for worker in self.pool if worker.jobs >= 0]
        if not alive:
            raise _Failed
        return alive

    # -- workers -----------------------------------------------------------------------------------
    def _grow(self, jobs: int) -> None:
        """Fork workers, up to ``most``, until there is one per job handed out."""
        while len(self.pool) < min(self.most, jobs):
            if self.provider is None:
                from summarizer.ask import load_handlers
                from summarizer.providers import load_prctl

                self.provider = self.ready()
                # instructor's handlers imported once, here, rather than by each worker as it starts: the
                # workers share them, and the other CPU is free meanwhile (measured: the first request
                # 10-30 ms sooner). Each worker still builds its request shapes, in parallel.
                load_handlers(self.provider.mode)
                load_prctl()  # what each worker calls first (die_with_parent): loaded here, once
                # Everything alive now (imported modules, the store) lives as long as the children:
                # frozen, the cycle collector skips it. Otherwise a full collection walks it all,
                # about 100 ms during which a child's event loop, and every request it holds, stands still.
                gc.freeze()
            self.pool.append(self._fork(len(self.pool)))

    def _fork(self, n: int) -> _Worker:
        report_read, report_write = os.pipe()
        jobs_read, jobs_write = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(report_read)
                os.close(jobs_write)
                for sibling in self.pool:  # the siblings' pipes are not this child's to hold open
                    os.close(sibling.reports)
                    if sibling.jobs >= 0:
                        os.close(sibling.jobs)
                assert self.provider is not None
                share = self.concurrency[n]
                code = _child(self.batch, self.provider, share, self.most, report_write, jobs_read, parent)
            finally:
                os._exit(code)
        os.close(report_write)
        os.close(jobs_read)
        os.set_blocking(jobs_write, False)
        return _Worker(pid, report_read, jobs_write)

    def pump(self, timeout: float) -> None:
        """Send what waits for the workers and read their reports, waiting up to ``timeout`` seconds."""
        with selectors.DefaultSelector() as selector:
            for worker in self.pool:
                if worker.reports >= 0:
                    selector.register(worker.reports, selectors.EVENT_READ, worker)
                if worker.jobs >= 0 and worker.outbox:
                    selector.register(worker.jobs, selectors.EVENT_WRITE, worker)
            if not selector.get_map():
                return
            for key, mask in selector.select(timeout=timeout):
                if mask & selectors.EVENT_WRITE:
                    self._write(key.data)
                else:
                    self._read(key.data)
        self._show()
        if self.errors:
            raise _Failed

    def _write(self, worker: _Worker) -> None:
        try:
            worker.outbox = worker.outbox[os.write(worker.jobs, worker.outbox) :]
        except BlockingIOError:
            pass
        except OSError:  # the child is gone; its report pipe's end and its exit status tell why
            worker.outbox = b""

    def _read(self, worker: _Worker) -> None:
        from summarizer.batch.runner import Counters

        data = os.read(worker.reports, 1 << 16)
        if not data:
            os.close(worker.reports)
            worker.reports = -1
            if worker.jobs >= 0:  # gone before it was told there is no more work: died, or failed
                self.errors.append({"died": worker.pid})
            return
        *lines, worker.partial = (worker.partial + data).split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "counters" in message:
                self.latest[worker.pid] = Counters(**message["counters"])
            for kind, ident in message.get("finished", ()):
                self._finished(worker, kind, int(ident))
            if "error" in message:
                self.errors.append(message)

    def _show(self, *, force: bool = False) -> None:
        """The workers' counters added to the parent's, for the progress display and the run's row."""
        now = time.monotonic()
        if not force and now - self.shown < REPORT_EVERY:
            return
        self.shown = now
        self.batch.counters = _total(self.own, self.latest.values())
        try:
            self.batch.notify("tick")
            self.batch.flush(force=force)
        finally:
            self.batch.counters = self.own

    def drain(self) -> None:
        """Wait for every job handed out, then tell the workers there is no more and wait for them to end."""
        while any(worker.open > 0 for worker in self._alive()):
            self.pump(REPORT_EVERY)
        for worker in self.pool:
            self._close_jobs(worker)
        while any(worker.reports >= 0 for worker in self.pool):
            self.pump(REPORT_EVERY)

    def _close_jobs(self, worker: _Worker) -> None:
        if worker.jobs < 0:
            return
        with contextlib.suppress(OSError):
            os.set_blocking(worker.jobs, True)
            if worker.outbox:
                os.write(worker.jobs, worker.outbox)
        os.close(worker.jobs)
        worker.jobs, worker.outbox = -1, b""

    def stop(self) -> None:
        _stop([worker.pid for worker in self.pool])

    def close(self) -> list[int]:
        """Reap the workers (killing any that outstay the grace period); their wait statuses."""
        for worker in self.pool:
            self._close_jobs(worker)
            if worker.reports >= 0:
                os.close(worker.reports)
                worker.reports = -1
        statuses = _reap([worker.pid for worker in self.pool])
        if self.provider is not None:
            gc.unfreeze()  # the parent goes on (and may run again): its garbage is collectable again
        self.batch.counters = _total(self.own, self.latest.values())
        self.batch.counters.in_flight = 0
        self.batch.flush(force=True)
        return statuses


def _raise_for(errors: list[dict[str, Any]], statuses: list[int]) -> None:
    """A worker's error, or the way one died, as the batch's."""
    for error in errors:
        if error.get("provider"):
            raise ProviderError(str(error["error"]))
    if reported := [error for error in errors if "error" in error]:
        raise BatchError(f"a batch worker failed: {reported[0]['error']}")
    if died := [status for status in statuses if status != 0]:
        # Killed from outside (the OOM killer, say): its unfinished articles are still pending.
        raise BatchError(f"a batch worker died ({_describe_status(died[0])}); run the batch again to finish")
    if errors:
        raise BatchError("a batch worker ended before its work was done; run the batch again to finish")


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def _total(base: Counters, parts: Any) -> Counters:
    total = replace(base)
    for part in parts:
        for f in fields(total):
            setattr(total, f.name, getattr(total, f.name) + getattr(part, f.name))
    return total


def _stop(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _reap(pids: list[int], grace: float = 15.0) -> list[int]:
    """Wait for the children and return their wait statuses; any still running after ``grace`` s is killed."""
    deadline = time.monotonic() + grace
    statuses = []
    for pid in pids:
        pause = 0.0005  # a worker that has closed its pipes is usually gone within milliseconds
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if done:
                statuses.append(status)
                break
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(pause)
            pause = min(pause * 2, 0.01)
    return statuses


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


# -- in the child ------------------------------------------------------------------------------
def _child(
    batch: Batch, provider: Provider, concurrency: int, workers: int, write_end: int, jobs: int, parent: int
) -> int:
    """Do the jobs the parent sends on the pipe ``jobs`` until it closes it, in this forked child;
    the exit code is 0 when it ran to the end."""
    from summarizer.batch.runner import Counters, Plan
    from summarizer.batch.store import Store
    from summarizer.providers import die_with_parent

    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sends SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent(signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            return 1
        # The I/O thread sends and reads while this thread segments, validates and grounds: it waits
        # for the GIL up to the switch interval, 5 ms by default, with each answer it reads (and, as
        # a worker starts, with its first requests, behind a burst of segmenting). 1 ms bounds that.
        sys.setswitchinterval(SWITCH_INTERVAL)
        batch.finished = []
        reporter = _Reporter(write_end, batch.finished)
        config = batch.config
        batch.config = replace(
            config,
            concurrency=concurrency,
            requests_per_minute=config.requests_per_minute / workers if config.requests_per_minute else None,
            tokens_per_minute=config.tokens_per_minute / workers if config.tokens_per_minute else None,
        )
        batch.counters = Counters()
        batch.owns_run = False
        batch.progress = reporter
        with Store(batch.store.path) as store:  # the inherited connection is the parent's: left untouched
            batch.store = store
            try:
                # Each worker builds its request shapes (pydantic models, ~30 ms) as it starts: the workers
                # in parallel, while the parent reads on, rather than the parent alone before the forks
                # with the other CPU idle (measured: the first request 30-50 ms sooner; measured again
                # with the shapes 20 ms: the server held all 32 requests no sooner). The parent did
                # import instructor's handlers: one import rather than one per worker.
                batch.prepare_requests(provider)
                gc.freeze()
                empty = Plan(summaries=[], briefs=[], waiting={})
                asyncio.run(batch.execute_cancellable(empty, provider, _feed(batch, jobs)))
                code = 0
            except ProviderError as exc:
                reporter.send({"error": str(exc), "provider": True})
            except (asyncio.CancelledError, KeyboardInterrupt):
                code = 130
            except BaseException as exc:
                reporter.send({"error": f"{type(exc).__name__}: {exc}"})
            finally:
                batch.counters.in_flight = 0
                reporter(final=True, counters=batch.counters)
    except BaseException:
        code = 1
    return code


async def _feed(batch: Batch, jobs: int) -> AsyncIterator[WorkItem | BriefJob]:
    """The jobs the parent sends on the pipe ``jobs``, one JSON line each, until it closes the pipe.

    A summary that is no longer pending (nothing else should have done it, but the store is the
    judge) is reported finished at once, so the parent never waits for it."""
    from summarizer.batch.runner import BriefJob

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(jobs, "rb", buffering=0)
    )
    try:
        while line := await reader.readline():
            message = json.loads(line)
            if "summaries" in message:
                wanted = [int(i) for i in message["summaries"]]
                work = batch.pending(summary_ids=wanted)
                found = {item.summary_id for item in work}
                if batch.finished is not None:
                    batch.finished.extend(("summary", i) for i in wanted if i not in found)
                for item in work:
                    yield item
            if "brief" in message:
                brief = message["brief"]
                yield BriefJob(int(brief["event_id"]), tuple(int(m) for m in brief["members"]), str(brief["digest"]))
    finally:
        transport.close()


class _Reporter:
    """The child's progress callback: a JSON line on the pipe with its counters and the jobs it finished.

    A finished job goes within REPORT_FINISHED_WITHIN (the parent hands out briefs, and ends the
    run, on them), with the others finished meanwhile in the same line; counters alone at most
    every REPORT_EVERY."""

    def __init__(self, write_end: int, finished: list[tuple[str, int]]) -> None:
        self.write_end = write_end
        self.finished = finished
        self.sent = 0.0
        self.counters: Counters | None = None
        self.later: asyncio.TimerHandle | None = None

    def __call__(self, what: str = "", counters: Counters | None = None, *, final: bool = False) -> None:
        if counters is None:
            return
        self.counters = counters
        if final or time.monotonic() - self.sent >= REPORT_EVERY:
            self.flush()
        elif (self.finished or what == "failure") and self.later is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop to wait on: at once
                self.flush()
            else:
                self.later = loop.call_later(REPORT_FINISHED_WITHIN, self.flush)

    def flush(self) -> None:
        if self.later is not None:
            self.later.cancel()
            self.later = None
        if self.counters is None:
            return
        self.sent = time.monotonic()
        message: dict[str, Any] = {"counters": dict(vars(self.counters))}  # flat ints: asdict's deep copy cost more
        if self.finished:
            message["finished"] = list(self.finished)
            self.finished.clear()
        self.send(message)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        while data:
            data = data[os.write(self.write_end, data) :]
