"""Read results back out of a store: JSON Lines or Markdown exports, and the status summary.

JSONL has one object per line, tagged by ``type``:

* ``"article"``: the article (id ``aN`` as cited in summaries and briefs, content hash,
  origins, metadata), its state for the model and prompt version (``done``, ``failed`` with
  the error, ``pending``, or ``duplicate`` with ``duplicate_of`` and the estimated
  similarity), its event, and the ``summary`` (an ``ArticleSummary``) when done;
* ``"event"``: the event's articles and its latest brief as a complete ``Brief`` — the same
  schema ``summarizer brief --format json`` writes — or null if it has none.

Markdown is the same content for people: one section per event, brief first, then articles,
rendered by ``summarizer.render``'s Markdown renderer with the shared escaper.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from summarizer.batch import BatchError
from summarizer.batch.store import Store
from summarizer.markdown import code, md
from summarizer.render import markdown_sections, md_claim
from summarizer.schemas import ArticleSummary, Brief


def configuration(store: Store, model: str | None, prompt_version: str | None) -> tuple[str, str]:
    """The (model, prompt version) to report: as given, else those of the latest run."""
    latest = store.latest_configuration()
    if latest is None and (model is None or prompt_version is None):
        raise BatchError(f"{store.path}: no batch has run on this store yet")
    return model or (latest[0] if latest else ""), prompt_version or (latest[1] if latest else "")


def _origins(store: Store) -> dict[int, list[str]]:
    origins: dict[int, list[str]] = {}
    for row in store.query("SELECT article_id, origin FROM sightings ORDER BY rowid"):
        origins.setdefault(int(row["article_id"]), []).append(row["origin"])
    return origins


def article_records(store: Store, model: str, prompt_version: str) -> Iterator[dict[str, Any]]:
    origins = _origins(store)
    rows = store.query(
        "SELECT a.*, s.status AS summary_status, s.attempts, s.error, s.result FROM articles a"
        " LEFT JOIN summaries s ON s.article_id = a.id AND s.model = ? AND s.prompt_version = ? ORDER BY a.id",
        (model, prompt_version),
    )
    for row in rows:
        duplicate_of = row["duplicate_of"]
        status = "duplicate" if duplicate_of is not None else (row["summary_status"] or "not queued")
        yield {
            "type": "article",
            "id": f"a{row['id']}",
            "content_hash": row["content_hash"],
            "origin": row["origin"],
            "origins": origins.get(int(row["id"]), [row["origin"]]),
            "title": row["title"],
            "url": row["url"],
            "source": row["source"],
            "published": row["published"],
            "event_id": row["event_id"],
            "status": status,
            "duplicate_of": None if duplicate_of is None else f"a{duplicate_of}",
            "similarity": row["similarity"],
            "attempts": row["attempts"] or 0,
            "error": row["error"],
            "model": model,
            "prompt_version": prompt_version,
            "summary": json.loads(row["result"]) if row["result"] else None,
        }


def event_records(store: Store, model: str, prompt_version: str, *, history: bool = False) -> Iterator[dict[str, Any]]:
    """One record per event with its latest brief; with ``history``, every version and what each changed."""
    from summarizer.batch.history import briefs, histories, versions

    latest = {event: vs[-1] for event, vs in versions(store, model=model, prompt_version=prompt_version).items()}
    full = briefs(store, latest.values(), model=model, prompt_version=prompt_version)
    changes = histories(store, model=model, prompt_version=prompt_version, built=full) if history else {}
    members: dict[int, list[str]] = {}
    for row in store.query("SELECT id, event_id FROM articles WHERE event_id IS NOT NULL ORDER BY at, id"):
        members.setdefault(int(row["event_id"]), []).append(f"a{row['id']}")
    for event in store.query("SELECT * FROM events ORDER BY id"):
        event_id = int(event["id"])
        if event_id not in members:
            continue
        brief = full[latest[event_id].brief_id] if event_id in latest else None
        record = {
            "type": "event",
            "id": event_id,
            "label": event["label"],
            "articles": members[event_id],
            "first_at": event["first_at"],
            "last_at": event["last_at"],
            "brief": None if brief is None else brief.model_dump(mode="json"),
        }
        if history:
            record["history"] = [
                {**v, "changes": None if v["changes"] is None else v["changes"].model_dump(mode="json")}
                for v in changes.get(event_id, [])
            ]
        yield record


def export_jsonl(
    store: Store, out: TextIO, *, model: str | None = None, prompt_version: str | None = None, history: bool = False
) -> int:
    """Write every article and event record; the number of lines written."""
    model, prompt_version = configuration(store, model, prompt_version)
    count = 0
    events = event_records(store, model, prompt_version, history=history)
    for record in (*article_records(store, model, prompt_version), *events):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def export_markdown(
    store: Store, out: TextIO, *, model: str | None = None, prompt_version: str | None = None, history: bool = False
) -> int:
    """Write a Markdown report, one section per event; the number of events written.

    Briefs and summaries go through the brief's own Markdown renderer (``summarizer.render``), so
    every format escapes article text the same way.
    """
    model, prompt_version = configuration(store, model, prompt_version)
    articles = {record["id"]: record for record in article_records(store, model, prompt_version)}
    out.write(f"# Batch results\n\nStore {code(store.path)} · model {code(model)} · prompts {code(prompt_version)}\n")
    count = 0
    for event in event_records(store, model, prompt_version, history=history):
        count += 1
        out.write(f"\n## Event {event['id']}: {md(event['label'])}\n\n{len(event['articles'])} article(s)\n")
        brief = event["brief"]
        if brief:
            out.write("\n### Brief\n")
            # No Sources section here, so markers are plain text; single-source facts repeat the articles below.
            for title, lines in markdown_sections(Brief.model_validate(brief), anchors=False, single_source=False):
                if lines:
                    out.write(f"\n**{title}**\n\n")
                    out.writelines(line + "\n" for line in lines)
        if history:
            out.write(_history_markdown(event["id"], event.get("history", [])))
        out.write("\n### Articles\n")
        for article_id in event["articles"]:
            record = articles[article_id]
            meta = ", ".join(x for x in (record["source"], record["published"], record["origin"]) if x)
            if record["status"] == "duplicate":
                out.write(
                    f"\n- {article_id} {md(record['title'])} ({md(meta)}): copy of {record['duplicate_of']}"
                    f" (similarity {record['similarity']:.2f})\n"
                )
                continue
            summary = record["summary"]
            headline = summary["headline"] if summary else record["title"]
            out.write(f"\n#### {article_id}: {md(headline)}\n\n_{md(meta)}_\n\n")
            if len(record["origins"]) > 1:
                out.write(f"Also seen at: {', '.join(md(o) for o in record['origins'][1:])}\n\n")
            if summary is None:
                out.write(
                    f"Not summarised ({record['status']}){': ' + md(record['error']) if record['error'] else ''}\n"
                )
                continue
            for claim in ArticleSummary.model_validate(summary).summary:
                out.write(md_claim(claim.text, claim.citations, anchors=False) + "\n")
    return count


@dataclass
class Status:
    path: str
    model: str | None
    prompt_version: str | None
    articles: int = 0
    states: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    input_errors: int = 0
    events: int = 0
    multi_article_events: int = 0
    briefed_events: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.states.get("pending", 0)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "pending": self.pending}


def status(store: Store, *, model: str | None = None, prompt_version: str | None = None, runs: int = 5) -> Status:
    latest = store.latest_configuration()
    if latest is not None:
        model, prompt_version = model or latest[0], prompt_version or latest[1]
    result = Status(path=str(store.path), model=model, prompt_version=prompt_version)
    result.articles = int(store.query("SELECT COUNT(*) FROM articles")[0][0])
    result.duplicates = int(store.query("SELECT COUNT(*) FROM articles WHERE duplicate_of IS NOT NULL")[0][0])
    result.input_errors = int(store.query("SELECT COUNT(*) FROM input_errors")[0][0])
    result.states = {
        row["status"]: int(row["n"])
        for row in store.query(
            "SELECT status, COUNT(*) AS n FROM summaries WHERE model = ? AND prompt_version = ? GROUP BY status",
            (model, prompt_version),
        )
    }
    sizes = store.query("SELECT event_id, COUNT(*) AS n FROM articles WHERE event_id IS NOT NULL GROUP BY event_id")
    result.events = len(sizes)
    result.multi_article_events = sum(1 for row in sizes if int(row["n"]) > 1)
    result.briefed_events = int(
        store.query(
            "SELECT COUNT(DISTINCT event_id) FROM briefs WHERE model = ? AND prompt_version = ? AND status = 'done'",
            (model, prompt_version),
        )[0][0]
    )
    result.runs = [dict(row) for row in store.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (runs,))]
    result.failures = [
        dict(row)
        for row in store.query(
            "SELECT a.id AS article_id, a.origin, s.attempts, s.error, s.error_kind FROM summaries s"
            " JOIN articles a ON a.id = s.article_id WHERE s.model = ? AND s.prompt_version = ? AND s.status = 'failed'"
            " ORDER BY s.updated_at DESC LIMIT 10",
            (model, prompt_version),
        )
    ]
    return result


def _history_markdown(event_id: int, versions: list[dict[str, Any]]) -> str:
    """Each version of the event's brief, with what it changed (the diff's own Markdown renderer)."""
    from summarizer.schemas.updates import BriefDiff
    from summarizer.updates.render import markdown_body

    lines = ["", "### History", ""]
    for v in versions:
        lines.append(f"**Version {v['version']}** ({md(v['created_at'])}, {len(v['articles'])} article(s))")
        lines.append("")
        if v["changes"] is not None:
            diff = BriefDiff.model_validate(v["changes"])
            lines += markdown_body(diff, level=4, prefix=f"e{event_id}-v{v['version']}-")
    return "\n".join(lines) + "\n"
