"""Every version of each event's brief in a store, and what changed between them (``batch updates``).

A brief row, once done, is never rewritten: each is a version of its event, numbered per model and prompt
version in the order they were made. Updates read stored briefs only (never a model), in a fixed number of
queries whatever the number of events: the versions, then the articles and summaries those versions cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from summarizer.batch import BatchError
from summarizer.batch.engines import engine_of
from summarizer.batch.records import members_of
from summarizer.batch.store import Store
from summarizer.errors import ConfigurationError
from summarizer.schemas import Brief, RunInfo
from summarizer.schemas.updates import BriefVersion, EventUpdates, Updates
from summarizer.times import parse_datetime


@dataclass(frozen=True)
class Version:
    """One stored brief of an event."""

    brief_id: int
    event_id: int
    number: int
    created_at: str
    run_id: int | None
    members: tuple[int, ...]
    result: str
    provider: str | None


def versions(store: Store, *, model: str, prompt_version: str, event_id: int | None = None) -> dict[int, list[Version]]:
    """Each event's done briefs for this configuration, oldest first (one query)."""
    sql = (
        "SELECT b.id, b.event_id, b.version, b.created_at, b.run_id, b.members, b.result, r.provider"
        " FROM briefs b LEFT JOIN runs r ON r.id = b.run_id"
        " WHERE b.status = 'done' AND b.model = ? AND b.prompt_version = ?"
    )
    params: list[object] = [model, prompt_version]
    if event_id is not None:
        sql += " AND b.event_id = ?"
        params.append(event_id)
    out: dict[int, list[Version]] = {}
    for row in store.query(sql + " ORDER BY b.event_id, b.version, b.id", params):
        out.setdefault(int(row["event_id"]), []).append(
            Version(
                brief_id=int(row["id"]),
                event_id=int(row["event_id"]),
                number=int(row["version"] or 0),
                created_at=row["created_at"],
                run_id=row["run_id"],
                members=tuple(json.loads(row["members"])),
                result=row["result"],
                provider=row["provider"],
            )
        )
    return out


def briefs(store: Store, chosen: Iterable[Version], *, model: str, prompt_version: str) -> dict[int, Brief]:
    """The chosen versions as complete briefs, keyed by brief row id (one query for all their articles)."""
    from summarizer.brief import BriefParts, assemble

    chosen = list(chosen)
    wanted = sorted({m for v in chosen for m in v.members})
    rows = store.members_with_summaries(wanted, model=model, prompt_version=prompt_version)
    engine = engine_of(model, prompt_version)
    ids = [int(r["id"]) for r in rows]
    read_articles, read_summaries = members_of(rows)
    articles = dict(zip(ids, read_articles, strict=True))
    summaries = dict(zip(ids, read_summaries, strict=True))
    out: dict[int, Brief] = {}
    for v in chosen:
        members = [m for m in v.members if m in articles]
        run = RunInfo(provider=v.provider or "unknown", model=model, prompt_version=prompt_version, engine=engine)
        parts = BriefParts.model_validate_json(v.result)
        out[v.brief_id] = assemble([articles[m] for m in members], [summaries[m] for m in members], parts, run)
    return out


def parse_since(text: str) -> datetime:
    """An ISO time ("2026-03-02T18:00", UTC unless it says) or a relative one ("2 hours ago", "yesterday")."""
    parsed = parse_datetime(text)
    if parsed is None:
        import dateparser

        found = dateparser.parse(text.strip(), settings={"RETURN_AS_TIMEZONE_AWARE": True, "TO_TIMEZONE": "UTC"})
        if found is None:
            raise ConfigurationError(
                f"--since: cannot read {text!r} as a time (try 2026-03-02T18:00 or '2 hours ago')"
            ) from None
        parsed = found
    return parsed


def _at(created_at: str) -> datetime:
    parsed = parse_datetime(created_at)
    assert parsed is not None, created_at  # the store writes every created_at with now_iso
    return parsed


def _baseline(
    vs: Sequence[Version], *, since: datetime | None, version: int | None, last_run: int | None
) -> tuple[Version | None, bool, str | None]:
    """(the version to compare the latest with, whether anything is newer than it, why there is no diff)."""
    if version is not None:
        if version > len(vs):
            return None, False, f"has {len(vs)} version(s), no version {version}"
        return vs[version - 1], version < len(vs), None
    if since is not None:
        before = [v for v in vs if _at(v.created_at) <= since]
    else:
        before = [v for v in vs if last_run is None or (v.run_id or 0) < last_run]
    return (before[-1] if before else None), len(before) < len(vs), None


def _empty(model: str, prompt_version: str) -> Brief:
    return Brief(run=RunInfo(provider="none", model=model, prompt_version=prompt_version), articles=[], summaries=[])


def updates(
    store: Store,
    *,
    model: str,
    prompt_version: str,
    since: str | None = None,
    version: int | None = None,
    event_id: int | None = None,
) -> Updates:
    """What changed in each event: since a time, since version N, or (neither given) in the latest run."""
    from summarizer.updates import diff_briefs

    when = parse_since(since) if since else None
    last_run = None
    if when is None and version is None:
        row = store.query("SELECT max(id) AS id FROM runs")
        last_run = row[0]["id"] if row else None
    by_event = versions(store, model=model, prompt_version=prompt_version, event_id=event_id)
    if event_id is not None and not by_event:
        raise BatchError(f"{store.path}: event {event_id} has no brief for {model} with prompts {prompt_version}")
    labels = {int(r["id"]): r["label"] for r in store.query("SELECT id, label FROM events")}
    plans: list[tuple[int, list[Version], Version | None]] = []
    notes: list[EventUpdates] = []
    for event, vs in by_event.items():
        base, newer, note = _baseline(vs, since=when, version=version, last_run=last_run)
        if note:
            notes.append(EventUpdates(event_id=event, label=labels.get(event, ""), versions=len(vs), note=note))
        elif newer:
            plans.append((event, vs, base))
    chosen = [v for _, vs, base in plans for v in ([vs[-1], base] if base else [vs[-1]])]
    full = briefs(store, chosen, model=model, prompt_version=prompt_version)
    events: list[EventUpdates] = []
    for event, vs, base in plans:
        latest = vs[-1]
        old = full[base.brief_id] if base else _empty(model, prompt_version)
        diff = diff_briefs(
            old,
            full[latest.brief_id],
            old_version=_described(base, old, model, prompt_version),
            new_version=_described(latest, full[latest.brief_id], model, prompt_version),
        )
        events.append(EventUpdates(event_id=event, label=labels.get(event, ""), versions=len(vs), diff=diff))
    return Updates(
        store=str(store.path),
        since=since or (f"version {version}" if version else (f"run {last_run}" if last_run else None)),
        events=events + notes,
        unchanged=len(by_event) - len(plans) - len(notes),
    )


def _described(v: Version | None, brief: Brief, model: str, prompt_version: str) -> BriefVersion:
    if v is None:
        return BriefVersion(label="no brief yet", model=model, prompt_version=prompt_version, articles=0)
    return BriefVersion(
        label=f"version {v.number}",
        version=v.number,
        created_at=v.created_at,
        event_id=v.event_id,
        model=model,
        prompt_version=prompt_version,
        articles=len(brief.articles),
    )


def histories(
    store: Store, *, model: str, prompt_version: str, built: dict[int, Brief] | None = None
) -> dict[int, list[dict[str, Any]]]:
    """Each event's versions, oldest first, each with what it changed from the one before (``export --history``).
    ``built``: briefs the caller already has, by brief row id (not read again)."""
    from summarizer.updates import diff_briefs

    by_event = versions(store, model=model, prompt_version=prompt_version)
    built = built or {}
    missing = [v for vs in by_event.values() for v in vs if v.brief_id not in built]
    full = {**built, **briefs(store, missing, model=model, prompt_version=prompt_version)}
    out: dict[int, list[dict[str, Any]]] = {}
    for event, vs in by_event.items():
        records: list[dict[str, Any]] = []
        for before, v in zip([None, *vs[:-1]], vs, strict=True):
            changes = None
            if before is not None:
                changes = diff_briefs(
                    full[before.brief_id],
                    full[v.brief_id],
                    old_version=_described(before, full[before.brief_id], model, prompt_version),
                    new_version=_described(v, full[v.brief_id], model, prompt_version),
                )
            records.append(
                {
                    "version": v.number,
                    "created_at": v.created_at,
                    "run_id": v.run_id,
                    "articles": [f"a{m}" for m in v.members],
                    "changes": changes,
                }
            )
        out[event] = records
    return out
