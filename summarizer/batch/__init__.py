"""Batch jobs over an inbox of articles: incremental, concurrent, resumable, grouped into events.

    summarizer batch INBOX --store batch.db      # only new articles are summarised
    summarizer batch status --store batch.db
    summarizer batch export --store batch.db --format md

The modules, in the order an article travels:

- ``inbox``: discover and read the inbox; ``ingest``: read it into the store, with ``dedupe`` (exact and
  near-duplicate copies), ``events`` (TF-IDF similarity in a time window) and ``grouping`` (each new
  article placed in an event as it is stored);
- ``planning``: the pending summaries and the briefs due;
- ``executing``: the jobs in one process, in the order of ``ordering`` (summaries first, briefs analysed
  as they fall due), attempts (``limits``, ``retry``) and storing each result (``writing``), with an engine from
  ``engines`` (a model's, or the extractive one);
- ``pool`` and ``worker``: the same in worker processes, while the inbox is still being read;
- ``runner``: ``Batch``, one run, and its one entry point ``Batch.run``; ``config``: its settings and counters;
- the store: ``schema`` (tables, migrations), ``connection`` (transactions, the lock), ``store`` (the
  queries), ``records`` (rows as objects);
- ``export`` (JSONL, Markdown, status) and ``cli``.
"""

from __future__ import annotations

from summarizer.errors import BatchError

__all__ = ["BatchError"]
