"""The SQLite record of a batch: every article, summary, event, brief and run.

Crash safety comes from three rules:

* **One state row per unit of work.** A summary row is keyed by ``(content_hash, model,
  prompt_version)`` (a UNIQUE constraint) and moves ``pending → done | failed``; a resumed
  run picks up what is still ``pending`` and cannot create a second row for the same work.
* **The result is written in the transaction that marks it done.** Killed before the
  commit, the row is still ``pending`` and the work is redone; killed after, it is done
  once. There is no "in progress" state to go stale.
* **Everything else is idempotent** (``INSERT OR IGNORE``, "assign if unassigned"), so a
  half-finished ingest is simply finished by the next run.

The database runs in WAL mode (readers such as ``batch status`` never block the writer)
with ``synchronous=NORMAL``: a killed process loses nothing committed; a power cut may
lose the last commits, which the next run then redoes. One batch at a time holds the
store's lock file (an ``flock``, released by the kernel even on ``kill -9``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from summarizer.batch import BatchError
from summarizer.errors import StoreError, SummarizerError
from summarizer.load import Document

SCHEMA_VERSION = 2

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another connection's transaction before it fails."""
BUSY_POLL = 0.0005
"""Seconds between tries to start a write transaction while another connection holds the lock."""
IN_CHUNK = 500
"""Values per ``IN (...)`` list in one statement (SQLite bounds a statement's parameters)."""
_BRIEF_MADE = "(status = 'done' OR error_kind = 'permanent')"
"""A brief row that counts as made for its member set: done, or failed in a way a retry cannot fix."""

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'interrupted', 'failed', 'abandoned')),
        pid INTEGER,
        inbox TEXT,
        provider TEXT,
        model TEXT,
        prompt_version TEXT,
        seen INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        input_errors INTEGER NOT NULL DEFAULT 0,
        summarized INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        briefs INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        retries INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL,
        centroid TEXT NOT NULL,            -- JSON {term: weight}: sum of member TF-IDF vectors, top terms
        size INTEGER NOT NULL DEFAULT 0,   -- canonical members (near-duplicates are not counted)
        first_at REAL NOT NULL,            -- earliest member time (epoch seconds)
        last_at REAL NOT NULL,
        created_run INTEGER REFERENCES runs(id),
        updated_at TEXT NOT NULL
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        content_hash TEXT NOT NULL UNIQUE, -- Document.sha256: title and text
        origin TEXT NOT NULL,              -- where it was first read (path, path:line, <stdin>:line)
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        url TEXT,
        source TEXT,
        published TEXT,
        at REAL NOT NULL,                  -- published time, or first-seen time if undated (epoch seconds)
        dated INTEGER NOT NULL,            -- 1 if ``at`` is the published time
        first_run INTEGER REFERENCES runs(id),
        created_at TEXT NOT NULL,
        duplicate_of INTEGER REFERENCES articles(id),
        similarity REAL,                   -- estimated Jaccard similarity to duplicate_of
        sketch BLOB,                       -- bottom-k MinHash sketch (canonical articles only)
        event_id INTEGER REFERENCES events(id),
        event_similarity REAL,
        sentences TEXT                     -- JSON [[start, end, citable], ...] once segmented
    );
    CREATE INDEX articles_event ON articles(event_id);
    CREATE INDEX articles_unassigned ON articles(id) WHERE event_id IS NULL;
    CREATE TABLE sightings (
        article_id INTEGER NOT NULL REFERENCES articles(id),
        origin TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id),
        UNIQUE (article_id, origin)
    );
    CREATE TABLE sketch_index (
        value INTEGER NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id)
    );
    CREATE INDEX sketch_index_value ON sketch_index(value);
    CREATE TABLE doc_freq (
        term TEXT PRIMARY KEY,
        df INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE summaries (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id),
        content_hash TEXT NOT NULL,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        error_kind TEXT,                   -- 'transient' (retried next run) or 'permanent'
        result TEXT,                       -- ArticleSummary JSON, set with status 'done'
        calls INTEGER NOT NULL DEFAULT 0,
        reasks INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        seconds REAL NOT NULL DEFAULT 0,
        run_id INTEGER REFERENCES runs(id),
        updated_at TEXT NOT NULL,
        UNIQUE (content_hash, model, prompt_version),
        CHECK (status != 'done' OR result IS NOT NULL)
    );
    CREATE INDEX summaries_work ON summaries(model, prompt_version, status);
    CREATE TABLE briefs (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events(id),
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        members TEXT NOT NULL,             -- JSON list of article ids the brief was built from
        members_digest TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        error TEXT,
        error_kind TEXT,                   -- 'transient' (retried next run) or 'permanent'
        result TEXT,                       -- BriefParts JSON
        calls INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        seconds REAL NOT NULL DEFAULT 0,
        run_id INTEGER REFERENCES runs(id),
        created_at TEXT NOT NULL,
        UNIQUE (event_id, model, prompt_version, members_digest)
    );
    CREATE TABLE input_errors (
        origin TEXT NOT NULL,
        error TEXT NOT NULL,
        run_id INTEGER REFERENCES runs(id),
        UNIQUE (origin, error)
    );
    -- One line per article and (model, prompt version): what a person asks the store first.
    CREATE VIEW article_status AS
        SELECT a.id AS article_id, a.content_hash, a.origin, a.source, a.title, a.event_id, a.duplicate_of,
               s.model, s.prompt_version,
               CASE WHEN a.duplicate_of IS NOT NULL THEN 'duplicate' ELSE s.status END AS status,
               s.attempts, s.error
        FROM articles a LEFT JOIN summaries s ON s.article_id = a.id;
    """,
    # An event's members with their summaries (a brief's input) without scanning every summary of the model.
    2: """
    CREATE INDEX summaries_article ON summaries(article_id, model, prompt_version);
    """,
}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class WorkItem:
    """A pending summary: the row to finish and the article to summarise."""

    summary_id: int
    article_id: int
    attempts: int
    document: Document
    event_id: int | None


class LockBusy(BatchError):
    """Another connection holds the store's write lock: raised only by a write asked not to wait."""


def _busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds the lock (SQLITE_BUSY; its code is there from Python 3.11)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code == 5 if code is not None else "database is locked" in str(exc)


_WRITE_FAILURES = {
    13: "the disk is full",  # SQLITE_FULL
    8: "the store is read-only",  # SQLITE_READONLY
    10: "a disk I/O error",  # SQLITE_IOERR
}
"""SQLite result codes (primary, the low byte) of a write the file system refused, and what they mean."""

_MESSAGES = {"disk is full": _WRITE_FAILURES[13], "readonly": _WRITE_FAILURES[8], "disk I/O": _WRITE_FAILURES[10]}
"""The same by message, for a Python without ``sqlite_errorcode`` (before 3.11)."""


def _read_only(path: Path) -> bool:
    """Whether the store's file, or the folder where SQLite keeps its WAL and lock files, refuses writes."""
    return not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK))


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of ``script`` one at a time: ``executescript`` would commit the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


def _write_failure(exc: sqlite3.Error) -> str | None:
    """What a refused write means (a full disk, a read-only file), or None for another error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _WRITE_FAILURES.get(code & 0xFF)
    text = str(exc)
    return next((m for k, m in _MESSAGES.items() if k in text), None)


class Store:
    """A batch store at ``path``. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise BatchError(f"{self.path}: no such store (run `summarizer batch INBOX --store {self.path}` first)")
        if not readonly and self.path.parent and not self.path.parent.exists():
            raise BatchError(f"{self.path}: the folder {self.path.parent} does not exist")
        self._lock_file: Any = None
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from None
        try:
            self.db.row_factory = sqlite3.Row
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            if not readonly:
                self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute("PRAGMA foreign_keys = ON")
            self._migrate(readonly)
        except sqlite3.Error as exc:
            self.db.close()
            raise self._open_error(exc) from None
        except BaseException:
            self.db.close()
            raise

    def _open_error(self, exc: sqlite3.Error) -> SummarizerError:
        """The one-line error for a store that could not be opened, created or upgraded."""
        if _busy(exc):  # still locked after BUSY_TIMEOUT, or at once while another connection sets up WAL
            return BatchError(
                f"{self.path}: another batch is running on this store (it is locked); wait for it to finish"
            )
        meaning = _write_failure(exc)
        if meaning is None and _read_only(self.path):  # SQLite only says "unable to open database file"
            meaning = _WRITE_FAILURES[8]
        if meaning is not None:
            return StoreError(f"{self.path}: cannot open the batch store: {meaning} ({exc})")
        return BatchError(f"{self.path}: not a usable batch store ({exc})")

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.unlock()
        self.db.close()

    def _migrate(self, readonly: bool) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise BatchError(
                f"{self.path}: store schema version {version} is newer than this summarizer understands "
                f"({SCHEMA_VERSION}); upgrade summarizer"
            )
        if version == SCHEMA_VERSION:
            return
        if readonly:
            raise BatchError(f"{self.path}: store schema version {version} needs upgrading; run a batch first")
        # One transaction, the version read again inside it: a batch creating the same new store meanwhile
        # holds the write lock until its tables exist, and this one then finds them made.
        self._begin()
        try:
            version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(_MIGRATIONS[target]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            self._rollback()
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: all of it is committed, or none of it. Without ``wait``, LockBusy at
        once if another connection holds the write lock (for an event loop, which waits its own way)."""
        try:
            self._begin(wait)
        except sqlite3.OperationalError as exc:
            self._raise_refused(exc)
            raise
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.OperationalError):
                self._raise_refused(exc)
            raise

    def _rollback(self) -> None:
        """ROLLBACK if a transaction is open: SQLite ends one itself on some errors (a full disk)."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    def _raise_refused(self, exc: sqlite3.OperationalError) -> None:
        """A StoreError if ``exc`` is a write the store refused (its transaction rolled back); any other
        error is a bug to see, not a condition to report, and is left to propagate."""
        meaning = _write_failure(exc)
        if meaning is None and _busy(exc):
            meaning = f"another connection kept it locked for over {BUSY_TIMEOUT:g} s"
        if meaning is not None:
            raise StoreError(
                f"{self.path}: cannot write the batch store: {meaning} ({exc}); the step was rolled back"
            ) from None

    def _begin(self, wait: bool = True) -> None:
        """BEGIN IMMEDIATE, trying again every half millisecond while another connection writes (or,
        without ``wait``, LockBusy at once).

        SQLite's own busy handler sleeps longer and longer between its tries (up to 100 ms),
        so a writer waiting on one that commits chunk after chunk (a batch's ingest, while its
        workers store results) rarely finds the lock free: measured, 8-130 ms per write.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT
        self.db.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    self.db.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _busy(exc) or time.monotonic() > deadline:
                        raise
                    if not wait:
                        raise LockBusy(f"{self.path}: another connection is writing") from None
                time.sleep(BUSY_POLL)
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

    def lock(self) -> None:
        """Take the store's exclusive lock, or raise BatchError naming the batch that holds it."""
        import fcntl

        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the life of the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise BatchError(
                f"{self.path}: another batch (pid {holder}) is running on this store; wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle

    def unlock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()  # closing the descriptor releases the flock
            self._lock_file = None

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, *, inbox: str, provider: str, model: str, prompt_version: str) -> int:
        with self.transaction() as db:
            # We hold the lock, so a run still marked running is one that was killed.
            db.execute(
                "UPDATE runs SET status = 'abandoned', finished_at = COALESCE(finished_at, ?) WHERE status = 'running'",
                (now_iso(),),
            )
            cursor = db.execute(
                "INSERT INTO runs (started_at, status, pid, inbox, provider, model, prompt_version)"
                " VALUES (?, 'running', ?, ?, ?, ?, ?)",
                (now_iso(), os.getpid(), inbox, provider, model, prompt_version),
            )
        return int(cursor.lastrowid or 0)

    def update_run(self, run_id: int, **counters: int | str | None) -> None:
        if not counters:
            return
        columns = ", ".join(f"{name} = ?" for name in counters)
        with self.transaction() as db:
            db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*counters.values(), run_id))

    def finish_run(self, run_id: int, status: str, error: str | None = None, **counters: int) -> None:
        self.update_run(run_id, status=status, finished_at=now_iso(), error=error, **counters)

    # -- ingest ----------------------------------------------------------------------------
    def _select_in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        """The rows of ``sql`` for ``values``, which fill its ``IN ({marks})``, after ``params``: asked
        ``IN_CHUNK`` values at a time (SQLite bounds the parameters of one statement)."""
        for start in range(0, len(values), IN_CHUNK):
            chunk = list(values[start : start + IN_CHUNK])
            yield from self.db.execute(sql.format(marks=",".join("?" * len(chunk))), (*params, *chunk))

    def known_hashes(self, hashes: Sequence[str]) -> dict[str, int]:
        """Article ids of the ``hashes`` already stored."""
        rows = self._select_in("SELECT id, content_hash FROM articles WHERE content_hash IN ({marks})", hashes)
        return {row["content_hash"]: int(row["id"]) for row in rows}

    def add_article(self, doc: Document, *, seen_at: float, run_id: int) -> int:
        published = parse_time(doc.published)
        cursor = self.db.execute(
            "INSERT INTO articles"
            " (content_hash, origin, title, body, url, source, published, at, dated, first_run, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                doc.sha256,
                doc.origin,
                doc.title,
                doc.text,
                doc.url,
                doc.source,
                doc.published,
                seen_at if published is None else published,
                int(published is not None),
                run_id,
                now_iso(),
            ),
        )
        article_id = int(cursor.lastrowid or 0)
        self.add_sighting(article_id, doc.origin, run_id)
        return article_id

    def add_sighting(self, article_id: int, origin: str, run_id: int) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO sightings (article_id, origin, run_id) VALUES (?, ?, ?)",
            (article_id, origin, run_id),
        )

    def add_input_error(self, origin: str, error: str, run_id: int) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO input_errors (origin, error, run_id) VALUES (?, ?, ?)", (origin, error, run_id)
        )

    def sketch_candidates(self, values: Sequence[int], min_shared: int) -> list[tuple[int, bytes]]:
        """Canonical articles sharing at least ``min_shared`` of ``values`` in their indexed sketch prefix."""
        if not values:
            return []
        marks = ",".join("?" * len(values))
        rows = self.db.execute(
            f"SELECT a.id, a.sketch FROM articles a JOIN ("
            f"  SELECT article_id FROM sketch_index WHERE value IN ({marks})"
            f"  GROUP BY article_id HAVING COUNT(*) >= ?) c ON c.article_id = a.id",
            (*values, min_shared),
        ).fetchall()
        return [(int(r["id"]), bytes(r["sketch"])) for r in rows]

    def set_sketch(self, article_id: int, sketch: bytes, indexed: Iterable[int]) -> None:
        self.db.execute("UPDATE articles SET sketch = ? WHERE id = ?", (sketch, article_id))
        self.db.executemany(
            "INSERT INTO sketch_index (value, article_id) VALUES (?, ?)", [(v, article_id) for v in indexed]
        )

    def mark_duplicate(self, article_id: int, of: int, similarity: float) -> None:
        self.db.execute(
            "UPDATE articles SET duplicate_of = ?, similarity = ? WHERE id = ?", (of, round(similarity, 4), article_id)
        )

    def add_doc_freq(self, documents: Sequence[Iterable[str]]) -> None:
        """Count ``documents`` (each its terms) in the document frequencies and the document count."""
        if not documents:
            return
        df = Counter(term for terms in documents for term in set(terms))
        self.db.executemany(
            "INSERT INTO doc_freq (term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            sorted(df.items()),
        )
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES ('doc_count', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
            (str(len(documents)),),
        )

    def doc_freq(self, terms: Iterable[str]) -> dict[str, int]:
        rows = self._select_in("SELECT term, df FROM doc_freq WHERE term IN ({marks})", list(set(terms)))
        return {row["term"]: int(row["df"]) for row in rows}

    def doc_count(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'doc_count'").fetchone()
        return int(row["value"]) if row else 0

    # -- events ----------------------------------------------------------------------------
    def unassigned_articles(self) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT id, title, body, at, dated, duplicate_of FROM articles WHERE event_id IS NULL ORDER BY id"
        ).fetchall()

    def event_of(self, article_id: int) -> int | None:
        row = self.db.execute("SELECT event_id FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None or row["event_id"] is None else int(row["event_id"])

    def events_of(self, article_ids: Sequence[int]) -> dict[int, int]:
        """The event of each of ``article_ids`` that has one."""
        sql = "SELECT id, event_id FROM articles WHERE event_id IS NOT NULL AND id IN ({marks})"
        return {int(row["id"]): int(row["event_id"]) for row in self._select_in(sql, article_ids)}

    def events_since(self, at: float) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT id, label, centroid, size, first_at, last_at FROM events WHERE last_at >= ? ORDER BY id", (at,)
        ).fetchall()

    def create_event(self, *, label: str, centroid: dict[str, float], at: float, run_id: int) -> int:
        cursor = self.db.execute(
            "INSERT INTO events (label, centroid, size, first_at, last_at, created_run, updated_at)"
            " VALUES (?, ?, 0, ?, ?, ?, ?)",
            (label, json.dumps(centroid), at, at, run_id, now_iso()),
        )
        return int(cursor.lastrowid or 0)

    def save_event(
        self, event_id: int, *, centroid: dict[str, float], size: int, first_at: float, last_at: float
    ) -> None:
        self.db.execute(
            "UPDATE events SET centroid = ?, size = ?, first_at = ?, last_at = ?, updated_at = ? WHERE id = ?",
            (json.dumps(centroid), size, first_at, last_at, now_iso(), event_id),
        )

    def assign_event(self, article_id: int, event_id: int, similarity: float | None) -> None:
        self.db.execute(
            "UPDATE articles SET event_id = ?, event_similarity = ? WHERE id = ? AND event_id IS NULL",
            (event_id, None if similarity is None else round(similarity, 4), article_id),
        )

    # -- summaries -------------------------------------------------------------------------
    def queue_summaries(self, article_ids: Iterable[int], *, model: str, prompt_version: str, run_id: int) -> int:
        """Pending rows for canonical ``article_ids`` without one for this model and prompt; how many were added."""
        before = self.db.total_changes
        self.db.executemany(
            "INSERT OR IGNORE INTO summaries"
            " (article_id, content_hash, model, prompt_version, status, run_id, updated_at)"
            " SELECT id, content_hash, ?, ?, 'pending', ?, ? FROM articles WHERE id = ? AND duplicate_of IS NULL",
            [(model, prompt_version, run_id, now_iso(), aid) for aid in article_ids],
        )
        return self.db.total_changes - before

    def requeue_failed(self, *, model: str, prompt_version: str, include_permanent: bool) -> int:
        kinds = "" if include_permanent else " AND error_kind = 'transient'"
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE summaries SET status = 'pending', updated_at = ?"
                f" WHERE status = 'failed' AND model = ? AND prompt_version = ?{kinds}",
                (now_iso(), model, prompt_version),
            )
        return cursor.rowcount

    def summaries_of(
        self, article_ids: Sequence[int], *, model: str, prompt_version: str
    ) -> dict[int, tuple[int, str]]:
        """Article ID -> (summary ID, status) of the summaries of ``article_ids`` for this model and prompt."""
        sql = (
            "SELECT id, article_id, status FROM summaries"
            " WHERE model = ? AND prompt_version = ? AND article_id IN ({marks})"
        )
        rows = self._select_in(sql, article_ids, (model, prompt_version))
        return {int(row["article_id"]): (int(row["id"]), row["status"]) for row in rows}

    def pending(
        self,
        *,
        model: str,
        prompt_version: str,
        summary_ids: Sequence[int] | None = None,
    ) -> list[WorkItem]:
        """Pending summaries with their articles, in article order (only ``summary_ids``)."""
        query = (
            "SELECT s.id AS sid, s.attempts, a.* FROM summaries s JOIN articles a ON a.id = s.article_id"
            " WHERE s.model = ? AND s.prompt_version = ? AND s.status = 'pending'"
        )
        if summary_ids is None:
            rows = self.db.execute(query + " ORDER BY a.id", (model, prompt_version)).fetchall()
        else:
            rows = sorted(
                self._select_in(query + " AND s.id IN ({marks})", summary_ids, (model, prompt_version)),
                key=lambda r: int(r["id"]),
            )
        return [
            WorkItem(
                summary_id=int(r["sid"]),
                article_id=int(r["id"]),
                attempts=int(r["attempts"]),
                document=document_of(r),
                event_id=None if r["event_id"] is None else int(r["event_id"]),
            )
            for r in rows
        ]

    def finish_summary(
        self,
        summary_id: int,
        *,
        status: str,
        result: str | None,
        error: str | None,
        error_kind: str | None,
        stats: dict[str, Any],
        run_id: int,
        article_id: int,
        sentences: str | None,
        attempts: int,
        wait: bool = True,
    ) -> bool:
        """Mark the row done or failed with its result and the ``attempts`` that led to it, in one
        transaction; False if it was not pending.

        Attempts are counted here, with their calls and tokens, not each in a transaction of its own
        as it starts: that was one more write per article, and each write waits for the lock the other
        workers and the ingest hold. An attempt cut short by a crash or Ctrl-C is not counted (nor are
        its calls); the article stays pending and the next run tries it again. Without ``wait``,
        LockBusy while another connection writes.
        """
        with self.transaction(wait=wait) as db:
            cursor = db.execute(
                "UPDATE summaries SET status = ?, result = ?, error = ?, error_kind = ?, attempts = attempts + ?,"
                " calls = calls + ?,"
                " reasks = reasks + ?, prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?,"
                " seconds = seconds + ?, run_id = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                (
                    status,
                    result,
                    error,
                    error_kind,
                    attempts,
                    stats.get("calls", 0),
                    stats.get("reasks", 0),
                    stats.get("prompt_tokens", 0),
                    stats.get("completion_tokens", 0),
                    stats.get("seconds", 0.0),
                    run_id,
                    now_iso(),
                    summary_id,
                ),
            )
            if sentences is not None:
                db.execute(
                    "UPDATE articles SET sentences = ? WHERE id = ? AND sentences IS NULL", (sentences, article_id)
                )
        return cursor.rowcount == 1

    # -- briefs ----------------------------------------------------------------------------
    def event_members(self, event_id: int, *, model: str, prompt_version: str) -> list[sqlite3.Row]:
        """Canonical members of an event with their summary state for this model and prompt, oldest first."""
        return self.db.execute(
            "SELECT a.*, s.status AS summary_status, s.result AS summary FROM articles a"
            " LEFT JOIN summaries s ON s.article_id = a.id AND s.model = ? AND s.prompt_version = ?"
            " WHERE a.event_id = ? AND a.duplicate_of IS NULL ORDER BY a.at, a.id",
            (model, prompt_version, event_id),
        ).fetchall()

    def done_members(self, event_id: int, *, model: str, prompt_version: str) -> list[int]:
        """Ids of an event's canonical members summarised with this model and prompt, oldest first."""
        return [
            int(r[0])
            for r in self.db.execute(
                # CROSS JOIN keeps the event's few articles as the outer loop (SQLite's hint for join order).
                "SELECT a.id FROM articles a CROSS JOIN summaries s ON s.article_id = a.id AND s.model = ?"
                " AND s.prompt_version = ? AND s.status = 'done'"
                " WHERE a.event_id = ? AND a.duplicate_of IS NULL ORDER BY a.at, a.id",
                (model, prompt_version, event_id),
            )
        ]

    def done_members_by_event(self, *, model: str, prompt_version: str) -> dict[int, list[int]]:
        """:meth:`done_members` of every event that has any, in one query (event by event, the store's
        whole history was two queries per event on every run)."""
        members: dict[int, list[int]] = {}
        for event_id, article_id in self.db.execute(
            "SELECT a.event_id, a.id FROM summaries s JOIN articles a ON a.id = s.article_id"
            " WHERE s.model = ? AND s.prompt_version = ? AND s.status = 'done'"
            " AND a.event_id IS NOT NULL AND a.duplicate_of IS NULL ORDER BY a.event_id, a.at, a.id",
            (model, prompt_version),
        ):
            members.setdefault(int(event_id), []).append(int(article_id))
        return members

    def latest_brief(self, event_id: int, *, model: str, prompt_version: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.db.execute(
            "SELECT * FROM briefs WHERE event_id = ? AND model = ? AND prompt_version = ? ORDER BY id DESC LIMIT 1",
            (event_id, model, prompt_version),
        ).fetchone()
        return row

    def brief_digests(self, *, model: str, prompt_version: str) -> set[tuple[int, str]]:
        """(event, member digest) of every brief :meth:`has_brief` counts, in one query."""
        rows = self.db.execute(
            f"SELECT event_id, members_digest FROM briefs WHERE model = ? AND prompt_version = ? AND {_BRIEF_MADE}",
            (model, prompt_version),
        )
        return {(int(event_id), str(digest)) for event_id, digest in rows}

    def has_brief(self, event_id: int, *, model: str, prompt_version: str, digest: str) -> bool:
        """Whether this member set was briefed already (done, or failed in a way a retry cannot fix)."""
        row = self.db.execute(
            "SELECT 1 FROM briefs WHERE event_id = ? AND model = ? AND prompt_version = ? AND members_digest = ?"
            f" AND {_BRIEF_MADE}",
            (event_id, model, prompt_version, digest),
        ).fetchone()
        return row is not None

    def save_brief(
        self,
        event_id: int,
        *,
        model: str,
        prompt_version: str,
        members: list[int],
        digest: str,
        status: str,
        error: str | None,
        error_kind: str | None,
        result: str | None,
        stats: dict[str, Any],
        run_id: int,
        wait: bool = True,
    ) -> bool:
        """Record a brief; a failed one for the same members is replaced, a done one never is. Without
        ``wait``, LockBusy while another connection writes."""
        with self.transaction(wait=wait) as db:
            cursor = db.execute(
                "INSERT INTO briefs (event_id, model, prompt_version, members, members_digest, status, error,"
                " error_kind, result, calls, prompt_tokens, completion_tokens, seconds, run_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (event_id, model, prompt_version, members_digest) DO UPDATE SET"
                " status = excluded.status, error = excluded.error, error_kind = excluded.error_kind,"
                " result = excluded.result, calls = briefs.calls + excluded.calls,"
                " prompt_tokens = briefs.prompt_tokens + excluded.prompt_tokens,"
                " completion_tokens = briefs.completion_tokens + excluded.completion_tokens,"
                " seconds = briefs.seconds + excluded.seconds, run_id = excluded.run_id,"
                " created_at = excluded.created_at"
                " WHERE briefs.status = 'failed'",
                (
                    event_id,
                    model,
                    prompt_version,
                    json.dumps(members),
                    digest,
                    status,
                    error,
                    error_kind,
                    result,
                    stats.get("calls", 0),
                    stats.get("prompt_tokens", 0),
                    stats.get("completion_tokens", 0),
                    stats.get("seconds", 0.0),
                    run_id,
                    now_iso(),
                ),
            )
        return cursor.rowcount == 1

    # -- reading ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()

    def latest_configuration(self) -> tuple[str, str] | None:
        """The (model, prompt_version) of the most recent run that had one."""
        row = self.db.execute(
            "SELECT model, prompt_version FROM runs WHERE model IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (row["model"], row["prompt_version"])


def document_of(row: sqlite3.Row) -> Document:
    return Document(
        title=row["title"],
        text=row["body"],
        origin=row["origin"],
        url=row["url"],
        source=row["source"],
        published=row["published"],
    )


def parse_time(value: str | None) -> float | None:
    """Epoch seconds of an ISO date or datetime (naive means UTC); None if missing or unreadable."""
    if value:
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.timestamp()
    return None
