"""Crash safety with a real process: SIGKILL mid-run, resume; Ctrl-C and SIGTERM stop cleanly."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.answers import is_brief_request, user_text
from tests.doubles.server import ScriptedServer, responder
from tests.doubles.synthetic import synthetic_articles

ROOT = Path(__file__).resolve().parent.parent


def start(
    feed: Path | str, store: Path, server: ScriptedServer, *extra: str, stdin: int | None = None
) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "summarizer", "batch", str(feed), "--store", str(store), "--base-url", server.base_url,
        "--model", "scripted", "--concurrency", "4", "--quiet", *extra,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As from a terminal: a parent started in the background (as CI may be) ignores SIGINT, and a
        # child inherits that, so Ctrl-C would never reach it. Restore the default before exec.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def done_ids(store: Path) -> set[int]:
    if not store.exists():
        return set()
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return {r[0] for r in db.execute("SELECT article_id FROM summaries WHERE status = 'done'")}
    except sqlite3.OperationalError:  # the schema is not there yet
        return set()
    finally:
        db.close()


def wait_for_done(process: subprocess.Popen[str], store: Path, count: int, limit: float = 60.0) -> set[int]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done = done_ids(store)
        if len(done) >= count:
            return done
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} articles done after {limit}s")


def summary_titles(requests: list[dict[str, Any]], titles: list[str]) -> Counter[str]:
    return Counter(t for r in requests if not is_brief_request(r) for t in titles if t in user_text(r))


@pytest.fixture
def inbox(tmp_path: Path) -> tuple[Path, list[str]]:
    records = synthetic_articles(40, per_event=4, seed=31)
    titles = [r["title"] for r in records]
    assert len(set(titles)) == len(titles)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return feed, titles


def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(tmp_path: Path, inbox: tuple[Path, list[str]]) -> None:
    feed, titles = inbox
    store = tmp_path / "batch.db"
    with ScriptedServer(default=responder(delay=0.08)) as server:
        done_before_kill: list[set[int]] = []
        request_marks = [0]
        for target in (8, 24):
            process = start(feed, store, server)
            wait_for_done(process, store, target)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert process.returncode == -signal.SIGKILL
            time.sleep(0.2)  # let requests already on the wire reach the server log
            done_before_kill.append(done_ids(store))
            request_marks.append(len(server.requests))
            assert len(done_before_kill[-1]) < 40, "the kill came too late to test anything"
        final = start(feed, store, server)
        _, stderr = final.communicate(timeout=120)
        assert final.returncode == 0, stderr
        request_marks.append(len(server.requests))

        # No article that was done before a kill was asked for again afterwards.
        id_of = {title: i + 1 for i, title in enumerate(titles)}
        for k, done in enumerate(done_before_kill):
            later = summary_titles(server.requests[request_marks[k + 1] :], titles)
            assert not {id_of[t] for t in later} & done
        total = summary_titles(server.requests, titles)
        assert set(total) == set(titles)  # everything was asked for at least once

    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 40
    per_article = dict(db.execute("SELECT article_id, COUNT(*) FROM summaries GROUP BY article_id").fetchall())
    assert per_article == {i: 1 for i in range(1, 41)}  # exactly one summary row each
    rows = db.execute("SELECT article_id, status, result FROM summaries").fetchall()
    assert {status for _, status, _ in rows} == {"done"}
    assert all(json.loads(result)["article_id"] == f"a{article_id}" for article_id, _, result in rows)
    events = db.execute("SELECT COUNT(DISTINCT event_id) FROM articles").fetchone()[0]
    briefed = db.execute("SELECT COUNT(DISTINCT event_id) FROM briefs WHERE status = 'done'").fetchone()[0]
    assert events == briefed == 10
    runs = [r[0] for r in db.execute("SELECT status FROM runs ORDER BY id")]
    assert runs == ["abandoned", "abandoned", "completed"]


def count(store: Path, sql: str) -> int:
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute(sql).fetchone()[0])
    finally:
        db.close()


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes (and so reading while summarising) need Linux")
def test_kill_9_while_the_inbox_is_still_being_read_then_resume(tmp_path: Path) -> None:
    """With workers, summaries start while the parent still reads the inbox (here a pipe that has
    delivered half of it): a kill then leaves the rest unread, some of it summarised and no event
    briefed. The next run, from the whole file, finishes it all."""
    records = synthetic_articles(300, per_event=6, seed=17)
    titles = [r["title"] for r in records]
    lines = [json.dumps(r) + "\n" for r in records]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(lines), encoding="utf-8")
    store = tmp_path / "batch.db"
    with ScriptedServer(default=responder(delay=0.05)) as server:
        process = start("-", store, server, "--workers", "2", stdin=subprocess.PIPE)
        assert process.stdin is not None
        process.stdin.write("".join(lines[:150]))
        process.stdin.flush()  # and left open: the parent waits for the rest of its inbox
        done = wait_for_done(process, store, 6)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdin.close()
        stored = count(store, "SELECT COUNT(*) FROM articles")
        assert 0 < stored <= 150
        # Each article is placed in its event in the transaction that stores it: none is stored without one.
        assert count(store, "SELECT COUNT(*) FROM articles WHERE event_id IS NULL") == 0
        assert count(store, "SELECT COUNT(*) FROM briefs") == 0  # briefs wait for the whole inbox
        time.sleep(0.2)  # let requests already on the wire reach the server log
        mark = len(server.requests)
        final = start(feed, store, server, "--workers", "2")
        _, stderr = final.communicate(timeout=120)
        assert final.returncode == 0, stderr
        later = summary_titles(server.requests[mark:], titles)
        assert not {titles.index(t) + 1 for t in later} & done  # what was done is not asked for again
        assert set(summary_titles(server.requests, titles)) == set(titles)

    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT content_hash) FROM articles").fetchone() == (300, 300)
    per_article = dict(db.execute("SELECT article_id, COUNT(*) FROM summaries GROUP BY article_id").fetchall())
    assert per_article == {i: 1 for i in range(1, 301)}
    assert db.execute("SELECT status, COUNT(*) FROM summaries GROUP BY status").fetchall() == [("done", 300)]
    assert db.execute("SELECT COUNT(*) FROM articles WHERE event_id IS NULL").fetchone()[0] == 0
    events = db.execute("SELECT COUNT(DISTINCT event_id) FROM articles").fetchone()[0]
    briefed = db.execute("SELECT COUNT(DISTINCT event_id) FROM briefs WHERE status = 'done'").fetchone()[0]
    assert events == briefed == 50
    db.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_signal_ends_the_run_cleanly_and_says_how_to_resume(
    tmp_path: Path, inbox: tuple[Path, list[str]], stop: signal.Signals
) -> None:
    feed, _ = inbox
    store = tmp_path / "batch.db"
    # Slow enough that most articles are still pending when the signal lands, even on a busy machine.
    with ScriptedServer(default=responder(delay=0.4)) as server:
        process = start(feed, store, server)
        wait_for_done(process, store, 5)
        os.kill(process.pid, stop)
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 130, stderr
        assert "interrupted" in stderr and f"summarizer batch {feed} --store {store}" in stderr
        db = sqlite3.connect(store)
        assert db.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM summaries GROUP BY status").fetchall())
        assert statuses.get("pending", 0) > 0 and "failed" not in statuses
        db.close()
        resumed = start(feed, store, server)
        _, stderr = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, stderr
    db = sqlite3.connect(store)
    assert db.execute("SELECT status, COUNT(*) FROM summaries GROUP BY status").fetchall() == [("done", 40)]
