"""Request and token rate limits for concurrent model calls, as two token buckets.

Each bucket holds up to one minute's allowance and refills continuously, like the limits
OpenAI and most hosted APIs enforce. A caller reserves one request and its *estimated*
tokens before a call and waits (in FIFO order) until both buckets can cover it; afterwards
it settles the difference between the estimate and the real usage, and any extra requests
(re-asks) it made. Buckets may go into debt, so the following callers wait it off: over a
minute the limits hold even though usage is only known after the fact.

A server's own ``Retry-After`` on a 429 applies to everyone, not only the request that got
it: :meth:`RateLimiter.pause` holds every caller until then, so 32 tasks do not each
spend a request to learn the same thing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Bucket:
    per_minute: float
    level: float = field(init=False)
    stamp: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        if self.per_minute <= 0:
            raise ValueError("a rate limit must be positive")
        self.level = self.per_minute

    def refill(self, now: float) -> None:
        self.level = min(self.per_minute, self.level + (now - self.stamp) * self.per_minute / 60.0)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` is available (an amount above the capacity waits for a full bucket)."""
        needed = min(amount, self.per_minute) - self.level
        return max(needed, 0.0) * 60.0 / self.per_minute


class RateLimiter:
    """Limits requests and tokens per minute; ``None`` for a limit means unlimited."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.requests = Bucket(requests_per_minute) if requests_per_minute else None
        self.tokens = Bucket(tokens_per_minute) if tokens_per_minute else None
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._resume_at = 0.0
        now = clock()
        for bucket in self._buckets():
            bucket.stamp = now
        self.waited = 0.0
        """Total seconds callers spent waiting for the limits."""

    def _buckets(self) -> list[Bucket]:
        return [b for b in (self.requests, self.tokens) if b is not None]

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (the server said to retry after that long)."""
        self._resume_at = max(self._resume_at, self._clock() + max(seconds, 0.0))

    async def acquire(self, tokens: int) -> None:
        """Wait until one request and ``tokens`` tokens are available (and any pause is over), then take them."""
        if not self._buckets() and self._clock() >= self._resume_at:
            return
        async with self._lock:  # one waiter at a time: FIFO, and no thundering herd
            while True:
                now = self._clock()
                for bucket in self._buckets():
                    bucket.refill(now)
                delay = max(
                    self._resume_at - now,
                    self.requests.wait_for(1) if self.requests else 0.0,
                    self.tokens.wait_for(tokens) if self.tokens else 0.0,
                )
                if delay <= 0:
                    break
                self.waited += delay
                await self._sleep(delay)
            if self.requests:
                self.requests.level -= 1
            if self.tokens:
                self.tokens.level -= tokens

    def settle(self, *, estimated_tokens: int, actual_tokens: int, extra_requests: int = 0) -> None:
        """Correct the buckets once the real usage of a reservation is known."""
        if self.tokens:
            self.tokens.level -= actual_tokens - estimated_tokens
        if self.requests and extra_requests > 0:
            self.requests.level -= extra_requests
