"""The claim-level diff of two briefs: what a reader who saw the older one needs to know about the newer.

Claims are matched by what they rest on, never by their wording: an article is the same article when its text
hashes the same, a claim is the same claim when it cites one of the same sentences, a discrepancy the same one
when it compares one of the same sentences or the same name, a figure the same quantity when the analysis counts
the same unit in sentences it compared. What cannot be matched is reported as new or gone, never dropped.
Reading two briefs is all a diff does: it never asks a model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from summarizer.analysis.names import name_key, variants
from summarizer.schemas import ArticleOut, Brief, Claim, DiscrepancyOut, TimelineEntry
from summarizer.schemas.updates import (
    BriefDiff,
    BriefVersion,
    ClaimChange,
    DateChange,
    DiffArticle,
    DiscrepancyChange,
)
from summarizer.updates.figures import figure_changes
from summarizer.updates.sides import SentenceKey, Side


def diff_briefs(old: Brief, new: Brief, *, old_version: BriefVersion, new_version: BriefVersion) -> BriefDiff:
    """What changed from ``old`` to ``new`` (two briefs of one event, in that order)."""
    articles, before, after = _articles(old, new)
    figures, figure_discrepancies, old_figures, new_figures, same_figures = figure_changes(before, after)
    others, same_others = _discrepancies(before, after, old_figures, new_figures)
    discrepancies = figure_discrepancies + others
    timeline, same_dates = _timeline(before, after)
    claims, same_claims = _claims(before, after)
    unchanged = {**same_claims, "timeline": same_dates, "discrepancies": same_figures + same_others}
    changed = any(a.status != "kept" for a in articles) or bool(figures or discrepancies or timeline or claims)
    return BriefDiff(
        old=old_version,
        new=new_version,
        changed=changed,
        articles=articles,
        figures=figures,
        discrepancies=discrepancies,
        timeline=timeline,
        claims=claims,
        unchanged=unchanged,
    )


def _articles(old: Brief, new: Brief) -> tuple[list[DiffArticle], Side, Side]:
    old_sha = {a.id: a.sha256 for a in old.articles}
    new_sha = {a.id: a.sha256 for a in new.articles}
    kept = set(old_sha.values()) & set(new_sha.values())
    new_ids = {a.id: a.id for a in new.articles}
    by_sha = {a.sha256: a.id for a in new.articles}
    old_ids = {a.id: by_sha.get(a.sha256, f"old-{a.id}") for a in old.articles}
    out = [_listed(a, a.id, "kept" if a.sha256 in kept else "joined") for a in new.articles]
    out += [_listed(a, old_ids[a.id], "left") for a in old.articles if a.sha256 not in kept]
    return out, Side(old, old_sha, old_ids), Side(new, new_sha, new_ids)


def _listed(a: ArticleOut, diff_id: str, status: Literal["kept", "joined", "left"]) -> DiffArticle:
    fields = a.model_dump(include={"sha256", "title", "text", "source", "published", "url"})
    return DiffArticle(id=diff_id, status=status, **fields)


# -- discrepancies -----------------------------------------------------------------------------


def _values(d: DiscrepancyOut) -> list[str]:
    return [side.value or side.text for side in d.sides]


def _same_value(a: str, b: str) -> bool:
    ka, kb = name_key(a), name_key(b)
    return ka.lower() == kb.lower() or variants(ka, kb)


def _same_discrepancy(a: DiscrepancyOut, a_side: Side, b: DiscrepancyOut, b_side: Side) -> bool:
    numeric = {"figure", "arithmetic"}
    if a.kind != b.kind and not {a.kind, b.kind} <= numeric:
        return False
    a_keys = a_side.keys(c for s in a.sides for c in s.citations)
    b_keys = b_side.keys(c for s in b.sides for c in s.citations)
    if a.kind in ("spelling", "name"):
        # One name spelled another way: the same discrepancy when it is about one of the same spellings.
        return any(_same_value(x, y) for x in _values(a) for y in _values(b))
    # Two figures or accounts compared: the same discrepancy when it compares the same sentences.
    return len(a_keys & b_keys) >= 2 or a_keys == b_keys


def _discrepancies(
    before: Side, after: Side, old_figures: set[int], new_figures: set[int]
) -> tuple[list[DiscrepancyChange], int]:
    """Every discrepancy but the figures (``figure_changes`` reads those as quantities): what changed, and how
    many did not."""
    out: list[DiscrepancyChange] = []
    same = 0
    matched_old: set[int] = set(old_figures)
    for j, d in enumerate(after.brief.discrepancies):
        if j in new_figures:
            continue
        i = next(
            (
                i
                for i, o in enumerate(before.brief.discrepancies)
                if i not in matched_old and _same_discrepancy(o, before, d, after)
            ),
            None,
        )
        if i is None:
            out.append(DiscrepancyChange(change="appeared", kind=d.kind, topic=d.topic, new=_renamed(d, after)))
            continue
        matched_old.add(i)
        o = before.brief.discrepancies[i]
        added = [v for v in _values(d) if not any(_same_value(v, w) for w in _values(o))]
        removed = [v for v in _values(o) if not any(_same_value(v, w) for w in _values(d))]
        joined = sorted(set(_ids(_side_articles(d), after)) - set(_ids(_side_articles(o), before)))
        if added or removed or joined:
            out.append(
                DiscrepancyChange(
                    change="changed",
                    kind=d.kind,
                    topic=d.topic,
                    old=_renamed(o, before),
                    new=_renamed(d, after),
                    values_added=added,
                    values_removed=removed,
                    articles_added=joined,
                )
            )
        else:
            same += 1
    for i, o in enumerate(before.brief.discrepancies):
        if i not in matched_old:
            out.append(DiscrepancyChange(change="resolved", kind=o.kind, topic=o.topic, old=_renamed(o, before)))
    return out, same


def _renamed(d: DiscrepancyOut, side: Side) -> DiscrepancyOut:
    sides = [
        s.model_copy(update={"citations": side.cite(s.citations), "article_ids": _ids(s.article_ids, side)})
        for s in d.sides
    ]
    return d.model_copy(update={"sides": sides})


def _ids(article_ids: Iterable[str], side: Side) -> list[str]:
    return [side.ids.get(a, a) for a in article_ids]


def _side_articles(d: DiscrepancyOut) -> set[str]:
    return {c.article_id for s in d.sides for c in s.citations}


# -- timeline ----------------------------------------------------------------------------------


def _date_key(t: TimelineEntry, side: Side) -> tuple[frozenset[SentenceKey], str]:
    return side.keys(t.citations), " ".join(t.date.lower().split())


def _timeline(before: Side, after: Side) -> tuple[list[DateChange], int]:
    old_entries = list(before.brief.timeline)
    left = {i: _date_key(t, before) for i, t in enumerate(old_entries)}
    out: list[DateChange] = []
    same = 0
    unmatched_new: list[TimelineEntry] = []
    for t in after.brief.timeline:
        key = _date_key(t, after)
        i = next((i for i, k in left.items() if k == key), None)
        if i is None:
            unmatched_new.append(t)
            continue
        del left[i]
        if old_entries[i].iso != t.iso:
            out.append(DateChange(change="moved", old=_dated(old_entries[i], before), new=_dated(t, after)))
        else:
            same += 1
    for t in unmatched_new:
        keys = after.keys(t.citations)
        # The same sentence now dated otherwise (its date words read differently): the event moved.
        i = next((i for i, (k, _) in left.items() if k & keys), None)
        if i is not None and old_entries[i].iso != t.iso:
            del left[i]
            out.append(DateChange(change="moved", old=_dated(old_entries[i], before), new=_dated(t, after)))
        else:
            out.append(DateChange(change="new", new=_dated(t, after)))
    out += [DateChange(change="gone", old=_dated(old_entries[i], before)) for i in sorted(left)]
    return out, same


def _dated(t: TimelineEntry, side: Side) -> TimelineEntry:
    return t.model_copy(update={"citations": side.cite(t.citations)})


# -- overview, consensus, facts ----------------------------------------------------------------


def _claims(before: Side, after: Side) -> tuple[list[ClaimChange], dict[str, int]]:
    out: list[ClaimChange] = []
    same: dict[str, int] = {}
    sections: tuple[tuple[str, Sequence[Claim], Sequence[Claim]], ...] = (
        ("overview", before.brief.overview, after.brief.overview),
        ("consensus", before.brief.consensus, after.brief.consensus),
        ("fact", _facts(before.brief), _facts(after.brief)),
    )
    for section, olds, news in sections:
        changes, unchanged = _match_claims(section, olds, news, before, after)
        out += changes
        same[section] = unchanged
    return out, same


def _nested(old: Claim, now: frozenset[str], before: Side) -> bool:
    """The same point when one's sources contain the other's: more or fewer sources agree, not other ones."""
    was = before.sources(old.citations)
    return was <= now or now <= was


def _facts(brief: Brief) -> list[Claim]:
    return [f for s in brief.summaries for f in s.facts]


def _match_claims(
    section: str, olds: Sequence[Claim], news: Sequence[Claim], before: Side, after: Side
) -> tuple[list[ClaimChange], int]:
    old_keys = [before.keys(c.citations) for c in olds]
    taken: set[int] = set()
    out: list[ClaimChange] = []
    same = 0
    for claim in news:
        keys = after.keys(claim.citations)
        now = after.sources(claim.citations)
        i = next(
            (i for i, k in enumerate(old_keys) if i not in taken and k & keys and _nested(olds[i], now, before)), None
        )
        if i is None:
            out.append(
                ClaimChange(section=section, change="new", text=claim.text, citations=after.cite(claim.citations))
            )
            continue
        taken.add(i)
        was = before.sources(olds[i].citations)
        if section == "consensus" and was != now:
            out.append(
                ClaimChange(
                    section="consensus",
                    change="widened" if len(now) > len(was) else "narrowed",
                    text=claim.text,
                    citations=after.cite(claim.citations),
                    was=before.cite(olds[i].citations),
                )
            )
        else:
            same += 1
    still_there = set(after.sha.values())
    for i, claim in enumerate(olds):
        if i not in taken:
            kept = before.sources(claim.citations) <= still_there
            note = "every source it cites is still in; the brief now lists other points" if kept else None
            out.append(
                ClaimChange(
                    section=section,
                    change="gone",
                    text=claim.text,
                    citations=before.cite(claim.citations),
                    note=note if section != "fact" else None,
                )
            )
    return out, same
