"""Reading the inbox into the store: new articles (with their near-duplicates linked and each placed in its
event), sightings of known ones, unreadable inputs, and a pending summary for each new canonical article.

No model calls. Each chunk of the inbox is one transaction, so an interrupted ingest is finished by the
next run (everything it writes is idempotent). Near-duplicates and term vectors are worked out before
the transaction: while worker processes run, they wait for its lock.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from summarizer.batch import dedupe, events
from summarizer.batch.config import BatchConfig, BatchProgress, Counters
from summarizer.batch.grouping import Grouper
from summarizer.batch.inbox import Item
from summarizer.batch.store import Store
from summarizer.times import parse_time

T = TypeVar("T")

INGEST_CHUNK = 200
"""Inbox items per ingest transaction."""

STREAM_CHUNK = 16
"""Inbox items per ingest transaction while worker processes run: short, since their writes wait for each one."""


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def paced_chunks(items: Iterable[Item], store: Store, busy: Callable[[], bool]) -> Iterator[list[Item]]:
    """The inbox in chunks while worker processes run: STREAM_CHUNK items while ``busy()`` (work is out).

    Short transactions are for the workers waiting on the store's lock. With nothing being worked
    on (articles earlier runs stored, say) they only cost: then each chunk is twice as long as the
    one before, up to INGEST_CHUNK, and ends before its first new article, so that article's
    work goes out as soon as it would have.
    """
    rest, size = iter(items), STREAM_CHUNK
    ahead: list[Item] = []
    while True:
        ahead += itertools.islice(rest, max(size - len(ahead), 0))
        if not ahead:
            return
        cut = min(size, len(ahead))
        if cut > STREAM_CHUNK:
            docs = [item.document for item in ahead[:cut]]
            known = store.known_hashes([doc.sha256 for doc in docs if doc is not None])
            first_new = next((n for n, doc in enumerate(docs) if doc is not None and doc.sha256 not in known), cut)
            cut = max(first_new, STREAM_CHUNK)
        chunk, ahead = ahead[:cut], ahead[cut:]
        yield chunk
        size = STREAM_CHUNK if busy() else min(size * 2, INGEST_CHUNK)


@dataclass
class _Fresh:
    """An article new to the store, with what its ingest computes before its transaction."""

    sketch: tuple[int, ...]
    terms: Counter[str]
    duplicate_of: int | str | None = None
    """The stored article it copies (its id), or an earlier one in the same chunk (its content hash)."""
    similarity: float = 0.0


class Ingest:
    """One run's reading of its inbox into the store, for one model and prompt version (whose summaries it queues)."""

    def __init__(
        self,
        store: Store,
        *,
        model: str,
        prompt_version: str,
        config: BatchConfig,
        run_id: int,
        counters: Counters | None = None,
        progress: BatchProgress | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.prompt_version = prompt_version
        self.config = config
        self.run_id = run_id
        self.counters = counters if counters is not None else Counters()
        self.progress = progress
        self._inbox_ids: list[int] = []
        self._events: Grouper | None = None
        self._counted_skipped: set[int] = set()

    def read(self, items: Iterable[Item]) -> None:
        """Store every inbox item, INGEST_CHUNK at a time, then :meth:`finish`."""
        for chunk in chunked(items, INGEST_CHUNK):
            self.chunk(chunk)
        self.finish()

    def chunk(self, items: list[Item]) -> list[tuple[int, int]]:
        """Store one chunk of inbox items, queue summaries for its canonical articles (one transaction)
        and return (summary ID, article ID) of its articles' pending summaries, in article order.
        Summaries do not depend on events, so what a chunk queued can be worked on at once (the
        worker processes do); only briefs wait for :meth:`finish`."""
        start = len(self._inbox_ids)
        self._store(items)
        ids = self._inbox_ids[start:]
        summaries = self.store.summaries_of(ids, model=self.model, prompt_version=self.prompt_version)
        pending = []
        for article_id, (summary_id, state) in sorted(summaries.items()):
            # Counted before anything of this run is summarised: done now means done by an earlier run.
            if state == "done" and article_id not in self._counted_skipped:
                self._counted_skipped.add(article_id)
                self.counters.skipped += 1
            elif state == "pending":
                pending.append((summary_id, article_id))
        return pending

    def finish(self) -> None:
        """The whole inbox is in, every new article in its event (an empty inbox still places what an older
        run left without an event)."""
        self._grouper()
        self._notify("ingested")

    def _notify(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what, self.counters)

    def _store(self, items: list[Item]) -> None:
        docs = [item.document for item in items if item.document is not None]
        known = self.store.known_hashes([d.sha256 for d in docs])
        grouper = self._grouper()
        # The CPU work and the reads first, outside the transaction: while workers run, they wait for its lock.
        fresh: dict[str, _Fresh] = {}
        for doc in docs:
            if doc.sha256 not in known and doc.sha256 not in fresh:
                fresh[doc.sha256] = _Fresh(dedupe.sketch(doc.text), events.terms(doc.title, doc.text))
        self._find_duplicates(fresh)
        counted = [new.terms for new in fresh.values() if new.duplicate_of is None]
        now = time.time()
        start = len(self._inbox_ids)
        counters = self.counters
        try:
            vectors = iter(grouper.count(counted))  # in inbox order, as the loop below places them
            with self.store.transaction():
                for item in items:
                    counters.seen += 1
                    if item.document is None:
                        counters.input_errors += 1
                        self.store.add_input_error(item.origin, item.error or "unreadable", self.run_id)
                        continue
                    doc = item.document
                    article_id = known.get(doc.sha256)
                    if article_id is not None:
                        self.store.add_sighting(article_id, doc.origin, self.run_id)
                        self._inbox_ids.append(article_id)
                        continue
                    article_id = self.store.add_article(doc, seen_at=now, run_id=self.run_id)
                    known[doc.sha256] = article_id
                    self._inbox_ids.append(article_id)
                    counters.new += 1
                    new = fresh[doc.sha256]
                    published = parse_time(doc.published)
                    at = now if published is None else published
                    if new.duplicate_of is not None:
                        of = new.duplicate_of if isinstance(new.duplicate_of, int) else known[new.duplicate_of]
                        self.store.mark_duplicate(article_id, of, new.similarity)
                        counters.duplicates += 1
                        grouper.place_copy(
                            article_id, of, title=doc.title, text=doc.text, at=at, dated=published is not None
                        )
                    else:
                        prefix = new.sketch[: dedupe.INDEXED_PREFIX]
                        self.store.set_sketch(article_id, dedupe.pack(new.sketch), prefix)
                        grouper.place(article_id, next(vectors), at=at, dated=published is not None, label=doc.title)
                self.store.add_doc_freq(counted)
                grouper.save()
                self.store.queue_summaries(
                    self._inbox_ids[start:], model=self.model, prompt_version=self.prompt_version, run_id=self.run_id
                )
        except BaseException:
            grouper.forget()  # what it counted and placed was rolled back
            raise
        self._notify("ingest")

    def _grouper(self) -> Grouper:
        """The run's event grouping, made with its first chunk: articles an older run left without an event first."""
        if self._events is None:
            window = self.config.event_window_days * 86400.0
            grouper = Grouper(self.store, threshold=self.config.event_threshold, window=window, run_id=self.run_id)
            grouper.place_leftovers()
            self._events = grouper
        return self._events

    def _find_duplicates(self, fresh: dict[str, _Fresh]) -> None:
        """Decide which of a chunk's new articles (in inbox order) are near-duplicates, of a stored
        canonical article or of an earlier one in the chunk, as if each were stored before the next
        is looked at. Reads only: the parent is the one process that adds articles."""
        canonical: list[tuple[str, tuple[int, ...]]] = []  # this chunk's, in order: ids above every stored one
        for sha, new in fresh.items():
            prefix = new.sketch[: dedupe.INDEXED_PREFIX]
            stored = self.store.sketch_candidates(prefix, min(dedupe.MIN_SHARED, len(prefix)))
            # Oldest first: the stored ones by ID, then this chunk's (ties go to the first given).
            candidates: list[tuple[int | str, Sequence[int]]] = [
                (article_id, dedupe.unpack(packed)) for article_id, packed in sorted(stored)
            ]
            candidates += [
                (earlier, sketch) for earlier, sketch in canonical if dedupe.shares_index(new.sketch, sketch)
            ]
            found = dedupe.most_similar(new.sketch, candidates, self.config.duplicate_threshold)
            if found is None:
                canonical.append((sha, new.sketch))
            else:
                new.duplicate_of, new.similarity = found
