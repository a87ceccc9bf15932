"""The batch in worker processes (``pool``, ``worker``): the parent reads the inbox while the workers summarise it."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from summarizer.ask import Settings
from summarizer.batch import inbox, pool, worker
from summarizer.batch.config import BatchConfig, Counters
from summarizer.batch.ingest import INGEST_CHUNK, STREAM_CHUNK, Ingest
from summarizer.batch.retry import RetryPolicy
from summarizer.batch.runner import Batch
from summarizer.batch.store import Store
from summarizer.providers import Provider, resolve
from summarizer.templates import load_prompts
from tests.doubles.answers import is_brief_request, user_text
from tests.doubles.server import Reply, ScriptedServer, responder
from tests.doubles.synthetic import synthetic_articles
from tests.test_batch_runner import run_batch

pytestmark = pytest.mark.skipif(not pool.supported(), reason="worker processes need Linux (fork, prctl)")

FAST_RETRY = RetryPolicy(attempts=2, initial=0.01, maximum=0.02, jitter=0.0)


def write_inbox(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run(store_path: Path, feed: Path, server: ScriptedServer, ready: Any = None, **config: Any) -> Batch:
    """One run as the command does it, in two worker processes unless ``config`` says otherwise."""
    return run_batch(store_path, [str(feed)], server, ready=ready, **{"workers": 2, "retry": FAST_RETRY, **config})


def provider_of(server: ScriptedServer) -> Provider:
    return resolve(base_url=server.base_url, model="scripted", timeout=10.0)


def summary_requests(server: ScriptedServer, titles: list[str]) -> Counter[str]:
    return Counter(t for r in server.requests if not is_brief_request(r) for t in titles if t in user_text(r))


def table(store_path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(store_path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_the_workers_summarise_while_the_inbox_is_read_and_everything_is_done_once(tmp_path: Path) -> None:
    records = synthetic_articles(120, per_event=6, seed=5)
    titles = [r["title"] for r in records]
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    store_path = tmp_path / "b.db"
    stored_at_first_request: list[int] = []
    answer = responder(delay=0.02)
    lock = threading.Lock()

    def watching(request: dict[str, Any]) -> Reply:
        with lock:
            if not stored_at_first_request:
                stored_at_first_request.append(table(store_path, "SELECT COUNT(*) FROM articles")[0][0])
        return answer(request)

    with ScriptedServer(default=watching) as server:
        batch = run(store_path, feed, server)
        assert summary_requests(server, titles) == Counter(titles)  # each article asked for exactly once

    assert stored_at_first_request[0] < len(records)  # the first request went out before the inbox was all in
    c = batch.counters
    assert (c.seen, c.new, c.queued, c.summarized, c.failed) == (120, 120, 120, 120, 0)
    assert table(store_path, "SELECT status, COUNT(*) FROM summaries GROUP BY status") == [("done", 120)]
    # Each event's brief was asked for once, after all its members were finished: it covers every one.
    members = Counter(r[0] for r in table(store_path, "SELECT event_id FROM articles"))
    briefs = {event_id: json.loads(m) for event_id, m in table(store_path, "SELECT event_id, members FROM briefs")}
    assert len(briefs) == c.briefs == c.briefs_queued == sum(1 for n in members.values() if n >= 2)
    for event_id, brief_members in briefs.items():
        assert len(brief_members) == members[event_id]
    assert c.calls == 120 + c.briefs


def test_nothing_new_starts_nothing(tmp_path: Path) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(12, per_event=4, seed=2))
    with ScriptedServer(default=responder()) as server:
        run(tmp_path / "b.db", feed, server)
        asked = len(server.requests)

        def never() -> Provider:
            raise AssertionError("the provider was started with nothing to do")

        again = run(tmp_path / "b.db", feed, server, never)
        assert len(server.requests) == asked
    assert (again.counters.skipped, again.counters.calls, again.counters.queued) == (12, 0, 0)


def test_known_articles_are_read_in_growing_chunks_and_new_work_in_short_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = synthetic_articles(300, per_event=5, seed=6)
    new = synthetic_articles(330, per_event=5, seed=6)[300:]
    feed = write_inbox(tmp_path / "feed.jsonl", old)
    store_path = tmp_path / "b.db"
    chunks: list[list[str]] = []
    chunk = Ingest.chunk

    def recording(self: Ingest, items: list[Any]) -> list[tuple[int, int]]:
        chunks.append([item.document.title for item in items])
        return chunk(self, items)

    with ScriptedServer(default=responder()) as server:
        run(store_path, feed, server)
        write_inbox(feed, old + new)  # an appended feed: the new articles come last
        monkeypatch.setattr(Ingest, "chunk", recording)
        batch = run(store_path, feed, server)
        assert summary_requests(server, [r["title"] for r in new]) == Counter(r["title"] for r in new)

    # Nothing to hand out while the known articles are read: each chunk twice as long as the one before
    # (one transaction each), not 60 of the short ones that keep workers from waiting on the store; the
    # last of them ends where the new articles begin. Those go out in short chunks, as from a fresh inbox.
    fresh = {r["title"] for r in new}
    first_new = next(n for n, chunk in enumerate(chunks) if fresh & set(chunk))
    growing = [min(STREAM_CHUNK * 2**n, INGEST_CHUNK) for n in range(first_new)]
    sizes = [len(chunk) for chunk in chunks]
    assert sizes[: first_new - 1] == growing[:-1] and 0 < sizes[first_new - 1] <= growing[-1]
    assert sum(sizes[:first_new]) == len(old)
    assert all(size <= STREAM_CHUNK for size in sizes[first_new:]) and sum(sizes) == 330
    c = batch.counters
    assert (c.seen, c.skipped, c.new, c.summarized, c.failed) == (330, 300, 30, 30, 0)


def test_leftovers_of_an_earlier_run_and_new_articles_are_done_in_one_run(tmp_path: Path) -> None:
    first = synthetic_articles(30, per_event=5, seed=3)
    later = synthetic_articles(60, per_event=5, seed=3)[30:]
    feed = write_inbox(tmp_path / "feed.jsonl", first)
    store_path = tmp_path / "b.db"
    with ScriptedServer(default=lambda request: Reply(status=500, body={"error": {"message": "down"}})) as down:
        failed = run(store_path, feed, down)
    assert failed.counters.failed == 30  # transient failures: retried by the next run

    write_inbox(feed, first + later)
    titles = [r["title"] for r in first + later]
    with ScriptedServer(default=responder()) as server:
        batch = run(store_path, feed, server)
        assert summary_requests(server, titles) == Counter(titles)
    assert (batch.counters.new, batch.counters.summarized, batch.counters.failed) == (30, 60, 0)
    assert table(store_path, "SELECT status, COUNT(*) FROM summaries GROUP BY status") == [("done", 60)]


def test_work_already_in_the_store_is_done_by_the_workers_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The library's one entry point, with nothing new to read: what the store holds goes to the workers.
    records = synthetic_articles(40, per_event=5, seed=9)
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    handed: list[int] = []
    summaries = pool.Pool.summaries

    def recording(self: pool.Pool, work: list[tuple[int, int]]) -> None:
        handed.append(len(work))
        summaries(self, work)

    monkeypatch.setattr(pool.Pool, "summaries", recording)
    with ScriptedServer(default=responder()) as server, Store(tmp_path / "b.db") as store:
        batch = Batch(
            store,
            model="scripted",
            prompts=load_prompts(),
            settings=Settings(),
            config=BatchConfig(concurrency=4, workers=2, retry=FAST_RETRY),
        )
        batch.start(inbox=str(feed))
        batch.ingest().read(inbox.read([str(feed)]))
        assert len(batch.planner.leftovers()) == 40 and not batch.planner.stale_briefs()
        batch.run([], lambda: provider_of(server))
    assert handed == [40]
    c = batch.counters
    assert (c.summarized, c.briefs, c.queued, c.briefs_queued) == (40, 8, 40, 8)
    assert table(tmp_path / "b.db", "SELECT status, COUNT(*) FROM summaries GROUP BY status") == [("done", 40)]


def test_a_worker_reports_the_jobs_it_finished_together_and_soon() -> None:
    # The parent hands out briefs and ends the run on finished jobs: each is reported within
    # REPORT_FINISHED_WITHIN, with the others finished meanwhile in the same line (not one line each).
    import asyncio
    import os
    import time

    def lines(read_end: int) -> list[dict[str, Any]]:
        return [json.loads(line) for line in os.read(read_end, 1 << 16).splitlines()]

    read_end, write_end = os.pipe()
    reporter = worker.Reporter(write_end)
    finished = reporter.finished
    counters = Counters()
    during: list[dict[str, Any]] = []

    async def scenario() -> None:
        reporter("start", counters)  # nothing reported yet: the counters go at once
        for n in range(3):
            finished.append(("summary", n))
            counters.summarized += 1
            reporter("article", counters)
        await asyncio.sleep(0.05)
        during.extend(lines(read_end))

    asyncio.run(scenario())
    assert [line.get("finished") for line in during] == [None, [["summary", 0], ["summary", 1], ["summary", 2]]]
    assert during[1]["counters"]["summarized"] == 3
    finished.append(("brief", 7))
    reporter("final", counters, final=True)
    os.close(write_end)
    assert [line["finished"] for line in lines(read_end)] == [[["brief", 7]]]
    os.close(read_end)
    # Without an event loop to wait on, a finished job is reported at once.
    read_end, write_end = os.pipe()
    reporter = worker.Reporter(write_end)
    reporter.sent = time.monotonic()
    reporter.finished.append(("summary", 9))
    reporter("article", counters)
    os.close(write_end)
    assert [line["finished"] for line in lines(read_end)] == [[["summary", 9]]]
    os.close(read_end)


def test_a_summary_handed_out_by_id_reads_its_article_when_it_starts_and_one_done_meanwhile_is_skipped(
    tmp_path: Path,
) -> None:
    """A worker holds handed-out summaries as IDs (an inbox handed out at once is not held as texts): each
    article is read from the store when its summary starts, and a summary no longer pending is finished
    at once, without a second summary."""
    from summarizer.batch.engines import ExtractiveEngine
    from summarizer.batch.executing import Executor, run_cancellable
    from summarizer.batch.records import SummaryJob

    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(3, seed=23))
    config = BatchConfig(engine="extractive", workers=1)
    with Store(tmp_path / "b.db") as store:
        store.lock()
        batch = Batch(store, model="m", prompts=load_prompts(), settings=Settings(), config=config)
        run_id = batch.start(inbox=str(feed))
        batch.ingest().read(inbox.read([str(feed)]))
        pending = batch.planner.pending()
        assert len(pending) == 3
        done_meanwhile = pending[0]
        assert store.finish_summary(
            done_meanwhile.summary_id, status="done", result="{}", error=None, error_kind=None, stats={},
            run_id=run_id, article_id=done_meanwhile.article_id, sentences=None, attempts=1,
        )  # fmt: skip
        finished: list[Any] = []
        executor = Executor(
            store, ExtractiveEngine(), model=batch.model, prompt_version=batch.prompt_version, config=config,
            run_id=run_id, on_finished=finished.append,
        )  # fmt: skip
        for item in pending:
            executor.submit(SummaryJob(item.summary_id))
        run_cancellable(executor.run())
        results = dict(store.query("SELECT id, result FROM summaries"))
    assert finished[0] == SummaryJob(done_meanwhile.summary_id)
    assert sorted(job.summary_id for job in finished[1:]) == [p.summary_id for p in pending[1:]]
    assert results[done_meanwhile.summary_id] == "{}"  # not summarised again
    for item in pending[1:]:
        assert json.loads(results[item.summary_id])["article_id"] == f"a{item.article_id}"
