"""A bug some input trips, in whole runs: the job it hits fails alone, said to be a bug, and the batch goes on; a bug
every job trips stops the batch after a few, with the bug's own error (in one process and in worker processes)."""

from pathlib import Path
from typing import Any

import pytest

from summarizer import segment as segment_module
from summarizer.batch.executing import BROKEN_IN_A_ROW
from tests.doubles.server import ScriptedServer
from tests.doubles.synthetic import synthetic_articles
from tests.test_batch_runner import rows, run_batch, valid_server, write_inbox

__all__ = ["valid_server"]  # the fixture, used by name

TRIPWIRE = "tripwire-7731"


@pytest.fixture
def buggy_segmenter(monkeypatch: pytest.MonkeyPatch) -> None:
    """The segmenter raises on any text holding TRIPWIRE, as a bug some input trips would."""
    segment = segment_module.segment

    def tripping(text: str) -> Any:
        if TRIPWIRE in text:
            raise RuntimeError("the segmenter tripped")
        return segment(text)

    monkeypatch.setattr(segment_module, "segment", tripping)


@pytest.mark.parametrize("workers", [1, 2])
def test_an_article_that_trips_a_bug_fails_alone_and_the_batch_goes_on(
    tmp_path: Path, valid_server: ScriptedServer, buggy_segmenter: None, workers: int
) -> None:
    records = synthetic_articles(6, per_event=3, seed=21)
    records[1]["text"] += f" The code word was {TRIPWIRE}."
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    batch = run_batch(tmp_path / "b.db", [str(feed)], valid_server, concurrency=4, workers=workers)
    assert (batch.counters.summarized, batch.counters.failed) == (5, 1)
    (failed,) = rows(tmp_path / "b.db", "SELECT error, error_kind FROM summaries WHERE status = 'failed'")
    assert failed["error"] == "a bug in summarizer (RuntimeError: the segmenter tripped); please report it"
    assert failed["error_kind"] == "transient"  # retried by the next run
    assert batch.counters.briefs == 2  # the first event is briefed from its two other members


def test_once_the_bug_is_fixed_the_next_run_does_what_it_failed(
    tmp_path: Path, valid_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import summarizer.analysis as analysis_module

    segment, analyse_yielding = segment_module.segment, analysis_module.analyse_yielding

    def tripping(text: str) -> Any:
        if TRIPWIRE in text:
            raise RuntimeError("the segmenter tripped")
        return segment(text)

    async def tripping_analysis(articles: Any) -> Any:
        raise ValueError("the analysis tripped")

    records = synthetic_articles(6, per_event=3, seed=24)
    records[4]["text"] += f" The code word was {TRIPWIRE}."
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    with monkeypatch.context() as patched:
        patched.setattr(segment_module, "segment", tripping)
        patched.setattr(analysis_module, "analyse_yielding", tripping_analysis)
        first = run_batch(tmp_path / "b.db", [str(feed)], valid_server, concurrency=2, workers=1)
    assert (first.counters.failed, first.counters.briefs, first.counters.briefs_failed) == (1, 0, 2)
    assert segment_module.segment is segment and analysis_module.analyse_yielding is analyse_yielding
    fixed = run_batch(tmp_path / "b.db", [str(feed)], valid_server, concurrency=2, workers=1)
    assert (fixed.counters.summarized, fixed.counters.failed, fixed.counters.briefs) == (1, 0, 2)


def test_a_bug_every_article_trips_stops_the_batch_with_its_own_error(
    tmp_path: Path, valid_server: ScriptedServer, buggy_segmenter: None
) -> None:
    records = synthetic_articles(30, per_event=3, seed=22)
    for record in records:
        record["text"] += f" The code word was {TRIPWIRE}."
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    with pytest.raises(RuntimeError, match="the segmenter tripped"):
        run_batch(tmp_path / "b.db", [str(feed)], valid_server, concurrency=2, workers=1)
    statuses = [r["status"] for r in rows(tmp_path / "b.db", "SELECT status FROM summaries")]
    assert statuses.count("failed") == BROKEN_IN_A_ROW - 1  # recorded as failed before the one that stopped it
    assert statuses.count("pending") == len(records) - statuses.count("failed")  # the rest waits for a fix
    assert valid_server.requests == []


def test_an_event_whose_analysis_trips_a_bug_has_its_brief_failed_and_the_others_are_made(
    tmp_path: Path, valid_server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import summarizer.analysis as analysis_module

    analyse_yielding = analysis_module.analyse_yielding

    async def tripping(articles: Any) -> Any:
        if any(TRIPWIRE in a.doc.text for a in articles):
            raise ValueError("the analysis tripped")
        return await analyse_yielding(articles)

    monkeypatch.setattr(analysis_module, "analyse_yielding", tripping)
    records = synthetic_articles(9, per_event=3, seed=23)
    records[4]["text"] += f" The code word was {TRIPWIRE}."
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    batch = run_batch(tmp_path / "b.db", [str(feed)], valid_server, concurrency=2, workers=1)
    assert (batch.counters.summarized, batch.counters.briefs, batch.counters.briefs_failed) == (9, 2, 1)
    (failed,) = rows(tmp_path / "b.db", "SELECT error FROM briefs WHERE status = 'failed'")
    assert failed["error"] == "a bug in summarizer (ValueError: the analysis tripped); please report it"
