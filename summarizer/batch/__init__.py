"""Batch jobs over an inbox of articles: incremental, concurrent, resumable, grouped into events.

    summarizer batch INBOX --store batch.db      # only new articles are summarised
    summarizer batch status --store batch.db
    summarizer batch export --store batch.db --format md

The modules, in the order an article travels: ``inbox`` (discover and read), ``dedupe``
(exact and near-duplicate copies), ``events`` (TF-IDF similarity in a time window) and
``grouping`` (each new article placed in an event as it is stored), ``store`` (the SQLite record
of everything), ``limits`` and ``retry`` (rate limits and transient faults), ``runner`` (the
asyncio orchestration), ``export`` and ``cli``.
"""

from __future__ import annotations

from summarizer.errors import SummarizerError


class BatchError(SummarizerError):
    """A batch cannot run as asked (e.g. the store is locked by another batch or was made by a newer version)."""

    exit_code = 6
