"""Failures at the edges, through the real command line: each is one clear line and an exit code, never a traceback.

A full disk and a read-only store are real SQLite files on a small tmpfs when the tests run as root (else a
connection that raises SQLite's own error, and a file without write permission); the race is two real processes.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from summarizer.batch.store import Store
from summarizer.cli import main
from summarizer.errors import StoreError
from tests.doubles.answers import answer
from tests.doubles.server import Reply, ScriptedServer
from tests.doubles.synthetic import synthetic_articles

DEEP = "[" * 100_000 + "]" * 100_000
BODY = "The council approved the new bridge on Monday. Work starts in May and ends next year."


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer(default=lambda request: Reply.tool(answer(request))) as s:
        yield s


def one_line_error(capsys: pytest.CaptureFixture[str], code: int, expected_code: int) -> str:
    """The error line of a command that failed as expected: exactly one line on stderr, no traceback."""
    err = capsys.readouterr().err
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("summarizer: error: ")
    return lines[0].removeprefix("summarizer: error: ")


def batch(inbox: Path, store: Path, server: ScriptedServer, *extra: str) -> int:
    return main(["batch", str(inbox), "--store", str(store), "--base-url", server.base_url, "--model", "m", *extra])


def feed(path: Path, n: int, seed: int = 3) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in synthetic_articles(n, per_event=3, seed=seed)))
    return path


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    """``mount(size)``: a fresh tmpfs of ``size`` bytes (a real, small file system); skipped unless root can mount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        where = tmp_path / f"fs{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=True)


def store_is_whole(path: Path) -> None:
    """The store is intact and no transaction was half-kept: every stored canonical article has its summary row
    (the ingest adds both in one transaction)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = db.execute(
            "SELECT COUNT(*) FROM articles a WHERE a.duplicate_of IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM summaries s WHERE s.article_id = a.id)"
        ).fetchone()[0]
        assert orphans == 0
    finally:
        db.close()


# -- a full disk ---------------------------------------------------------------------------------
def test_a_full_disk_is_one_store_error_naming_the_file(tmp_path: Path, tmpfs: Any, server: ScriptedServer) -> None:
    store = tmpfs(256 * 1024) / "batch.db"
    inbox = feed(tmp_path / "feed.jsonl", 60)
    # A process of its own: its stderr is the command's alone (the fake server's threads write to this one's).
    argv = ["batch", str(inbox), "--store", str(store), "--base-url", server.base_url, "--model", "m"]
    done = subprocess.run([sys.executable, "-m", "summarizer", *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 6, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("summarizer: error: ")
    assert f"{store}: cannot write the batch store: the disk is full (database or disk is full)" in done.stderr
    store_is_whole(store)


class FullDisk:
    """A real connection whose inserts into ``table`` fail with the error SQLite raises on a full disk."""

    def __init__(self, db: sqlite3.Connection, table: str) -> None:
        object.__setattr__(self, "_db", db)
        object.__setattr__(self, "_table", table)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._db, name, value)

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._refuse(sql)
        return self._db.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        self._refuse(sql)
        return self._db.executemany(sql, *args)

    def _refuse(self, sql: str) -> None:
        if f"INTO {self._table}" in sql:
            raise sqlite3.OperationalError("database or disk is full")


def test_a_full_disk_while_queueing_summaries_rolls_the_ingest_back(tmp_path: Path) -> None:
    path = tmp_path / "batch.db"
    with Store(path) as store:
        run = store.start_run(inbox="x", provider="p", model="m", prompt_version="v1")
        store.db = FullDisk(store.db, "summaries")  # type: ignore[assignment]
        with pytest.raises(StoreError) as raised, store.transaction():
            from summarizer.load import Document

            article = store.add_article(Document("Title", BODY, "inbox/a.txt"), seen_at=0.0, run_id=run)
            store.queue_summaries([article], model="m", prompt_version="v1", run_id=run)
        assert not store.db.in_transaction
    assert str(raised.value) == (
        f"{path}: cannot write the batch store: the disk is full (database or disk is full); the step was rolled back"
    )
    with Store(path) as store:  # the article written before the failing insert was rolled back with it
        assert store.query("SELECT COUNT(*) FROM articles")[0][0] == 0
    store_is_whole(path)


def test_a_full_disk_through_the_command_line_without_root(
    tmp_path: Path, server: ScriptedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_connect = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        return FullDisk(real_connect(*args, **kwargs), "summaries")

    monkeypatch.setattr(sqlite3, "connect", connect)
    store = tmp_path / "batch.db"
    message = one_line_error(capsys, batch(feed(tmp_path / "feed.jsonl", 4), store, server), 6)
    assert message.startswith(f"{store}: cannot write the batch store: the disk is full")
    monkeypatch.undo()
    store_is_whole(store)


# -- a read-only store ---------------------------------------------------------------------------
def test_a_store_on_a_read_only_file_system_is_one_line(
    tmp_path: Path, tmpfs: Any, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmpfs(4 * 1024 * 1024)
    store = folder / "batch.db"
    assert batch(feed(tmp_path / "a.jsonl", 3), store, server, "-q") == 0
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    message = one_line_error(capsys, batch(feed(tmp_path / "b.jsonl", 3, seed=9), store, server), 6)
    assert message.startswith(f"{store}: cannot open the batch store: the store is read-only")


# -- input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("deep.json", DEEP, ""),
        ("feed.jsonl", json.dumps({"title": "Fine", "text": BODY}) + "\n" + DEEP + "\n", ":2"),
    ],
)
def test_deeply_nested_json_is_one_input_error(
    tmp_path: Path, name: str, text: str, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_text(text)
    message = one_line_error(capsys, main(["brief", "--engine", "extractive", "-q", str(path)]), 3)
    assert message == f"{path}{where}: JSON nested too deeply to read"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_text_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = f"Bridge approved in Zürich\n\n{BODY}\n"
    data = text.encode(encoding)
    if not encoding.endswith("sig") and encoding[-3:] in ("-le", "-be"):  # these codecs write no mark of their own
        data = ("\ufeff" + text).encode(encoding)
    path = tmp_path / "article.txt"
    path.write_bytes(data)
    code = main(["brief", "--engine", "extractive", "-q", "-f", "json", str(path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    brief = json.loads(captured.out)
    assert brief["articles"][0]["title"] == "Bridge approved in Zürich"


def test_another_encoding_is_refused_with_the_encoding_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes("Заголовок\n\nТекст статьи о событиях в Москве, где было очень жарко летом.\n".encode("cp1251"))
    message = one_line_error(capsys, main(["brief", "--engine", "extractive", str(path)]), 3)
    assert message == (
        f"{path}: not valid UTF-8 (byte 0xc7 at offset 0); it may be CP1251 (a guess):"
        " convert it to UTF-8 first, e.g. iconv -f CP1251 -t UTF-8"
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary data (NUL bytes), not a text article"),
        (bytes(range(128, 256)) * 8, "not text: not valid UTF-8 (byte 0x80 at offset 0), and no other encoding fits"),
    ],
)
def test_binary_data_is_still_refused(
    tmp_path: Path, data: bytes, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "picture.txt"
    path.write_bytes(data)
    assert one_line_error(capsys, main(["brief", "--engine", "extractive", str(path)]), 3) == f"{path}: {problem}"


def test_utf16_without_its_mark_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(f"Bridge approved\n\n{BODY}\n".encode("utf-16-le"))
    message = one_line_error(capsys, main(["brief", "--engine", "extractive", str(path)]), 3)
    assert message == (
        f"{path}: UTF-16LE text without a byte-order mark; convert it to UTF-8 first, e.g. iconv -f UTF-16LE -t UTF-8"
    )


# -- a JSON Lines inbox with one broken line -----------------------------------------------------
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_brief_names_the_broken_line(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"feed{suffix}"
    path.write_text(json.dumps({"title": "A", "text": BODY}) + '\n{"title": "B", "text": \n')
    message = one_line_error(capsys, main(["brief", "--engine", "extractive", str(path)]), 3)
    assert message == f"{path}:2: invalid JSON: Expecting value (column 24)"


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_batch_records_the_broken_line_and_goes_on(
    tmp_path: Path, suffix: str, server: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [json.dumps(r) for r in synthetic_articles(4, per_event=2, seed=5)]
    records[1] = '{"title": "broken'
    records[2] = DEEP
    path = tmp_path / f"feed{suffix}"
    path.write_text("\n".join(records) + "\n")
    store = tmp_path / "batch.db"
    assert batch(path, store, server) == 0
    assert "2 summarised" in capsys.readouterr().err
    with Store(store, readonly=True) as s:
        errors = [tuple(row) for row in s.query("SELECT origin, error FROM input_errors ORDER BY origin")]
        done = s.query("SELECT COUNT(*) FROM summaries WHERE status = 'done'")[0][0]
    assert errors == [
        (f"{path}:2", f"{path}:2: invalid JSON: Unterminated string starting at (column 11)"),
        (f"{path}:3", f"{path}:3: JSON nested too deeply to read"),
    ]
    assert done == 2


# -- two batches started at the same moment on a new store ---------------------------------------
def _start_batch(argv: list[str], start: Any, results: Any) -> None:
    err = io.StringIO()
    start.wait()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    results.put((code, err.getvalue()))


def test_two_batches_started_together_on_a_new_store(tmp_path: Path) -> None:
    inbox = feed(tmp_path / "feed.jsonl", 2)
    context = multiprocessing.get_context("fork")
    slow = ScriptedServer(default=lambda request: Reply.tool(answer(request), delay=0.3))  # the winner holds on
    with slow:
        for attempt in range(6):  # each a new store: the race is at its creation
            store = tmp_path / f"batch{attempt}.db"
            argv = ["batch", str(inbox), "--store", str(store), "--base-url", slow.base_url, "--model", "m", "-q"]
            start, results = context.Barrier(2), context.Queue()
            processes = [context.Process(target=_start_batch, args=(argv, start, results)) for _ in range(2)]
            for process in processes:
                process.start()
            outcomes = sorted(results.get(timeout=60) for _ in processes)
            for process in processes:
                process.join(timeout=60)
            (won, won_err), (lost, lost_err) = outcomes
            assert (won, won_err) == (0, "")
            assert lost == 6 and "Traceback" not in lost_err
            assert len(lost_err.strip().splitlines()) == 1, lost_err
            assert lost_err.startswith(f"summarizer: error: {store}: another batch ")
            assert "is running on this store" in lost_err
            store_is_whole(store)
