"""The batch store's tables, and the migrations that create and upgrade them.

``MIGRATIONS[n]`` takes a store from schema version ``n - 1`` to ``n`` (SQLite's ``user_version``);
:class:`summarizer.batch.connection.Connection` applies the missing ones in one transaction when it opens a store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

SCHEMA_VERSION = 3

MIGRATIONS: dict[int, str] = {
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
    # Each done brief is a version of its event (per model and prompt version), numbered as it is made.
    3: """
    ALTER TABLE briefs ADD COLUMN version INTEGER;
    UPDATE briefs SET version = (
        SELECT count(*) FROM briefs b WHERE b.event_id = briefs.event_id AND b.model = briefs.model
            AND b.prompt_version = briefs.prompt_version AND b.status = 'done' AND b.id <= briefs.id
    ) WHERE status = 'done';
    CREATE INDEX briefs_versions ON briefs(model, prompt_version, event_id, version);
    """,
}


def statements(script: str) -> Iterator[str]:
    """The SQL statements of ``script`` one at a time: ``executescript`` would commit the open transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ""


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Apply the migrations after ``version`` (each sets its ``user_version``) in the caller's transaction."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in statements(MIGRATIONS[target]):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {target}")
