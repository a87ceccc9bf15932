"""A batch in worker processes (Linux): the parent reads the inbox and hands out the work as it becomes known.

One Python process spends a few milliseconds of CPU on each model call (segmentation, the HTTP
client, validation, grounding); at low latency and high concurrency that, not the server, bounds the
batch. With ``workers > 1`` the jobs run in forked worker processes (:mod:`summarizer.batch.worker`),
each with its share of the concurrency and of the rate limits, on its own connection to the store.

- **The parent hands out the work as it becomes known** (:meth:`Pool.run`). It reads the inbox in
  short chunks (growing ones while nothing is being worked on) and sends each chunk's summaries to
  the least busy worker, so the first requests go out while the rest of the inbox is still being
  read. It reads on without waiting for the workers: once every article is in (until then an event
  may still grow), an event's brief goes out as soon as its last member is reported finished
  (:class:`~summarizer.batch.planning.BriefsDue`), and the worker analyses it at once, sending its
  request after the summaries it has waiting (:mod:`summarizer.batch.ordering`). So the CPU the
  briefs' cross-source analysis takes spreads over the run instead of all waiting for the inbox's
  last chunk, and their requests fill the last rounds, when no summary is left.
- **Workers start with the first work.** An inbox with nothing new forks nothing and does not
  start the provider (an embedded server, say).
- **The parent owns the run.** Workers report their counters and the jobs they finished; the
  parent adds them up for the progress display and the runs table.
- **Crash safety is the store's:** each ingested chunk is its own transaction, each result is committed
  with the row it marks done (several together when the lock was busy), and
  workers die with the parent (``PR_SET_PDEATHSIG``), so a batch killed with ``kill -9`` leaves
  nothing running that could write after it. Ctrl-C or SIGTERM in the parent reaches each worker as
  SIGTERM; the worker cancels its work (unfinished articles stay pending) and exits.

Forking is safe because nothing else runs at that moment: the parent has no threads (the progress
display refreshes from the main thread), no event loop and no open transaction. Processes are
``multiprocessing``'s (fork); not a ``concurrent.futures`` pool, whose processes run one call at a
time, where each worker here runs dozens of jobs at once and takes new ones while it runs. Jobs and
reports are JSON lines on plain pipes, written without blocking: the parent never waits on a full
job pipe while a worker waits for it to read its reports.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import selectors
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from summarizer.batch import BatchError
from summarizer.batch.config import REPORT_EVERY, BatchProgress, Counters
from summarizer.batch.ingest import Ingest, paced_chunks
from summarizer.batch.planning import BriefJob, BriefsDue, Planner
from summarizer.batch.worker import WorkerSpec
from summarizer.batch.worker import main as worker_main
from summarizer.errors import ProviderError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from summarizer.batch.inbox import Item
    from summarizer.providers import Provider

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

GRACE = 15.0
"""Seconds a worker has to end once told to, before it is killed."""


def supported() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


class _Failed(Exception):
    """A worker reported an error or died: the others are stopped, and the error raised once all are reaped."""


@dataclass
class _Worker:
    process: BaseProcess
    reports: int
    """Read end of its report pipe; -1 once closed."""
    jobs: int
    """Write end of its job pipe (non-blocking); -1 once closed."""
    outbox: bytes = b""
    partial: bytes = b""
    open: int = 0
    """Jobs sent and not reported finished."""


class Pool:
    """The parent's side of a run in worker processes: forks them when work comes (up to ``most``), gives
    each job to the least busy, reads their reports, and briefs each event once its members are finished.

    ``spec`` is what every worker builds itself from (its config is shared out per worker); ``ready()``
    returns the provider, ready to use, the first time there is work (never called for the extractive engine).
    ``counters`` are the parent's own (the ingest, the jobs handed out); ``progress`` sees them added to
    the workers' as the run goes, and :meth:`run` adds the workers' final ones to them.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        ready: Callable[[], Provider] | None,
        most: int,
        *,
        planner: Planner,
        counters: Counters,
        progress: BatchProgress,
    ) -> None:
        self.spec = spec
        self.ready = ready
        self.most = most
        self.planner = planner
        self.store = planner.store
        self.own = counters
        self.progress = progress
        self.started = False
        self.pool: list[_Worker] = []
        self.latest: dict[int, Counters] = {}
        """The latest counters each worker reported."""
        self.errors: list[dict[str, Any]] = []
        self.article_of: dict[int, int] = {}
        """Summary ID -> article ID, of every summary handed out."""
        self.unfinished: set[int] = set()
        """Articles handed out and not reported finished."""
        self.due: BriefsDue | None = None
        """None until every article is in its event."""
        self.shown = 0.0

    def run(self, ingest: Ingest, items: Iterable[Item]) -> None:
        """The store's leftovers (pending from an interrupted run, failures to retry) go out first, then
        each ingested chunk's summaries while the next chunk is read; once every item is in, the briefs."""
        self.own.queued = self.own.briefs_queued = 0
        try:
            try:
                self.summaries([(item.summary_id, item.article_id) for item in self.planner.leftovers()])
                for chunk in paced_chunks(items, self.store, self.busy):
                    self.summaries(ingest.chunk(chunk))
                    self.pump(0)  # hand out what is ready and read the reports, between two chunks
                ingest.finish()
                self.events_known()
                self.drain()
            except _Failed:
                self.stop()
            except BaseException:
                self.stop()
                raise
        finally:
            statuses = self.close()
        _raise_for(self.errors, statuses)

    # -- handing out -----------------------------------------------------------------------------
    def summaries(self, work: list[tuple[int, int]]) -> None:
        """Hand out pending summaries, given as (summary ID, article ID)."""
        work = [(summary_id, article_id) for summary_id, article_id in work if summary_id not in self.article_of]
        if not work:
            return
        self._grow(len(self.article_of) + len(work))
        shares: dict[int, list[int]] = {}
        for summary_id, article_id in work:
            worker = min(self._alive(), key=lambda w: w.open + len(shares.get(id(w), ())))
            shares.setdefault(id(worker), []).append(summary_id)
            self.article_of[summary_id] = article_id
            self.unfinished.add(article_id)
        for worker in self._alive():
            if ids := shares.get(id(worker)):
                self._send(worker, {"summaries": ids}, len(ids))
        self.own.queued += len(work)

    def _brief(self, job: BriefJob) -> None:
        self._grow(len(self.article_of) + 1)
        worker = min(self._alive(), key=lambda w: w.open)
        self._send(worker, {"brief": {"event_id": job.event_id, "members": job.members, "digest": job.digest}}, 1)
        self.own.briefs_queued += 1

    def events_known(self) -> None:
        """Every article is in an event now: brief those with no member left to finish."""
        self.due = BriefsDue(self.planner, self.store.events_of(sorted(self.unfinished)))
        for job in self.due.start():
            self._brief(job)

    def _finished(self, worker: _Worker, kind: str, ident: int) -> None:
        worker.open -= 1
        if kind != "summary":
            return
        article_id = self.article_of[ident]
        self.unfinished.discard(article_id)
        if self.due is not None and (job := self.due.finished(article_id)) is not None:
            self._brief(job)

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

    # -- the processes ---------------------------------------------------------------------------
    def _grow(self, jobs: int) -> None:
        """Start workers, up to ``most``, until there is one per job handed out."""
        while len(self.pool) < min(self.most, jobs):
            if not self.started:
                self._before_the_first()
            self.pool.append(self._start(len(self.pool)))

    def _before_the_first(self) -> None:
        """The provider, made ready; what every worker needs loaded once, here, for all of them to share."""
        from summarizer.providers import load_prctl

        self.started = True
        if self.ready is not None:
            from summarizer.ask import load_handlers

            provider = self.ready()
            self.spec = replace(self.spec, provider=provider)
            load_handlers(provider.mode)
        load_prctl()  # what each worker calls first (die_with_parent)
        # Everything alive now lives as long as the workers: frozen, the cycle collector skips it instead of
        # walking it all in a full collection while a worker's event loop, and its requests, stand still.
        gc.freeze()

    def _start(self, n: int) -> _Worker:
        report_read, report_write = os.pipe()
        jobs_read, jobs_write = os.pipe()
        spec = replace(self.spec, config=self.spec.config.share(n, self.most))
        # The parent's ends of this worker's pipes and of its siblings' are not the new worker's to hold open.
        held = [report_read, jobs_write, *(fd for w in self.pool for fd in (w.reports, w.jobs) if fd >= 0)]
        context = multiprocessing.get_context("fork")
        process = context.Process(
            target=_worker_process, args=(spec, jobs_read, report_write, os.getpid(), held), daemon=True
        )
        # Ctrl-C and SIGTERM wait until the worker has its own handlers: the parent's would raise in it.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(report_write)
        os.close(jobs_read)
        os.set_blocking(jobs_write, False)
        return _Worker(process, report_read, jobs_write)

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
        except OSError:  # the worker is gone; its report pipe's end and its exit status tell why
            worker.outbox = b""

    def _read(self, worker: _Worker) -> None:
        data = os.read(worker.reports, 1 << 16)
        if not data:
            os.close(worker.reports)
            worker.reports = -1
            if worker.jobs >= 0:  # gone before it was told there is no more work: died, or failed
                self.errors.append({"died": worker.process.pid})
            return
        *lines, worker.partial = (worker.partial + data).split(b"\n")
        for line in lines:
            message = json.loads(line)
            if "counters" in message:
                self.latest[id(worker)] = Counters(**message["counters"])
            for kind, ident in message.get("finished", ()):
                self._finished(worker, kind, int(ident))
            if "error" in message:
                self.errors.append(message)

    def _show(self) -> None:
        """The workers' counters added to the parent's, for the progress display and the run's row."""
        now = time.monotonic()
        if now - self.shown >= REPORT_EVERY:
            self.shown = now
            self.progress("tick", self.own.plus(*self.latest.values()))

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
        for worker in self.pool:
            with contextlib.suppress(ProcessLookupError):
                worker.process.terminate()

    def close(self) -> list[int]:
        """Reap the workers (killing any that outstay GRACE) and add their counters to the parent's; their
        exit codes (negative: the signal that ended it)."""
        for worker in self.pool:
            self._close_jobs(worker)
            if worker.reports >= 0:
                os.close(worker.reports)
                worker.reports = -1
        deadline = time.monotonic() + GRACE
        for worker in self.pool:
            worker.process.join(max(deadline - time.monotonic(), 0.0))
            if worker.process.exitcode is None:
                worker.process.kill()
                worker.process.join()
        if self.started:
            gc.unfreeze()  # the parent goes on (and may run again): its garbage is collectable again
        finals = self.own.plus(*self.latest.values())
        finals.in_flight = 0
        for name, value in vars(finals).items():
            setattr(self.own, name, value)
        return [worker.process.exitcode or 0 for worker in self.pool]


def _worker_process(spec: WorkerSpec, jobs: int, reports: int, parent: int, held: list[int]) -> None:
    """The worker's body, in the forked process: its exit code is :func:`summarizer.batch.worker.main`'s."""
    for fd in held:
        os.close(fd)
    sys.exit(worker_main(spec, jobs, reports, parent))


def _raise_for(errors: list[dict[str, Any]], codes: list[int]) -> None:
    """A worker's error, or the way one died, as the batch's."""
    for error in errors:
        if provider := error.get("provider"):
            raise ProviderError(str(error["error"]), kind=provider["kind"], status=provider["status"])
    if reported := [error for error in errors if "error" in error]:
        raise BatchError(f"a batch worker failed: {reported[0]['error']}")
    if died := [code for code in codes if code != 0]:
        # Killed from outside (the OOM killer, say): its unfinished articles are still pending.
        raise BatchError(f"a batch worker died ({_describe(died[0])}); run the batch again to finish")
    if errors:
        raise BatchError("a batch worker ended before its work was done; run the batch again to finish")


def _describe(code: int) -> str:
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
