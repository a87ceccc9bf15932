"""Which model-call failures are worth retrying, and how long to wait: a tenacity policy.

Retried: 429 (rate limited), 408/409 and 5xx, timeouts, dropped or refused connections, and
a response body that is not valid JSON (a proxy or server glitch). The wait honours the
server's ``Retry-After`` (seconds or an HTTP date; ``retry-after-ms`` too) when it gives
one, and is otherwise exponential with jitter. Not retried: a refused key (401/403), an
unknown model (404) or a rejected request (400/422) — retrying cannot fix those, and they
stop the whole batch instead of failing every article the same way.

The openai client's own retries are switched off (``max_retries=0``) so this policy is the
only one, and each attempt goes through the rate limiter.

Failures are found on the exception's cause chain: :func:`summarizer.ask.ask` raises
:class:`~summarizer.errors.ProviderError` *from* the openai exception.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from summarizer.errors import REFUSED


@dataclass(frozen=True)
class Fault:
    """A classified model-call failure."""

    kind: str
    """rate_limited, server_error, timeout, connection, malformed, refused, bad_request."""
    retryable: bool
    message: str
    retry_after: float | None = None


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``Retry-After`` / ``retry-after-ms`` headers, or None if absent or unreadable."""
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(float(milliseconds) / 1000.0, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def classify_one(error: BaseException) -> Fault | None:
    # Imported here: a batch with nothing to do (a cached re-run) never loads the model clients.
    import httpx
    import openai

    if isinstance(error, openai.APITimeoutError | httpx.TimeoutException | asyncio.TimeoutError):
        return Fault("timeout", True, "timed out")
    if isinstance(error, openai.APIConnectionError | httpx.TransportError):
        return Fault("connection", True, f"connection failed ({type(error).__name__})")
    if isinstance(error, openai.APIStatusError):
        status = error.status_code
        retry_after = parse_retry_after(error.response.headers)
        if status == 429:
            return Fault("rate_limited", True, "HTTP 429 rate limited", retry_after)
        if status in (408, 409) or status >= 500:
            return Fault("server_error", True, f"HTTP {status} from the model server", retry_after)
        if status in REFUSED:
            return Fault("refused", False, f"HTTP {status}: {_first_line(error)}")
        return Fault("bad_request", False, f"HTTP {status}: {_first_line(error)}")
    if isinstance(error, json.JSONDecodeError | openai.APIResponseValidationError):
        return Fault("malformed", True, "malformed response body from the model server")
    return None


def classify(exc: BaseException) -> Fault | None:
    """The transport fault behind ``exc`` (on its cause chain), if any."""
    for error in _chain(exc):
        fault = classify_one(error)
        if fault is not None:
            return fault
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]


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
        fault = getattr(exc, "fault", None)
        if isinstance(fault, Fault) and fault.retry_after is not None:
            return min(fault.retry_after, self.max_retry_after)
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
    """Raised inside an attempt for a retryable fault, so tenacity retries it."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.message)
        self.fault = fault
