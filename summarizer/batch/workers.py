"""Run a batch plan in several processes: one asyncio executor per CPU, sharing the store through SQLite.

One Python process spends a few milliseconds of CPU on each model call (segmentation, the
HTTP client, validation, grounding). At low latency and high concurrency that, not the
server, bounds the batch: 32 calls in flight at 100 ms leave about 3 ms of CPU per call.
With ``workers > 1`` the planned work is split and each share runs in a forked child with
its part of the concurrency and of the rate limits, on its own connection to the store.

- **Shares are whole events,** so the worker that finishes an event's last member starts
  its brief, as in one process.
- **The parent owns the run.** Children send their counters through a pipe; the parent adds
  them up for the progress display and the runs table.
- **Crash safety is the store's:** every result is its own transaction, and children die
  with the parent (``PR_SET_PDEATHSIG``), so a batch killed with ``kill -9`` leaves nothing
  running that could write after it. Ctrl-C or SIGTERM in the parent reaches each child as
  SIGTERM; the child cancels its work (unfinished articles stay pending) and exits.
- **Linux only** (``fork`` and ``prctl``). Elsewhere, and for small plans, one process.

Forking is safe here because nothing else runs at that moment. The parent has no threads (the
progress display refreshes from the main thread), and no event loop yet. Each child opens its
own SQLite connection and never touches the one it inherited.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import selectors
import signal
import sys
import time
from dataclasses import asdict, fields, replace
from typing import TYPE_CHECKING, Any

from summarizer.batch import BatchError
from summarizer.errors import ProviderError
from summarizer.providers import die_with_parent

if TYPE_CHECKING:
    from summarizer.batch.runner import Batch, Counters, Plan
    from summarizer.providers import Provider

REPORT_EVERY = 0.1
"""Seconds between a child's counter reports (and the parent's display refreshes)."""


def supported() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork")


def split(plan: Plan, shares: int) -> list[Plan]:
    """``plan`` in up to ``shares`` parts of similar size, each event's pending members in one part."""
    from summarizer.batch.runner import Plan

    parts = [Plan(summaries=[], briefs=[], waiting={}) for _ in range(max(shares, 1))]
    loads = [0] * len(parts)
    order = {id(item): n for n, item in enumerate(plan.summaries)}
    groups: dict[int | None, list[Any]] = {}
    for item in plan.summaries:
        groups.setdefault(item.event_id, []).append(item)
    # Largest events first, each to the lightest part; articles without an event fill in one by one.
    for event_id, items in sorted(groups.items(), key=lambda kv: (kv[0] is None, -len(kv[1]))):
        for chunk in [items] if event_id is not None else [[item] for item in items]:
            lightest = loads.index(min(loads))
            parts[lightest].summaries.extend(chunk)
            loads[lightest] += len(chunk)
            if event_id is not None:
                parts[lightest].waiting[event_id] = plan.waiting.get(event_id, 0)
    for job in plan.briefs:
        lightest = loads.index(min(loads))
        parts[lightest].briefs.append(job)
        loads[lightest] += 1
    for part in parts:
        part.summaries.sort(key=lambda item: order[id(item)])  # first come, first served, as in one process
    return [part for part in parts if part]


def run_in_workers(batch: Batch, plan: Plan, provider: Provider, workers: int) -> None:
    """Execute ``plan`` in ``workers`` forked processes; return when all are done, raise if one failed."""

    parts = split(plan, workers)
    concurrency = _spread(batch.config.concurrency, len(parts))
    base = replace(batch.counters)
    latest: dict[int, Counters] = {}
    children: dict[int, int] = {}  # read end of each child's pipe -> its pid
    errors: list[dict[str, Any]] = []
    parent = os.getpid()
    # Everything alive now (imported modules, schemas, the plan) lives as long as the children:
    # frozen, the cycle collector skips it. Otherwise a full collection walks it all, about
    # 100 ms during which a child's event loop, and so every request it holds, stands still.
    gc.freeze()
    try:
        for n, part in enumerate(parts):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_end)
                os._exit(_child(batch, part, provider, concurrency[n], len(parts), write_end, parent))
            os.close(write_end)
            children[read_end] = pid
        _collect(batch, children, base, latest, errors)
    except BaseException:
        _stop(list(children.values()))
        raise
    finally:
        gc.unfreeze()  # the parent goes on (and may run again): its garbage is collectable again
        statuses = _reap(list(children.values()))
        batch.counters = _total(base, latest.values())
        batch.counters.in_flight = 0
        batch.flush(force=True)
    for error in errors:
        if error.get("provider"):
            raise ProviderError(str(error["error"]))
    if errors:
        raise BatchError(f"a batch worker failed: {errors[0]['error']}")
    if died := [status for status in statuses if status != 0]:
        # Killed from outside (the OOM killer, say): its unfinished articles are still pending.
        raise BatchError(f"a batch worker died ({_describe_status(died[0])}); run the batch again to finish")


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def _collect(
    batch: Batch, children: dict[int, int], base: Counters, latest: dict[int, Counters], errors: list[dict[str, Any]]
) -> None:
    from summarizer.batch.runner import Counters

    selector = selectors.DefaultSelector()
    pending: dict[int, bytes] = {}
    for read_end in children:
        selector.register(read_end, selectors.EVENT_READ)
        pending[read_end] = b""
    try:
        while pending:
            for key, _ in selector.select(timeout=REPORT_EVERY):
                read_end = int(key.fd)
                data = os.read(read_end, 1 << 16)
                if not data:
                    selector.unregister(read_end)
                    os.close(read_end)
                    del pending[read_end]
                    continue
                *lines, pending[read_end] = (pending[read_end] + data).split(b"\n")
                for line in lines:
                    message = json.loads(line)
                    if "counters" in message:
                        latest[children[read_end]] = Counters(**message["counters"])
                    if "error" in message:
                        errors.append(message)
                        _stop([pid for pid in children.values() if pid != children[read_end]])  # no point going on
            batch.counters = _total(base, latest.values())
            batch.notify("tick")
            batch.flush()
    finally:
        selector.close()


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
            time.sleep(0.01)
    return statuses


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


# -- in the child ------------------------------------------------------------------------------
def _child(
    batch: Batch, plan: Plan, provider: Provider, concurrency: int, workers: int, write_end: int, parent: int
) -> int:
    """Run one share of the plan in this forked child; the exit code is 0 when it ran to the end."""
    from summarizer.batch.runner import Counters
    from summarizer.batch.store import Store

    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides; it sends SIGTERM
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        die_with_parent(signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the request took effect
            return 1
        reporter = _Reporter(write_end)
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
                asyncio.run(batch.execute_cancellable(plan, provider))
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


class _Reporter:
    """The child's progress callback: its counters, as a JSON line on the pipe, at most every REPORT_EVERY."""

    def __init__(self, write_end: int) -> None:
        self.write_end = write_end
        self.sent = 0.0

    def __call__(self, what: str = "", counters: Counters | None = None, *, final: bool = False) -> None:
        now = time.monotonic()
        if counters is None or (not final and what != "failure" and now - self.sent < REPORT_EVERY):
            return
        self.sent = now
        self.send({"counters": asdict(counters)})

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        while data:
            data = data[os.write(self.write_end, data) :]
