"""Events as the inbox is read: each new article joins an event, or starts one, in the transaction that stores it.

    grouper = Grouper(store, threshold=0.15, window=3 * 86400.0, run_id=run_id)
    vectors = grouper.count([terms_of_each_new_article])   # before the transaction, in inbox order
    with store.transaction():
        ...                                                 # the articles stored, their terms counted
        grouper.place(article_id, vectors[0], at=at, dated=True, label=title)
        grouper.save()

As on-line event detection systems do, an article's TF-IDF vector is weighted with *incremental*
IDF: the document frequencies of the articles stored before it, and of itself. An inbox of
dated articles is therefore grouped the same way however it reaches the store: in one run or
one article per run, in chunks of any size, with one process or several. (Counting the whole
run's inbox first would make an article's event depend on what else arrived in the same
hour.) An undated article has no time to compare: it may join any event the run has read so
far, which depends on the dated articles before it in the run. The first articles of an
empty store are weighted with few documents' frequencies; on the seed reports and the
synthetic events of the tests and the benchmark this groups exactly as whole-inbox IDF did.

The grouper keeps what it has read (document frequencies, the events an article could join)
for the whole run; only this process writes either while it runs (the store's batch lock). If
a transaction it took part in fails, :meth:`Grouper.forget` drops that and it is read again.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping

from summarizer.batch import events
from summarizer.batch.store import Store

LEFTOVER_CHUNK = 100
"""Articles per transaction when grouping articles an interrupted older run stored without an event."""


class Grouper:
    """Places a run's new articles into events, one at a time, in inbox order."""

    def __init__(self, store: Store, *, threshold: float, window: float, run_id: int) -> None:
        self.store = store
        self.window = window
        self.run_id = run_id
        self.threshold = threshold
        self.forget()

    def forget(self) -> None:
        """Drop what was read from the store (after a failed transaction): it is read again when needed."""
        self.index = events.EventIndex(threshold=self.threshold, window=self.window)
        self._horizon = math.inf
        """Every stored event that was active at or after this time is in the index."""
        self._doc_freq: dict[str, int] = {}
        self._doc_count: int | None = None
        self._changed: set[int] = set()

    def count(self, documents: list[Counter[str]]) -> list[dict[str, float]]:
        """Count ``documents`` (new articles' term counts, in inbox order) in the document frequencies, one
        after the other, and return each one's vector, weighted with the frequencies up to and including it.

        Call it before the transaction that stores them and adds the same documents to the store's
        frequencies (:meth:`Store.add_doc_freq`); if that transaction fails, call :meth:`forget`."""
        self._read_doc_freq(term for counts in documents for term in counts)
        vectors = []
        for counts in documents:
            for term in counts:
                self._doc_freq[term] += 1
            self._doc_count = (self._doc_count or 0) + 1
            vectors.append(events.tfidf(counts, self._doc_freq, self._doc_count))
        return vectors

    def vector(self, counts: Mapping[str, int]) -> dict[str, float]:
        """The vector of an article that is already counted (or, a copy, never is)."""
        self._read_doc_freq(counts)
        return events.tfidf(counts, self._doc_freq, self._doc_count or 0)

    def place(self, article_id: int, vector: Mapping[str, float], *, at: float, dated: bool, label: str) -> None:
        """Join the stored article to the most similar event in its time window, or start an event with it.
        An undated article (``at`` is when it was first seen) may join any event read so far."""
        self._read_events(at)
        when = at if dated else None
        found = self.index.best(vector, when)
        if found is None:
            event_id = self.store.create_event(label=label, centroid={}, at=at, run_id=self.run_id)
            event = events.Event(id=event_id, label=label, centroid={}, size=0, first_at=at, last_at=at)
            self.index.add_event(event)
            similarity = None
        else:
            event, similarity = found
        self.index.join(event, vector, when)
        self._changed.add(event.id)
        self.store.assign_event(article_id, event.id, similarity)

    def place_copy(self, article_id: int, of: int, *, title: str, text: str, at: float, dated: bool) -> None:
        """A near-duplicate joins the event of the article it copies; if that has none (a store an older
        version left), it is placed as an article of its own."""
        event_id = self.store.event_of(of)
        if event_id is not None:
            self.store.assign_event(article_id, event_id, None)
        else:
            self.place(article_id, self.vector(events.terms(title, text)), at=at, dated=dated, label=title)

    def save(self) -> None:
        """Write the events placed into since the last save (in the transaction that placed them)."""
        for event_id in sorted(self._changed):
            event = self.index.events[event_id]
            self.store.save_event(
                event_id, centroid=event.centroid, size=event.size, first_at=event.first_at, last_at=event.last_at
            )
        self._changed.clear()

    def place_leftovers(self) -> int:
        """Place the stored articles that have no event (a run of an older version interrupted between
        storing and grouping them), oldest first, before this run's; how many there were. Their terms
        were counted when they were stored: they are weighted with the frequencies as they are now."""
        rows = self.store.unassigned_articles()
        for start in range(0, len(rows), LEFTOVER_CHUNK):
            try:
                with self.store.transaction():
                    for row in rows[start : start + LEFTOVER_CHUNK]:
                        at, dated = float(row["at"]), bool(row["dated"])
                        title, text = row["title"], row["body"]
                        if row["duplicate_of"] is not None:
                            of = int(row["duplicate_of"])
                            self.place_copy(int(row["id"]), of, title=title, text=text, at=at, dated=dated)
                        else:
                            vector = self.vector(events.terms(title, text))  # counted when it was stored
                            self.place(int(row["id"]), vector, at=at, dated=dated, label=title)
                    self.save()
            except BaseException:
                self.forget()
                raise
        return len(rows)

    def _read_doc_freq(self, terms: Iterable[str]) -> None:
        missing = {term for term in terms if term not in self._doc_freq}
        if missing:
            found = self.store.doc_freq(missing)
            self._doc_freq.update({term: found.get(term, 0) for term in missing})
        if self._doc_count is None:
            self._doc_count = self.store.doc_count()

    def _read_events(self, at: float) -> None:
        """Read the stored events an article at ``at`` could join (active within the window before it)."""
        since = at - self.window
        if since >= self._horizon:
            return
        for row in self.store.events_since(since):
            if int(row["id"]) not in self.index.events:
                self.index.add_event(
                    events.Event(
                        id=int(row["id"]),
                        label=row["label"],
                        centroid=json.loads(row["centroid"]),
                        size=int(row["size"]),
                        first_at=float(row["first_at"]),
                        last_at=float(row["last_at"]),
                    )
                )
        self._horizon = since
