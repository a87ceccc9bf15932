"""The order an executor does its jobs in: the one that ends a run soonest.

A brief needs its event's summaries, and nothing needs a brief. So a brief's request does not go
ahead of a waiting summary: it would push the summaries back, and with them the last events' briefs,
into a last round of requests with most slots idle. A brief's CPU work is another matter: its members
are read and analysed (the cross-source analysis, the larger part of a brief's CPU) as soon as it is
due, between requests, rather than all at the end, where no request is left to overlap them with.

- Summaries first, first come first served.
- Briefs once prepared, after the summaries waiting, first come first served.
- At most ``room`` briefs prepared or being prepared. Once that many wait and another is due, a
  prepared brief goes first: the memory held stays bounded, and the analyses go on spreading over the
  run however many events it has.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from summarizer.batch.planning import BriefJob
from summarizer.batch.records import SummaryJob, WorkItem

if TYPE_CHECKING:
    from summarizer.analysis import Analysis
    from summarizer.schemas import ArticleSummary
    from summarizer.segment import Article

Summary = WorkItem | SummaryJob


@dataclass(frozen=True)
class PreparedBrief:
    """A due brief with its inputs read and analysed, waiting for a request slot."""

    job: BriefJob
    articles: Sequence[Article]
    summaries: Sequence[ArticleSummary]
    analysis: Analysis | None
    error: str | None = None
    """Why there is no analysis (a bug it hit): the brief is recorded as failed with it."""


class JobQueue:
    """Summaries and briefs for an executor's tasks (:meth:`get`) and its brief preparer (:meth:`next_due`).

    Each job put is counted until :meth:`done` is called for it (a brief once, after it is prepared and done);
    :meth:`join` returns when none is left.
    """

    def __init__(self, room: int) -> None:
        self.room = max(room, 1)
        self._summaries: deque[Summary] = deque()
        self._due: deque[BriefJob] = deque()
        self._ready: deque[PreparedBrief] = deque()
        self._preparing = 0
        self._unfinished = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._finished = asyncio.Event()
        self._finished.set()

    def put(self, job: Summary | BriefJob) -> None:
        if isinstance(job, BriefJob):
            self._due.append(job)
        else:
            self._summaries.append(job)
        self._unfinished += 1
        self._finished.clear()
        self._wake()

    async def get(self) -> Summary | PreparedBrief:
        """The next job to do: a waiting summary, else a prepared brief (a prepared brief first when the
        preparer has no room for a due one)."""
        while True:
            if self._ready and (not self._summaries or self._preparer_blocked()):
                brief = self._ready.popleft()
                self._wake()  # room for the preparer
                return brief
            if self._summaries:
                return self._summaries.popleft()
            await self._wait()

    async def next_due(self) -> BriefJob:
        """The next due brief to prepare, once there is room for it; :meth:`prepared` takes it back."""
        while not self._due or len(self._ready) + self._preparing >= self.room:
            await self._wait()
        self._preparing += 1
        return self._due.popleft()

    def prepared(self, brief: PreparedBrief) -> None:
        self._preparing -= 1
        self._ready.append(brief)
        self._wake()

    def done(self) -> None:
        """A job taken with :meth:`get` is finished."""
        self._unfinished -= 1
        if self._unfinished <= 0:
            self._finished.set()

    async def join(self) -> None:
        """Return once every job put is done."""
        await self._finished.wait()

    def _preparer_blocked(self) -> bool:
        """A brief is due and the room is full of prepared ones (not merely one being prepared)."""
        return bool(self._due) and len(self._ready) >= self.room

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
