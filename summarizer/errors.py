"""One error hierarchy for the whole tool.

Library code raises these; the CLI turns them into one clear line and a non-zero exit.
"""

from __future__ import annotations

REFUSED = frozenset({401, 403, 404})
"""HTTP statuses every further request would get too (the key, the model or the URL is refused, not the
request): the batch's transport keeps them, :func:`summarizer.ask.ask` raises them even mid re-ask, and
the batch's retry policy stops on them."""


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
    """The model backend could not be reached or kept failing after retries."""

    exit_code = 4

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        """True when no answer came back at all (connection refused, timeout), not an HTTP error."""


class StoreError(SummarizerError):
    """The batch store refused a read or write (a full disk, a read-only file); the step was rolled back."""

    exit_code = 6  # as BatchError: the batch could not run


class ModelOutputError(SummarizerError):
    """The model's answer could not be parsed into the expected structure, even after re-asks."""

    exit_code = 5


class GroundingError(SummarizerError):
    """A claim is not supported by the sentences it cites (raised inside validators, never to users)."""


class TemplateError(ConfigurationError):
    """A prompt template is malformed or references a variable that was not supplied."""
