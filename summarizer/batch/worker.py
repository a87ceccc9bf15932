"""One worker process of a batch (the child's side of :mod:`summarizer.batch.pool`).

It builds everything it runs from the :class:`WorkerSpec` its parent made (its own connection to the
store, its engine and client, its executor with its share of the concurrency and rate limits), does
the jobs the parent sends on its job pipe until the parent closes it, and reports on its report pipe,
one JSON line at a time: its counters, the jobs it finished, or the error that stopped it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.batch.config import REPORT_EVERY, BatchConfig, Counters
from summarizer.batch.engines import open_engine
from summarizer.batch.executing import Executor, Job, run_cancellable
from summarizer.batch.planning import BriefJob
from summarizer.batch.records import SummaryJob
from summarizer.batch.store import Store
from summarizer.errors import ProviderError

if TYPE_CHECKING:
    from summarizer.providers import Provider
    from summarizer.settings import Settings
    from summarizer.templates import PromptSet

WARM_ANALYSIS_AFTER = 0.2
"""Seconds after it starts that a worker loads the analysis (in a thread): once its first requests are out."""

SWITCH_INTERVAL = 0.001
"""The GIL switch interval in a worker, seconds: the client's I/O thread waits up to this long for the
GIL with each answer it reads, while this thread segments, validates and grounds."""

REPORT_FINISHED_WITHIN = 0.005
"""Seconds a worker may hold a finished job before it reports it, with the others finished meanwhile
(one line per answer would cost a write here and a wake-up in the parent each time)."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process builds its executor from."""

    store: Path
    model: str
    prompt_version: str
    prompts: PromptSet
    settings: Settings
    config: BatchConfig
    """This worker's share (see :meth:`BatchConfig.share`)."""
    run_id: int
    provider: Provider | None = None
    """Ready to use (a started server, say); None for the extractive engine."""


def main(spec: WorkerSpec, jobs: int, reports: int, parent: int) -> int:
    """Do the jobs the parent sends on the pipe ``jobs`` until it closes it, reporting on ``reports``; the
    exit code: 0 when it ran to the end, 130 when stopped (SIGTERM), 1 on an error (reported first)."""
    from summarizer.providers import die_with_parent

    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sends SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})  # blocked by the parent's fork
        die_with_parent(signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            return 1
        sys.setswitchinterval(SWITCH_INTERVAL)
        reporter = Reporter(reports)
        counters = Counters()
        with Store(spec.store) as store:  # its own connection: the one inherited with the fork is the parent's
            try:
                _run(spec, store, counters, reporter, jobs)
                code = 0
            except ProviderError as exc:
                reporter.send({"error": str(exc), "provider": {"kind": exc.kind, "status": exc.status}})
            except (asyncio.CancelledError, KeyboardInterrupt):
                code = 130
            except BaseException as exc:
                reporter.send({"error": f"{type(exc).__name__}: {exc}"})
            finally:
                counters.in_flight = 0
                reporter("final", counters, final=True)
    except BaseException:
        code = 1
    return code


def _run(spec: WorkerSpec, store: Store, counters: Counters, reporter: Reporter, jobs: int) -> None:
    config = spec.config
    engine = open_engine(
        spec.provider, model=spec.model, prompts=spec.prompts, settings=spec.settings, concurrency=config.concurrency
    )
    engine.warm_up()  # as it starts, in parallel with the other workers, while the parent reads on
    if config.briefs:
        # The analysis's imports and date tables load while the first summaries wait for their answers, not in the
        # first brief's way (nor in the first requests' way: WARM_ANALYSIS_AFTER).
        threading.Thread(target=_warm_analysis, name="warm-analysis", daemon=True).start()
    gc.freeze()  # what the first calls built lives as long as the worker: the cycle collector skips it
    executor = Executor(
        store, engine, model=spec.model, prompt_version=spec.prompt_version, config=spec.config,
        run_id=spec.run_id, counters=counters, progress=reporter, on_finished=reporter.finished_job,
    )  # fmt: skip

    async def work() -> None:
        try:
            await executor.run(_jobs(jobs))
        finally:
            await engine.close()

    run_cancellable(work())


def _warm_analysis() -> None:
    time.sleep(WARM_ANALYSIS_AFTER)
    from summarizer.analysis import warm

    warm()


async def _jobs(jobs: int) -> AsyncIterator[Job]:
    """The jobs the parent sends on the pipe ``jobs``, one JSON line each, until it closes the pipe."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(jobs, "rb", buffering=0)
    )
    try:
        while line := await reader.readline():
            message = json.loads(line)
            for summary_id in message.get("summaries", ()):
                yield SummaryJob(int(summary_id))
            if "brief" in message:
                brief = message["brief"]
                yield BriefJob(int(brief["event_id"]), tuple(int(m) for m in brief["members"]), str(brief["digest"]))
    finally:
        transport.close()


class Reporter:
    """The worker's progress callback: a JSON line on the report pipe with its counters and the jobs it finished.

    A finished job goes within REPORT_FINISHED_WITHIN (the parent hands out briefs, and ends the
    run, on them), with the others finished meanwhile in the same line; counters alone at most
    every REPORT_EVERY."""

    def __init__(self, write_end: int) -> None:
        self.write_end = write_end
        self.finished: list[tuple[str, int]] = []
        """("summary", summary ID) or ("brief", event ID) of each job finished and not yet reported."""
        self.sent = 0.0
        self.counters: Counters | None = None
        self.later: asyncio.TimerHandle | None = None

    def finished_job(self, job: Job) -> None:
        self.finished.append(("brief", job.event_id) if isinstance(job, BriefJob) else ("summary", job.summary_id))

    def __call__(self, what: str, counters: Counters, *, final: bool = False) -> None:
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
        message: dict[str, Any] = {"counters": dict(vars(self.counters))}  # flat ints: cheaper than asdict
        if self.finished:
            message["finished"] = list(self.finished)
            self.finished.clear()
        self.send(message)

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        while data:
            data = data[os.write(self.write_end, data) :]
