"""One error hierarchy for the whole tool.

Library code raises these; the CLI turns them into one clear line and a non-zero exit.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Literal

Failure = Literal[
    "rate_limited", "server_error", "timeout", "connection", "malformed", "bad_request", "auth", "not_found", "other"
]
"""What went wrong with a model request: 429; 5xx, 408 or 409; no answer in time; no connection; an answer
body that is not JSON; another 4xx; 401 or 403 (the key); 404 (the model or URL); anything else."""


REFUSING: frozenset[Failure] = frozenset({"auth", "not_found"})
"""Failures every further request would share (the key, the model or the URL is refused, not the request)."""


class SummarizerError(Exception):
    """Base class for every error this package raises on purpose."""

    exit_code = 1


class ConfigurationError(SummarizerError):
    """The provider, model or options are not usable as configured (e.g. a missing API key)."""

    exit_code = 2


class InputError(SummarizerError):
    """An input could not be read as an article: empty, binary, not UTF-8, too large, unreachable."""

    exit_code = 3


class ProviderError(SummarizerError):
    """The model backend could not be reached, refused the request, or kept failing after retries.

    The fields say what happened, so a caller decides (retry, wait, stop) without parsing the message.
    """

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        kind: Failure = "other",
        status: int | None = None,
        retry_after: float | None = None,
        model: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: Failure = kind
        self.status = status
        """The HTTP status of the answer, or None when there was no answer."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait (``Retry-After``), if it said."""
        self.model = model
        """The model the request was for, when known."""
        self.detail = detail
        """What the server said about it: the first line of its error message, if any."""

    @property
    def retryable(self) -> bool:
        """Another attempt may succeed: rate limited, a server error, no answer in time, no connection, or an
        answer body that is not JSON."""
        return self.kind in ("rate_limited", "server_error", "timeout", "connection", "malformed")

    @property
    def summary(self) -> str:
        """The failure in a few words, as a batch records it for its article."""
        if self.kind == "rate_limited":
            return "HTTP 429 rate limited"
        if self.kind == "server_error":
            return f"HTTP {self.status} from the model server"
        if self.kind in ("auth", "not_found", "bad_request"):
            return f"HTTP {self.status}: {self.detail or self}"
        if self.kind == "malformed":
            return "malformed response body from the model server"
        return str(self)  # no answer at all: the message says why (timed out, connection refused or dropped)

    @property
    def refused(self) -> bool:
        """The key, model or URL is refused (401, 403, 404): every further request would be too."""
        return self.kind in REFUSING

    @property
    def unreachable(self) -> bool:
        """No answer came back at all (connection refused or dropped, timeout), as opposed to an HTTP error."""
        return self.kind in ("connection", "timeout")

    def __repr__(self) -> str:
        return f"ProviderError({str(self)!r}, kind={self.kind!r}, status={self.status!r})"


def status_failure(status: int) -> Failure:
    """The kind of failure an HTTP error status reports."""
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status in (408, 409) or status >= 500:
        return "server_error"
    return "bad_request"


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``; None if absent."""
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


class BatchError(SummarizerError):
    """A batch cannot run as asked (e.g. the store is locked by another batch or was made by a newer version)."""

    exit_code = 6


class StoreError(BatchError):
    """The batch store refused a read or write (a full disk, a read-only file); the step was rolled back."""


class ModelOutputError(SummarizerError):
    """The model answered, but no answer could be read as the structure asked for, even after re-asks.

    Raised when that left nothing to show (every article of a brief failed so); one article's
    unusable answer fails only that article.
    """

    exit_code = 5


class TemplateError(ConfigurationError):
    """A prompt template is malformed or references a variable that was not supplied."""
