"""Reading the inbox into the store (``summarizer.batch.ingest``): near-duplicates and events, whatever the chunks."""

from pathlib import Path
from typing import Any

from summarizer.ask import Settings
from summarizer.batch import inbox
from summarizer.batch.config import BatchConfig
from summarizer.batch.ingest import chunked
from summarizer.batch.runner import Batch
from summarizer.batch.store import Store
from summarizer.templates import load_prompts
from tests.doubles.synthetic import synthetic_articles
from tests.test_batch_runner import rows, write_inbox


def syndicated(record: dict[str, str], agency: str) -> dict[str, str]:
    """A wire copy of ``record``: its own headline, byline and footer around the same story."""
    text = f"{agency} - {record['text']}\n\n(c) {agency} 2024"
    return {**record, "title": f"{record['title']} ({agency})", "text": text, "url": record["url"] + "#" + agency}


def test_duplicates_are_found_alike_whatever_the_ingest_chunks(tmp_path: Path) -> None:
    """A chunk's near-duplicates are decided before its transaction, against the store and the chunk's
    earlier articles: the same links as storing one article at a time."""
    records = synthetic_articles(24, per_event=4, seed=5, sentences=10)
    inbox_records = [
        records[0],
        syndicated(records[0], "Reuters"),  # a copy of an article of the same chunk
        records[1],
        records[0],  # an exact copy
        *records[2:12],
        syndicated(syndicated(records[0], "Reuters"), "AFP"),  # a copy of the copy
        *records[12:],
        syndicated(records[3], "AP"),  # a copy of an article of an earlier chunk
        syndicated(records[20], "AP"),
        syndicated(records[20], "DPA"),  # two copies of one article, side by side
    ]
    feed = write_inbox(tmp_path / "feed.jsonl", inbox_records)
    outcomes = []
    for size in (1, 7, len(inbox_records)):
        with Store(tmp_path / f"{size}.db") as store:
            batch = Batch(store, model="m", prompts=load_prompts(), settings=Settings(), config=BatchConfig())
            batch.start(inbox=str(feed))
            ingest = batch.ingest()
            for chunk in chunked(inbox.read([str(feed)]), size):
                ingest.chunk(chunk)
            ingest.finish()
            outcomes.append(
                [
                    tuple(r)
                    for r in store.query("SELECT id, duplicate_of, similarity, event_id FROM articles ORDER BY id")
                ]
            )
    one_at_a_time = outcomes[0]
    assert sum(1 for r in one_at_a_time if r[1] is not None) == 5
    assert len(one_at_a_time) == len(inbox_records) - 1  # the exact copy is a sighting
    assert outcomes[1] == one_at_a_time and outcomes[2] == one_at_a_time


def event_partition(store_path: Path) -> list[int]:
    """Each article's event, numbered by first appearance (comparable across stores)."""
    numbers: dict[int, int] = {}
    return [
        numbers.setdefault(r["event_id"], len(numbers))
        for r in rows(store_path, "SELECT event_id FROM articles ORDER BY id")
    ]


def ingest_runs(store_path: Path, feeds: list[Path], **config: Any) -> None:
    """Each feed ingested by a run of its own (no model calls)."""
    with Store(store_path) as store:
        for feed in feeds:
            batch = Batch(store, model="m", prompts=load_prompts(), settings=Settings(), config=BatchConfig(**config))
            batch.start(inbox=str(feed))
            batch.ingest().read(inbox.read([str(feed)]))
            batch.finish("completed")


def test_articles_are_grouped_alike_in_one_run_or_one_run_each(tmp_path: Path) -> None:
    """Incremental IDF: an article's vector is weighted with the articles stored before it and itself,
    so an hourly job groups an inbox as one run over all of it would (here, dated articles)."""
    records = synthetic_articles(60, per_event=4, seed=12)
    records.append(syndicated(records[5], "AP"))
    whole = write_inbox(tmp_path / "all.jsonl", records)
    singles = [write_inbox(tmp_path / f"{i}.jsonl", [r]) for i, r in enumerate(records)]
    ingest_runs(tmp_path / "one.db", [whole])
    ingest_runs(tmp_path / "each.db", singles)
    together, apart = event_partition(tmp_path / "one.db"), event_partition(tmp_path / "each.db")
    assert together == apart
    assert together == [i // 4 for i in range(60)] + [5 // 4]  # the copy joins its original's event
    # Stored alike too: each article's similarity to its event when it joined, and the events' centroids.
    stored = [
        (
            rows(tmp_path / name, "SELECT event_id, event_similarity FROM articles ORDER BY id"),
            rows(tmp_path / name, "SELECT id, size, centroid, first_at, last_at FROM events ORDER BY id"),
        )
        for name in ("one.db", "each.db")
    ]
    assert stored[0] == stored[1]


def test_articles_an_older_run_left_without_an_event_are_placed_first(tmp_path: Path) -> None:
    """A run of an older version stored articles and was killed before it grouped them: the next run
    places them, oldest first, before its own new articles (one event spans both runs here)."""
    records = synthetic_articles(24, per_event=4, seed=14)
    first, second = write_inbox(tmp_path / "1.jsonl", records[:14]), write_inbox(tmp_path / "2.jsonl", records[14:])
    ingest_runs(tmp_path / "ref.db", [first, second])
    expected = rows(tmp_path / "ref.db", "SELECT id, event_id FROM articles ORDER BY id")
    assert len({r["event_id"] for r in expected}) == 6

    def forget_events() -> None:
        with Store(tmp_path / "old.db") as store, store.transaction():
            store.db.execute("UPDATE articles SET event_id = NULL, event_similarity = NULL")
            store.db.execute("DELETE FROM events")

    ingest_runs(tmp_path / "old.db", [first])
    forget_events()
    ingest_runs(tmp_path / "old.db", [second])
    # The same event (by id) for every article: placed after the new ones, the leftovers' would differ.
    assert rows(tmp_path / "old.db", "SELECT id, event_id FROM articles ORDER BY id") == expected
    # An inbox with nothing new places them too.
    forget_events()
    ingest_runs(tmp_path / "old.db", [write_inbox(tmp_path / "empty.jsonl", [])])
    assert rows(tmp_path / "old.db", "SELECT id, event_id FROM articles ORDER BY id") == expected
