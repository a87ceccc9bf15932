"""``Store``: every query a batch makes, grouped by table (runs, articles, events, summaries, briefs).

The file, its transactions and its lock are :class:`summarizer.batch.connection.Connection`'s; the tables
are :mod:`summarizer.batch.schema`'s; rows become objects in :mod:`summarizer.batch.records`.

About 400 lines: one method per question a batch asks; split by table, the pieces would call each other.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from summarizer.batch.connection import Connection
from summarizer.batch.records import WorkItem, document_of
from summarizer.load import Document
from summarizer.times import now_iso, parse_time

_BRIEF_MADE = "(status = 'done' OR error_kind = 'permanent')"
"""A brief row that counts as made for its member set: done, or failed in a way a retry cannot fix."""


class Store(Connection):
    """A batch store at ``path`` (see :class:`~summarizer.batch.connection.Connection` for opening and locking it)."""

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

    # -- articles (the ingest) ----------------------------------------------------------------------------
    def known_hashes(self, hashes: Sequence[str]) -> dict[str, int]:
        """Article ids of the ``hashes`` already stored."""
        rows = self.select_in("SELECT id, content_hash FROM articles WHERE content_hash IN ({marks})", hashes)
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
        rows = self.select_in("SELECT term, df FROM doc_freq WHERE term IN ({marks})", list(set(terms)))
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
        return {int(row["id"]): int(row["event_id"]) for row in self.select_in(sql, article_ids)}

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
        rows = self.select_in(sql, article_ids, (model, prompt_version))
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
            "SELECT s.id AS sid, a.* FROM summaries s JOIN articles a ON a.id = s.article_id"
            " WHERE s.model = ? AND s.prompt_version = ? AND s.status = 'pending'"
        )
        if summary_ids is None:
            rows = self.db.execute(query + " ORDER BY a.id", (model, prompt_version)).fetchall()
        else:
            rows = sorted(
                self.select_in(query + " AND s.id IN ({marks})", summary_ids, (model, prompt_version)),
                key=lambda r: int(r["id"]),
            )
        return [
            WorkItem(
                summary_id=int(r["sid"]),
                article_id=int(r["id"]),
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
    ) -> bool:
        """Mark the row done or failed with its result and the ``attempts`` that led to it, in one
        transaction (a savepoint of the batch writer's, which writes several together); False if it was
        not pending.

        Attempts are counted with the result (one write per article): one cut short by a crash or Ctrl-C
        is not counted, nor are its calls, and the article stays pending for the next run.
        """
        with self.transaction() as db:
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
    def members_with_summaries(
        self, article_ids: Sequence[int], *, model: str, prompt_version: str
    ) -> list[sqlite3.Row]:
        """These articles with their done summary (``summary``) for this model and prompt, in the order given;
        one without such a summary is left out."""
        rows = {
            int(r["id"]): r
            for r in self.select_in(
                "SELECT a.*, s.result AS summary FROM articles a JOIN summaries s ON s.article_id = a.id"
                " AND s.model = ? AND s.prompt_version = ? AND s.status = 'done' WHERE a.id IN ({marks})",
                list(article_ids),
                (model, prompt_version),
            )
        }
        return [rows[i] for i in article_ids if i in rows]

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
        """:meth:`done_members` of every event that has any, in one query however many events the store has kept."""
        members: dict[int, list[int]] = {}
        for event_id, article_id in self.db.execute(
            "SELECT a.event_id, a.id FROM summaries s JOIN articles a ON a.id = s.article_id"
            " WHERE s.model = ? AND s.prompt_version = ? AND s.status = 'done'"
            " AND a.event_id IS NOT NULL AND a.duplicate_of IS NULL ORDER BY a.event_id, a.at, a.id",
            (model, prompt_version),
        ):
            members.setdefault(int(event_id), []).append(int(article_id))
        return members

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
    ) -> bool:
        """Record a brief; a failed one for the same members is replaced, a done one never is. A done
        brief becomes the event's next version (per model and prompt version) in the same transaction (a
        savepoint of the batch writer's)."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO briefs (event_id, model, prompt_version, members, members_digest, status, error,"
                " error_kind, result, calls, prompt_tokens, completion_tokens, seconds, run_id, created_at, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ?6 = 'done' THEN"
                " (SELECT coalesce(max(version), 0) + 1 FROM briefs WHERE event_id = ?1 AND model = ?2"
                " AND prompt_version = ?3 AND status = 'done') END)"
                " ON CONFLICT (event_id, model, prompt_version, members_digest) DO UPDATE SET"
                " status = excluded.status, error = excluded.error, error_kind = excluded.error_kind,"
                " version = excluded.version,"
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
    def latest_configuration(self) -> tuple[str, str] | None:
        """The (model, prompt_version) of the most recent run that had one."""
        row = self.db.execute(
            "SELECT model, prompt_version FROM runs WHERE model IS NOT NULL ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else (row["model"], row["prompt_version"])
