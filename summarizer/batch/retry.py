"""Which model-call failures are worth retrying, and how long to wait: a tenacity policy.

Retried: 429 (rate limited), 408/409 and 5xx, timeouts, dropped or refused connections, and
a response body that is not valid JSON (a proxy or server glitch). The wait honours the
server's ``Retry-After`` (seconds or an HTTP date; ``retry-after-ms`` too) when it gives
one, and is otherwise exponential with jitter. Not retried: a refused key (401/403), an
unknown model (404) or a rejected request (400/422) — retrying cannot fix those, and they
stop the whole batch instead of failing every article the same way.

The openai client's own retries are switched off (``max_retries=0``) so this policy is the
only one, and each attempt goes through the rate limiter.

Failures are read from the fields of :class:`~summarizer.errors.ProviderError`, which
:func:`summarizer.ask.ask` raises with the HTTP status, ``Retry-After`` and kind of failure filled in.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from summarizer.errors import ProviderError


def classify(exc: BaseException) -> ProviderError | None:
    """The model-call failure ``exc`` reports, when it is a :class:`ProviderError` whose fields say what it is
    (its ``kind``, whether it is ``retryable``, its ``retry_after``); None for anything else."""
    return exc if isinstance(exc, ProviderError) and exc.kind != "other" else None


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts per model call and how long to wait between them."""

    attempts: int = 6
    initial: float = 1.0
    """First backoff in seconds; doubled each time, up to ``maximum``."""
    maximum: float = 60.0
    jitter: float = 1.0
    """Up to this many seconds added at random to each backoff."""
    max_retry_after: float = 300.0
    """A longer Retry-After is capped here (a batch should not sleep for an hour)."""

    def wait(self, state: RetryCallState) -> float:
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        error = exc.error if isinstance(exc, TransientFault) else None
        if error is not None and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        backoff = min(self.maximum, self.initial * 2 ** max(state.attempt_number - 1, 0))
        return backoff + random.uniform(0, self.jitter)

    def retrying(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        before_sleep: Callable[[RetryCallState], None] | None = None,
    ) -> AsyncRetrying:
        """A tenacity ``AsyncRetrying`` that retries :class:`TransientFault` only and re-raises the last one."""
        return AsyncRetrying(
            stop=stop_after_attempt(max(self.attempts, 1)),
            wait=self.wait,
            retry=retry_if_exception(lambda e: isinstance(e, TransientFault)),
            sleep=sleep,
            before_sleep=before_sleep,
            reraise=True,
        )


class TransientFault(Exception):
    """Raised inside an attempt for a retryable failure, so tenacity retries it."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.summary)
        self.error = error
