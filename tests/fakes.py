"""Test doubles shared by several test modules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from summarizer.ask import ModelClient

T = TypeVar("T")


def run_closing(client: ModelClient, work: Callable[[ModelClient], Awaitable[T]]) -> T:
    """``work(client)`` in a fresh event loop, closing the client's connections before the loop ends."""

    async def go() -> T:
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(go())


class FakeTime:
    """A clock that moves only when slept on, recording each sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
