"""Storing results from an event loop: each one waits for the store's lock on its own, not in the way of the
task that got it, and those waiting when the lock frees are committed together.

The store has one write lock, held in turns by the parent's ingest and every worker. A task that
waited for it with its result in hand could not start its next job meanwhile; while the inbox is
read, many did, and request slots stood idle for want of a task to fill them. Here a task hands its
result to the executor's :class:`ResultWriter` and goes on; the writer tries the lock every BUSY_POLL
(the loop goes on in between) and writes everything waiting in one transaction, each result in a
savepoint of its own. A result is still committed with the row it marks done, or not at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from summarizer.batch import connection
from summarizer.batch.connection import LockBusy
from summarizer.batch.store import Store

Write = Callable[[], bool]
"""A result's write, inside the writer's transaction: True if it was recorded (False: not pending any more)."""
Then = Callable[[bool], None]
"""What follows once the write is committed, told whether it was recorded."""


class ResultWriter:
    """Writes handed to :meth:`add` go out from :meth:`run` (a task of the executor's loop) as soon as the store's
    lock is free; :meth:`flush` writes what is left, waiting for the lock (on the way out: the answers are paid for).
    Past BUSY_TIMEOUT of waiting, a write waits, and fails, as any write does.

    A write that raises is undone alone: the others are committed and followed up, then its error is raised
    (a bug, or the store refusing it). If SQLite ended the whole transaction (a full disk), none is committed.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[Write, Then]] = []
        self._waiting = asyncio.Event()

    def add(self, write: Write, then: Then) -> None:
        self._pending.append((write, then))
        self._waiting.set()

    async def run(self) -> None:
        while True:
            await self._waiting.wait()
            deadline = time.monotonic() + connection.BUSY_TIMEOUT
            while self._pending:
                try:
                    self._write(wait=time.monotonic() >= deadline)
                except LockBusy:
                    await asyncio.sleep(connection.BUSY_POLL)

    def flush(self) -> None:
        if self._pending:
            self._write(wait=True)

    def _write(self, *, wait: bool) -> None:
        batch = self._pending
        recorded: list[bool | None] = []
        failures: list[Exception] = []
        with self.store.transaction(wait=wait):
            for write, _ in batch:
                try:
                    with self.store.transaction():  # a savepoint: a write that fails is undone alone
                        ok = write()
                except Exception as exc:  # if SQLite ended the whole transaction, the outer one fails
                    failures.append(exc)
                    recorded.append(None)
                else:
                    recorded.append(ok)
        self._pending = []  # nothing was added meanwhile: this ran without yielding to the loop
        self._waiting.clear()
        for (_, then), stored in zip(batch, recorded, strict=True):
            if stored is None:
                continue
            try:
                then(stored)
            except Exception as exc:  # every committed result is followed up; the first error is raised after
                failures.append(exc)
        if failures:
            raise failures[0]
