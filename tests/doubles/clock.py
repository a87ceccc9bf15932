"""A clock for code that sleeps: time moves only when slept on."""

from __future__ import annotations


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
