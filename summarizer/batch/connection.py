"""The batch store's SQLite connection: opening (and migrating) the file, transactions, the batch lock.

Crash safety comes from three rules, kept by :class:`summarizer.batch.store.Store`'s queries:

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

A write the file system refuses (a full disk, a read-only file) is a :class:`StoreError` naming the
file, its transaction rolled back; a store that cannot be opened is a one-line :class:`BatchError`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from summarizer.batch import BatchError
from summarizer.batch.schema import SCHEMA_VERSION, upgrade
from summarizer.errors import StoreError, SummarizerError

BUSY_TIMEOUT = 30.0
"""Seconds a write waits for another connection's transaction before it fails."""
BUSY_POLL = 0.0005
"""Seconds between tries to start a write transaction while another connection holds the lock."""
IN_CHUNK = 500
"""Values per ``IN (...)`` list in one statement (SQLite bounds a statement's parameters)."""


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


def _write_failure(exc: sqlite3.Error) -> str | None:
    """What a refused write means (a full disk, a read-only file), or None for another error."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _WRITE_FAILURES.get(code & 0xFF)
    text = str(exc)
    return next((m for k, m in _MESSAGES.items() if k in text), None)


_Open = TypeVar("_Open", bound="Connection")


class Connection:
    """An open batch store at ``path``, at the current schema version. Use as a context manager, or call
    :meth:`close`."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            raise BatchError(f"{self.path}: no such store (run `summarizer batch INBOX --store {self.path}` first)")
        if not readonly and self.path.parent and not self.path.parent.exists():
            raise BatchError(f"{self.path}: the folder {self.path.parent} does not exist")
        self._lock_file: Any = None
        self._depth = 0
        """Transactions open, the outermost and the savepoints inside it."""
        self._ended: StoreError | None = None
        """Why SQLite ended the open transaction from inside a savepoint (nothing more may be written in it)."""
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

    def __enter__(self: _Open) -> _Open:
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
            upgrade(self.db, int(self.db.execute("PRAGMA user_version").fetchone()[0]))
        except BaseException:
            self._rollback()
            raise
        self.db.execute("COMMIT")

    # -- transactions ----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: all of it is committed, or none of it. Without ``wait``, LockBusy at
        once if another connection holds the write lock (for an event loop, which waits its own way).
        Inside another (results written together), a savepoint: a failure undoes it alone, unless SQLite
        ended the whole transaction (a full disk), after which nothing more is written and the outer one
        fails as rolled back."""
        if self._depth:
            yield from self._savepoint()
            return
        try:
            self._begin(wait)
        except sqlite3.OperationalError as exc:
            self._raise_refused(exc)
            raise
        self._depth, self._ended = 1, None
        try:
            yield self.db
            if self._ended is not None:  # a failure inside ended it; the caller went on regardless
                raise self._ended
            self.db.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.OperationalError):
                self._raise_refused(exc)
            raise
        finally:
            self._depth, self._ended = 0, None

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        if self._ended is not None:
            raise self._ended
        name = f"nested{self._depth}"
        self.db.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield self.db
        except BaseException as exc:
            if self.db.in_transaction:
                self.db.execute(f"ROLLBACK TO {name}")
            else:  # SQLite rolled the whole transaction back: what follows in it must not autocommit
                self._ended = self._ended_by(exc)
            raise
        finally:
            self._depth -= 1
            if self.db.in_transaction:
                self.db.execute(f"RELEASE {name}")

    def _ended_by(self, exc: BaseException) -> StoreError:
        meaning = _write_failure(exc) if isinstance(exc, sqlite3.OperationalError) else None
        return StoreError(
            f"{self.path}: cannot write the batch store: {meaning or 'the transaction was ended'} ({exc});"
            " the step was rolled back"
        )

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
        """BEGIN IMMEDIATE, trying again every BUSY_POLL while another connection writes (or, without
        ``wait``, LockBusy at once). Not SQLite's busy handler: it backs off up to 100 ms between tries,
        so a writer behind one that commits chunk after chunk rarely finds the lock free."""
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

    # -- the batch lock --------------------------------------------------------------------
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

    # -- reading ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return self.db.execute(sql, params).fetchall()

    def select_in(self, sql: str, values: Sequence[Any], params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        """The rows of ``sql`` for ``values``, which fill its ``IN ({marks})``, after ``params``: asked
        ``IN_CHUNK`` values at a time (SQLite bounds the parameters of one statement)."""
        for start in range(0, len(values), IN_CHUNK):
            chunk = list(values[start : start + IN_CHUNK])
            yield from self.db.execute(sql.format(marks=",".join("?" * len(chunk))), (*params, *chunk))
