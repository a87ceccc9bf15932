"""Doing jobs in one process (``summarizer.batch.executing``): cancellation, results waiting for the store's lock."""

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from summarizer.ask import Settings
from summarizer.batch import inbox
from summarizer.batch.config import BatchConfig
from summarizer.batch.engines import ExtractiveEngine, open_engine
from summarizer.batch.executing import Executor
from summarizer.batch.runner import Batch
from summarizer.batch.store import Store
from summarizer.batch.writing import ResultWriter
from summarizer.providers import Provider, resolve
from summarizer.templates import load_prompts
from summarizer.transport import ThreadedTransport
from tests.doubles.answers import answer
from tests.doubles.server import Reply, ScriptedServer
from tests.doubles.synthetic import synthetic_articles
from tests.test_batch_runner import FAST_RETRY, rows, write_inbox


def test_a_cancelled_batch_sends_no_request_that_was_waiting_for_a_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One slot: one request held by the server, the next waiting for the slot. Cancelled (Ctrl-C, SIGTERM,
    # another worker's refusal), the held one frees its slot as it is cancelled: the waiting one must not
    # take it and go out. Which of the two cancellations the transport's thread sees first is a race, so
    # the client is also checked to be halted (nothing more sent) once the cancelled batch returns.
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(4, seed=6))
    clients: list[Any] = []
    batch_client = Provider.batch_client
    sent: list[dict[str, Any]] = []
    complete = ThreadedTransport.complete

    async def sending(self: ThreadedTransport, body: dict[str, Any]) -> Any:
        sent.append(body)
        return await complete(self, body)

    monkeypatch.setattr(ThreadedTransport, "complete", sending)
    monkeypatch.setattr(
        Provider, "batch_client", lambda self, limit: clients.append(batch_client(self, limit)) or clients[-1]
    )
    with (
        ScriptedServer(default=lambda r: Reply.tool(answer(r), delay=2.0)) as server,
        Store(tmp_path / "b.db") as store,
    ):
        config = BatchConfig(retry=FAST_RETRY, concurrency=1)
        batch = Batch(store, model="scripted", prompts=load_prompts(), settings=Settings(), config=config)
        batch.start(inbox=str(feed))
        batch.ingest().read(inbox.read([str(feed)]))
        provider = resolve(base_url=server.base_url, model="scripted", timeout=10.0)

        async def cancel_once_a_request_is_held() -> None:
            engine = open_engine(provider, model="scripted", prompts=load_prompts(), settings=Settings(), concurrency=1)
            executor = Executor(
                store,
                engine,
                model=batch.model,
                prompt_version=batch.prompt_version,
                config=config,
                run_id=batch.run_id,
            )
            for item in batch.planner.leftovers():
                executor.submit(item)
            running = asyncio.create_task(executor.run())
            while not server.requests or len(sent) < 2:  # one held by the server, one handed to the transport
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.02)  # for the transport's thread to put it at the slot's gate
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
            await engine.close()
            await asyncio.sleep(0.2)

        asyncio.run(cancel_once_a_request_is_held())
        assert len(server.requests) == 1
    assert [client.halted for client in clients] == [True]
    assert {r["status"] for r in rows(tmp_path / "b.db", "SELECT status FROM summaries")} == {"pending"}


def _summaries_to_finish(store: Store, tmp_path: Path, count: int = 1) -> tuple[Batch, list[Callable[[], bool]]]:
    """``count`` articles ingested into ``store``, and the write of each one's result, as an executor makes it."""
    batch = Batch(store, model="m", prompts=load_prompts(), settings=Settings(), config=BatchConfig())
    run = batch.start(inbox="x")
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(count, seed=9))
    batch.ingest().chunk(list(inbox.read([str(feed)])))
    items = batch.planner.pending()
    assert len(items) == count

    def finish(item: Any) -> Callable[[], bool]:
        return lambda: store.finish_summary(
            item.summary_id, status="done", result="{}", error=None, error_kind=None, stats={}, run_id=run,
            article_id=item.article_id, sentences=None, attempts=1,
        )  # fmt: skip

    return batch, [finish(item) for item in items]


def _executor(store: Store, batch: Batch, engine: Any = None, **config: Any) -> Executor:
    """An executor for ``batch``'s pending summaries, all submitted (the extractive engine unless given)."""
    executor = Executor(
        store, engine or ExtractiveEngine(), model=batch.model, prompt_version=batch.prompt_version,
        config=BatchConfig(**config), run_id=batch.run_id,
    )  # fmt: skip
    for item in batch.planner.pending():
        executor.submit(item)
    return executor


@contextlib.contextmanager
def _lock_held_elsewhere(path: Path) -> Iterator[threading.Event]:
    """Another connection (as another process's would) holds the store's write lock until the event is set."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Store(path) as other, other.transaction():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    try:
        yield release
    finally:
        release.set()
        holder.join(5)


def test_a_result_waiting_for_the_store_lock_lets_the_event_loop_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker stores each result while the other workers and the ingest write too. Waiting for the
    # lock by sleeping would stop its event loop, and every answer waiting on it; here the loop must
    # go on (it is what releases the lock), and the result is stored once it is free.
    import summarizer.batch.connection as connection

    monkeypatch.setattr(connection, "BUSY_TIMEOUT", 2.0)  # a write that blocked the loop fails in 2 s
    path = tmp_path / "b.db"
    with Store(path) as store, Store(path) as other:
        _, (finish,) = _summaries_to_finish(store, tmp_path)

        async def scenario() -> tuple[list[bool], int]:
            ticks, told = 0, []
            other.db.execute("BEGIN IMMEDIATE")  # another connection is writing
            writer = ResultWriter(store)
            running = asyncio.create_task(writer.run())

            async def meanwhile() -> None:
                nonlocal ticks
                for _ in range(10):
                    ticks += 1
                    await asyncio.sleep(0.005)
                other.db.execute("COMMIT")

            writer.add(finish, told.append)
            await meanwhile()
            while not told:
                await asyncio.sleep(0.001)
            running.cancel()
            return told, ticks

        assert asyncio.run(scenario()) == ([True], 10)
    assert rows(path, "SELECT status, attempts FROM summaries") == [{"status": "done", "attempts": 1}]


def test_results_waiting_for_the_lock_are_committed_together_each_told_in_order(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    with Store(path) as store, Store(path) as other:
        _, finishes = _summaries_to_finish(store, tmp_path, 3)
        commits: list[int] = []
        store.db.set_trace_callback(lambda sql: commits.append(1) if sql == "COMMIT" else None)

        async def scenario() -> list[tuple[int, bool]]:
            told: list[tuple[int, bool]] = []
            other.db.execute("BEGIN IMMEDIATE")
            writer = ResultWriter(store)
            running = asyncio.create_task(writer.run())
            for n, finish in enumerate([*finishes, finishes[0]]):  # the first twice: no longer pending the 2nd time
                writer.add(finish, lambda ok, n=n: told.append((n, ok)))
            await asyncio.sleep(0.02)
            assert told == []  # all waiting for the lock
            other.db.execute("COMMIT")
            while len(told) < 4:
                await asyncio.sleep(0.001)
            running.cancel()
            return told

        assert asyncio.run(scenario()) == [(0, True), (1, True), (2, True), (3, False)]
        store.db.set_trace_callback(None)
    assert len(commits) == 1
    assert {r["status"] for r in rows(path, "SELECT status FROM summaries")} == {"done"}


def test_a_write_that_fails_is_undone_alone_the_others_stored_and_told_then_its_error_raised(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    with Store(path) as store:
        _, finishes = _summaries_to_finish(store, tmp_path, 3)

        def broken() -> bool:
            store.db.execute("UPDATE summaries SET attempts = 99")  # undone with its savepoint
            raise RuntimeError("this result cannot be written")

        def loud(ok: bool) -> None:
            raise ValueError("a follow-up that fails")

        told: list[tuple[int, bool]] = []
        writer = ResultWriter(store)
        writer.add(finishes[0], lambda ok: told.append((0, ok)))
        writer.add(broken, lambda ok: told.append((1, ok)))
        writer.add(finishes[1], loud)
        writer.add(finishes[2], lambda ok: told.append((3, ok)))
        with pytest.raises(RuntimeError, match="cannot be written"):
            writer.flush()
        writer.flush()  # nothing is left waiting: the failed write is not tried again
    assert told == [(0, True), (3, True)]
    assert rows(path, "SELECT status, attempts FROM summaries") == [{"status": "done", "attempts": 1}] * 3


def test_a_run_stopped_by_a_refusal_says_so_even_if_its_waiting_results_cannot_be_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another connection holds the lock past BUSY_TIMEOUT while a request is refused for good: the results
    waiting cannot be stored (they stay pending, logged), and the run's error is the refusal, not the lock."""
    import summarizer.batch.connection as connection
    from summarizer.batch.engines import Call
    from summarizer.errors import ProviderError

    monkeypatch.setattr(connection, "BUSY_TIMEOUT", 0.3)

    class Refusing(ExtractiveEngine):
        made = 0

        def summary(self, article: Any) -> Any:
            self.made += 1
            if self.made < 3:
                return super().summary(article)

            async def refuse() -> Any:
                await asyncio.sleep(0.05)
                raise ProviderError("bad key", kind="auth", status=401)

            return Call(0, refuse)

    path = tmp_path / "b.db"
    with Store(path) as store:
        batch, _ = _summaries_to_finish(store, tmp_path, 3)
        executor = _executor(store, batch, Refusing(), concurrency=3)
        with _lock_held_elsewhere(path), pytest.raises(ProviderError, match="bad key"):
            asyncio.run(executor.run())
    assert {r["status"] for r in rows(path, "SELECT status FROM summaries")} == {"pending"}


def test_tasks_go_on_to_their_next_jobs_while_their_results_wait_for_the_lock(tmp_path: Path) -> None:
    """One request at a time means two tasks: with the lock held by another connection, all three articles are
    summarised before any result is stored, then stored once it frees."""
    path = tmp_path / "b.db"
    with Store(path) as store, Store(path) as other:
        batch, _ = _summaries_to_finish(store, tmp_path, 3)
        engine = ExtractiveEngine()
        summarised: list[str] = []
        summary = engine.summary
        engine.summary = lambda article: summarised.append(article.id) or summary(article)  # type: ignore[method-assign]
        executor = _executor(store, batch, engine, concurrency=1)

        async def scenario() -> tuple[int, set[str]]:
            other.db.execute("BEGIN IMMEDIATE")
            running = asyncio.create_task(executor.run())
            for _ in range(200):
                if len(summarised) == 3:
                    break
                await asyncio.sleep(0.005)
            stored_meanwhile = {r["status"] for r in rows(path, "SELECT status FROM summaries")}
            other.db.execute("COMMIT")
            await asyncio.wait_for(running, 5)
            return len(summarised), stored_meanwhile

        assert asyncio.run(scenario()) == (3, {"pending"})
        assert executor.counters.summarized == 3
    assert {r["status"] for r in rows(path, "SELECT status FROM summaries")} == {"done"}


def test_results_waiting_for_the_lock_are_stored_before_a_cancelled_run_ends(tmp_path: Path) -> None:
    # Ctrl-C, SIGTERM or another task's refusal cancels every task; results waiting for the store's lock are
    # answers already paid for: they are stored (waiting for the lock, as any write) before the run ends.
    path = tmp_path / "b.db"
    with Store(path) as store:
        batch, _ = _summaries_to_finish(store, tmp_path, 2)
        executor = _executor(store, batch)

        async def scenario(release: threading.Event) -> None:
            running = asyncio.create_task(executor.run())
            await asyncio.sleep(0.1)  # both summarised, their results waiting for the lock
            assert not running.done()
            threading.Timer(0.1, release.set).start()
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running

        with _lock_held_elsewhere(path) as release:
            asyncio.run(scenario(release))
    assert rows(path, "SELECT status, attempts FROM summaries") == [{"status": "done", "attempts": 1}] * 2


def test_a_feed_that_fails_fails_the_run_with_its_own_error(tmp_path: Path) -> None:
    """A worker whose job feed breaks (a job line it cannot read) says why, not just that it stopped early."""
    with Store(tmp_path / "batch.db") as store:
        batch, _ = _summaries_to_finish(store, tmp_path)
        executor = Executor(
            store, ExtractiveEngine(), model=batch.model, prompt_version=batch.prompt_version, config=BatchConfig(),
            run_id=batch.run_id,
        )  # fmt: skip

        async def broken_feed() -> Any:
            raise ValueError("job line 3 is not JSON")
            yield  # an async generator, as the worker's feed is

        with pytest.raises(ValueError, match="job line 3 is not JSON"):
            asyncio.run(executor.run(broken_feed()))
