import sqlite3
from pathlib import Path

import pytest

from summarizer.batch import BatchError
from summarizer.batch.schema import SCHEMA_VERSION
from summarizer.batch.store import Store
from summarizer.errors import StoreError
from summarizer.load import Document
from summarizer.times import parse_time


def doc(n: int) -> Document:
    return Document(title=f"Title {n}", text=f"Body {n}.", origin=f"inbox/{n}.txt")


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "batch.db") as s:
        yield s


def add(store: Store, n: int, run_id: int) -> int:
    with store.transaction():
        return store.add_article(doc(n), seen_at=0.0, run_id=run_id)


def test_a_new_store_is_migrated_to_the_current_schema_in_wal_mode(store: Store) -> None:
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    with Store(tmp_path / "b.db") as first:
        run = first.start_run(inbox="x", provider="p", model="m", prompt_version="v")
        add(first, 1, run)
    with Store(tmp_path / "b.db") as again:
        assert again.known_hashes([doc(1).sha256]) == {doc(1).sha256: 1}


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(BatchError, match="newer"):
        Store(path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("just some notes, not SQLite" * 100)
    with pytest.raises(BatchError, match="not a usable batch store"):
        Store(path)


def test_reading_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(BatchError, match="summarizer batch INBOX"):
        Store(tmp_path / "none.db", readonly=True)


def test_one_summary_row_per_content_model_and_prompt_version(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    article = add(store, 1, run)
    with store.transaction():
        assert store.queue_summaries([article], model="m", prompt_version="v1", run_id=run) == 1
        assert store.queue_summaries([article], model="m", prompt_version="v1", run_id=run) == 0
        assert store.queue_summaries([article], model="other", prompt_version="v1", run_id=run) == 1
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute(
            "INSERT INTO summaries (article_id, content_hash, model, prompt_version, status, updated_at)"
            " VALUES (?, ?, 'm', 'v1', 'pending', 'now')",
            (article, doc(1).sha256),
        )


def test_a_summary_is_finished_once_with_its_result(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    article = add(store, 1, run)
    with store.transaction():
        store.queue_summaries([article], model="m", prompt_version="v1", run_id=run)
    (item,) = store.pending(model="m", prompt_version="v1")
    finish = dict(
        status="done", result="{}", error=None, error_kind=None, stats={"calls": 3}, run_id=run, article_id=article,
        sentences="[[0, 7, 1]]", attempts=2,
    )  # fmt: skip
    assert store.finish_summary(item.summary_id, **finish) is True  # type: ignore[arg-type]
    assert store.finish_summary(item.summary_id, **finish) is False  # type: ignore[arg-type]
    row = store.query("SELECT status, attempts, calls FROM summaries")[0]
    assert tuple(row) == ("done", 2, 3)
    assert store.pending(model="m", prompt_version="v1") == []


def test_summaries_of_articles_are_those_of_the_model_and_prompt_with_their_status(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    ids = [add(store, n, run) for n in (1, 2, 3, 4)]
    with store.transaction():
        store.queue_summaries(list(reversed(ids)), model="m", prompt_version="v1", run_id=run)
        store.queue_summaries(ids[:2], model="other", prompt_version="v1", run_id=run)
    items = {item.article_id: item for item in store.pending(model="m", prompt_version="v1")}
    store.finish_summary(
        items[ids[1]].summary_id, status="done", result="{}", error=None, error_kind=None, stats={}, run_id=run,
        article_id=ids[1], sentences=None, attempts=1,
    )  # fmt: skip
    asked = [ids[3], ids[0], ids[1]]
    assert store.summaries_of(asked, model="m", prompt_version="v1") == {
        ids[0]: (items[ids[0]].summary_id, "pending"),
        ids[1]: (items[ids[1]].summary_id, "done"),
        ids[3]: (items[ids[3]].summary_id, "pending"),
    }


def test_done_requires_a_result(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    article = add(store, 1, run)
    with store.transaction():
        store.queue_summaries([article], model="m", prompt_version="v1", run_id=run)
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("UPDATE summaries SET status = 'done'")


def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    with pytest.raises(RuntimeError), store.transaction():
        store.add_article(doc(1), seen_at=0.0, run_id=run)
        raise RuntimeError("crash mid-transaction")
    assert store.known_hashes([doc(1).sha256]) == {}


def test_only_transient_failures_are_requeued_unless_asked(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    ids = [add(store, n, run) for n in (1, 2)]
    with store.transaction():
        store.queue_summaries(ids, model="m", prompt_version="v1", run_id=run)
    for item, kind in zip(store.pending(model="m", prompt_version="v1"), ("transient", "permanent"), strict=True):
        store.finish_summary(
            item.summary_id, status="failed", result=None, error="x", error_kind=kind, stats={}, run_id=run,
            article_id=item.article_id, sentences=None, attempts=1,
        )  # fmt: skip
    assert store.requeue_failed(model="m", prompt_version="v1", include_permanent=False) == 1
    assert store.requeue_failed(model="m", prompt_version="v1", include_permanent=True) == 1
    assert len(store.pending(model="m", prompt_version="v1")) == 2


def test_a_second_batch_on_the_same_store_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    with Store(tmp_path / "b.db") as first, Store(tmp_path / "b.db") as second:
        first.lock()
        with pytest.raises(BatchError, match=r"another batch \(pid \d+\)"):
            second.lock()
        first.unlock()
        second.lock()


def test_starting_a_run_marks_runs_left_running_as_abandoned(store: Store) -> None:
    killed = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    statuses = dict(tuple(r) for r in store.query("SELECT id, status FROM runs"))
    assert statuses[killed] == "abandoned"


def test_parse_time() -> None:
    assert parse_time("1970-01-02") == 86400.0
    assert parse_time("1970-01-01T01:00:00Z") == 3600.0
    assert parse_time("1970-01-01T02:00:00+01:00") == 3600.0
    assert parse_time("last Tuesday") is None
    assert parse_time(None) is None


def test_a_write_waits_for_another_connections_transaction_then_goes_through(tmp_path: Path) -> None:
    import threading

    with Store(tmp_path / "s.db") as second:
        run_id = second.start_run(inbox="x", provider="p", model="m", prompt_version="v")
        holding, release = threading.Event(), threading.Event()

        def hold() -> None:
            with Store(tmp_path / "s.db") as first, first.transaction():
                first.add_article(doc(1), seen_at=0.0, run_id=run_id)
                holding.set()
                release.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        assert holding.wait(5)
        threading.Timer(0.2, release.set).start()
        with second.transaction():  # waits for the lock instead of failing with "database is locked"
            assert release.is_set()
            second.add_article(doc(2), seen_at=0.0, run_id=run_id)
        holder.join(5)
        assert [r["title"] for r in second.query("SELECT title FROM articles ORDER BY id")] == [
            doc(1).title,
            doc(2).title,
        ]


def test_a_write_that_cannot_get_the_lock_in_time_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import summarizer.batch.connection as connection

    monkeypatch.setattr(connection, "BUSY_TIMEOUT", 0.05)
    with Store(tmp_path / "s.db") as first, Store(tmp_path / "s.db") as second:
        with first.transaction(), pytest.raises(StoreError) as raised, second.transaction():
            pass
        assert str(raised.value).startswith(f"{tmp_path / 's.db'}: cannot write the batch store: another connection")
        assert "(database is locked)" in str(raised.value) and "\n" not in str(raised.value)
        with second.transaction():  # free again
            pass


def test_a_write_asked_not_to_wait_says_the_lock_is_busy_at_once(tmp_path: Path) -> None:
    import time

    from summarizer.batch.connection import LockBusy

    with Store(tmp_path / "s.db") as first, Store(tmp_path / "s.db") as second:
        with first.transaction():
            started = time.monotonic()
            with pytest.raises(LockBusy), second.transaction(wait=False):
                pass
            assert time.monotonic() - started < 1.0
        with second.transaction(wait=False):  # free again
            pass


def test_a_store_another_connection_is_creating_is_used_once_made_not_made_again(tmp_path: Path) -> None:
    import threading

    from summarizer.batch.schema import MIGRATIONS, statements

    path = tmp_path / "s.db"
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    creator.execute("PRAGMA journal_mode = WAL")
    creator.execute("BEGIN IMMEDIATE")
    for target in sorted(MIGRATIONS):
        for statement in statements(MIGRATIONS[target]):
            creator.execute(statement)
        creator.execute(f"PRAGMA user_version = {target}")
    commit = threading.Timer(0.3, creator.execute, ["COMMIT"])
    commit.start()
    try:
        with Store(path) as store:  # waits for the creator's transaction, then finds the schema there
            assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
            assert run == 1
    finally:
        commit.join()
        creator.close()


def test_statements_split_a_migration_without_breaking_its_comments() -> None:
    from summarizer.batch.schema import MIGRATIONS, statements

    split = list(statements(MIGRATIONS[1]))
    assert all(sqlite3.complete_statement(s) for s in split)
    assert sum(s.lstrip().startswith("CREATE TABLE") for s in split) == MIGRATIONS[1].count("CREATE TABLE")
    assert "".join(split).strip() == MIGRATIONS[1].strip()


def test_a_transaction_inside_another_is_undone_alone_and_committed_with_it(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    with store.transaction():
        store.add_article(doc(1), seen_at=0.0, run_id=run)
        with pytest.raises(RuntimeError), store.transaction():
            store.add_article(doc(2), seen_at=0.0, run_id=run)
            raise RuntimeError("this write fails")
        with store.transaction():
            store.add_article(doc(3), seen_at=0.0, run_id=run)
    assert set(store.known_hashes([doc(n).sha256 for n in (1, 2, 3)])) == {doc(1).sha256, doc(3).sha256}


def test_a_failure_after_a_transaction_inside_another_undoes_both(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    with pytest.raises(RuntimeError), store.transaction():
        with store.transaction():
            store.add_article(doc(1), seen_at=0.0, run_id=run)
        raise RuntimeError("the outer step fails")
    assert not store.db.in_transaction
    assert store.known_hashes([doc(1).sha256]) == {}
    with store.transaction():  # and the next transaction is an outer one again, committed on its own
        store.add_article(doc(2), seen_at=0.0, run_id=run)
    assert not store.db.in_transaction
    assert list(store.known_hashes([doc(2).sha256])) == [doc(2).sha256]


def test_after_sqlite_ends_the_whole_transaction_in_a_savepoint_nothing_more_is_written(store: Store) -> None:
    """A failure SQLite answers by rolling back everything (a full disk, an I/O error; here ``OR ROLLBACK``) leaves
    no transaction open: what the caller writes next must not be committed on its own, and the outer step fails
    as rolled back, a StoreError, not a bare "cannot commit"."""
    store.db.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    store.db.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(StoreError, match="the step was rolled back"), store.transaction():
        store.db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.IntegrityError), store.transaction():
            store.db.execute("INSERT OR ROLLBACK INTO t VALUES (2)")
        with pytest.raises(StoreError), store.transaction():
            store.db.execute("INSERT INTO t VALUES (3)")
    assert [r[0] for r in store.db.execute("SELECT x FROM t ORDER BY x")] == [2]
    with store.transaction():  # the next transaction is an ordinary one again
        store.db.execute("INSERT INTO t VALUES (4)")
    assert [r[0] for r in store.db.execute("SELECT x FROM t ORDER BY x")] == [2, 4]


def test_a_write_on_a_full_disk_is_a_store_error_and_leaves_nothing(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    store.db.execute("PRAGMA max_page_count = 1")  # SQLite's own SQLITE_FULL: the file may not grow any more
    with pytest.raises(StoreError) as raised, store.transaction():
        for n in range(200):
            store.add_article(doc(n), seen_at=0.0, run_id=run)
    assert str(raised.value) == (
        f"{store.path}: cannot write the batch store: the disk is full (database or disk is full);"
        " the step was rolled back"
    )
    assert not store.db.in_transaction
    store.db.execute("PRAGMA max_page_count = 1073741823")
    assert store.known_hashes([doc(n).sha256 for n in range(200)]) == {}


def test_an_sql_mistake_inside_a_transaction_stays_itself_and_is_rolled_back(store: Store) -> None:
    run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
    with pytest.raises(sqlite3.OperationalError, match="no such table"), store.transaction():
        store.add_article(doc(1), seen_at=0.0, run_id=run)
        store.db.execute("SELECT * FROM no_such_table")
    assert store.known_hashes([doc(1).sha256]) == {}


def test_the_runs_table_keeps_every_counter_but_the_live_ones(store: Store) -> None:
    """A counter added to Counters is kept per run unless it is listed as live only, and then the runs table
    must have a column for it: the two cannot drift apart silently."""
    from summarizer.batch.config import Counters

    columns = {row["name"] for row in store.query("PRAGMA table_info(runs)")}
    kept = set(Counters().run_columns())
    assert kept <= columns
    assert kept == {"seen", "new", "duplicates", "skipped", "input_errors", "summarized", "failed", "briefs",
                    "calls", "retries", "prompt_tokens", "completion_tokens"}  # fmt: skip
    run = store.start_run(inbox="i", provider="p", model="m", prompt_version="v")
    store.finish_run(run, "completed", None, **Counters(seen=3, briefs=1, completion_tokens=7).run_columns())
    (row,) = store.query("SELECT seen, briefs, completion_tokens FROM runs WHERE id = ?", (run,))
    assert tuple(row) == (3, 1, 7)
