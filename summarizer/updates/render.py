"""Render what changed: rich terminal text, Markdown, HTML or JSON, for one diff or a store's updates.

Every format is drawn from one reading of the diff (:func:`sections`), so they cannot disagree: each item has a
mark (``+`` new, ``~`` revised or moved, ``-`` gone), a line, its citations, and lines under it (the values of a
revised figure in order, the sides of a discrepancy, old → new). Article text is data and may be hostile: the
Markdown goes through the shared escaper, the HTML through an autoescaped template.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from summarizer.errors import ConfigurationError
from summarizer.markdown import md
from summarizer.render import discrepancy_heading, environment, marker, markers, side_line, timeline_line
from summarizer.schemas import Citation, TimelineEntry
from summarizer.schemas.updates import BriefDiff, BriefVersion, DiscrepancyChange, EventUpdates, Updates

MARKS = {
    "new": "+",
    "joined": "+",
    "appeared": "+",
    "widened": "~",
    "narrowed": "~",
    "changed": "~",
    "moved": "~",
    "revised": "~",
    "gone": "-",
    "left": "-",
    "resolved": "-",
}
STYLES = {"+": "green", "~": "yellow", "-": "red"}


@dataclass
class Item:
    mark: str
    text: str
    citations: Sequence[Citation] = ()
    under: list[Item] = field(default_factory=list)


@dataclass
class Section:
    title: str
    items: list[Item]


def describe(v: BriefVersion) -> str:
    when = f", {v.created_at}" if v.created_at else ""
    return f"{v.label} ({v.articles} article(s){when}; {v.model}, prompts {v.prompt_version})"


def _discrepancy(c: DiscrepancyChange) -> Item:
    d = c.new or c.old
    assert d is not None
    head = f"{c.change}: {discrepancy_heading(d)}"
    extra = []
    if c.values_added:
        extra.append("values added: " + ", ".join(c.values_added))
    if c.values_removed:
        extra.append("values no longer given: " + ", ".join(c.values_removed))
    if c.articles_added:
        extra.append("now also in " + ", ".join(c.articles_added))
    if extra:
        head += " (" + "; ".join(extra) + ")"
    under = [Item("", side_line(s), s.citations) for s in d.sides]
    if c.change == "changed" and c.old is not None:
        was = " / ".join(f"{s.value or s.text} ({', '.join(s.article_ids)})" for s in c.old.sides)
        under.insert(0, Item("", f"before: {was}", [x for s in c.old.sides for x in s.citations[:1]]))
    return Item(MARKS[c.change], head, (), under)


def sections(diff: BriefDiff) -> list[Section]:
    """The diff as titled lists of marked items, shared by every format."""
    names = {a.id: ", ".join(x for x in (a.source, a.published) if x) or a.id for a in diff.articles}
    out = [
        Section(
            "Sources",
            [
                Item(MARKS[a.status], f"{a.status}: {a.id} {a.title} ({names[a.id]})")
                for a in diff.articles
                if a.status != "kept"
            ],
        ),
        Section(
            "Figures revised",
            [
                Item(
                    "~",
                    f"{f.quantity}: {f.old} → {f.new}"
                    + (f" (the sources disagree; the brief flags it: {f.discrepancy})" if f.discrepancy else ""),
                    (),
                    [Item("", f"{v.value} — {names.get(v.article_id, v.article_id)}", v.citations) for v in f.history],
                )
                for f in diff.figures
            ],
        ),
        Section("Discrepancies", [_discrepancy(c) for c in diff.discrepancies]),
        Section("Timeline", [_dated(c.change, c.old, c.new) for c in diff.timeline]),
    ]
    titles = {"overview": "Overview", "consensus": "Consensus", "fact": "Facts"}
    for section, title in titles.items():
        items = []
        for c in diff.claims:
            if c.section != section:
                continue
            under = [Item("", "before: " + markers(c.was), c.was)] if c.was else []
            note = f" ({c.note})" if c.note else ""
            items.append(Item(MARKS[c.change], f"{c.change}: {c.text}{note}", c.citations, under))
        out.append(Section(title, items))
    return [s for s in out if s.items]


def _dated(change: str, old: TimelineEntry | None, new: TimelineEntry | None) -> Item:
    if change == "moved" and old is not None and new is not None:
        return Item("~", f"moved: {old.iso or 'unresolved'} → {timeline_line(new)}", new.citations)
    entry = new or old
    assert entry is not None
    return Item(MARKS[change], f"{change}: {timeline_line(entry)}", entry.citations)


def unchanged_line(diff: BriefDiff) -> str:
    counts = ", ".join(f"{n} {k}" for k, n in diff.unchanged.items() if n)
    return f"Unchanged: {counts}." if counts else ""


def cited(diff: BriefDiff) -> list[Citation]:
    """Every distinct cited sentence in the diff, in article and sentence order."""
    seen: dict[tuple[str, str], Citation] = {}
    for s in sections(diff):
        for item in s.items:
            for c in [*item.citations, *(c for u in item.under for c in u.citations)]:
                seen.setdefault((c.article_id, c.sentence_id), c)
    order = {a.id: i for i, a in enumerate(diff.articles)}
    return sorted(seen.values(), key=lambda c: (order.get(c.article_id, 0), c.start))


# -- rich ------------------------------------------------------------------------------------


def _line(item: Item, indent: str = "") -> Text:
    line = Text(indent)
    if item.mark:
        line.append(item.mark + " ", style=STYLES[item.mark])
    line.append(item.text)
    if item.citations:
        line.append(" " + markers(item.citations), style="cyan")
    return line


def to_rich(diff: BriefDiff, *, title: str = "What changed") -> Group:
    parts: list[object] = [Panel(Text(f"{describe(diff.old)}\n→ {describe(diff.new)}"), title=Text(title), expand=True)]
    if not diff.changed:
        parts.append(Text("No changes.", style="bold"))
        return Group(*parts)  # type: ignore[arg-type]
    for s in sections(diff):
        parts.append(Text(s.title, style="bold underline"))
        for item in s.items:
            parts.append(_line(item))
            parts += [_line(u, "    ") for u in item.under]
        parts.append(Text(""))
    if line := unchanged_line(diff):
        parts.append(Text(line, style="dim"))
    table = Table(title="Sources", title_justify="left", show_header=False, box=None)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column()
    for c in cited(diff):
        table.add_row(Text(f"[{marker(c)}]"), Text(c.text))
    parts.append(table)
    return Group(*parts)  # type: ignore[arg-type]


# -- markdown --------------------------------------------------------------------------------


def _md_line(item: Item, depth: int = 0, prefix: str = "") -> str:
    mark = f"**{md(item.mark)}** " if item.mark else ""
    refs = ", ".join(f"[{marker(c)}](#{prefix}{c.article_id}-{c.sentence_id})" for c in item.citations)
    return "  " * depth + f"- {mark}{md(item.text)}" + (f" \\[{refs}\\]" if refs else "")


def markdown_body(diff: BriefDiff, level: int = 2, prefix: str = "") -> list[str]:
    """The diff's sections and sources; ``prefix`` keeps anchors apart when a page holds several diffs."""
    h = "#" * level
    out = [f"*{md(describe(diff.old))} → {md(describe(diff.new))}*", ""]
    if not diff.changed:
        return [*out, "No changes.", ""]
    for s in sections(diff):
        out += [f"{h} {s.title}", ""]
        for item in s.items:
            out += [_md_line(item, 0, prefix), *(_md_line(u, 1, prefix) for u in item.under)]
        out.append("")
    if line := unchanged_line(diff):
        out += [f"*{md(line)}*", ""]
    out += [f"{h} Sources", ""]
    out += [
        f'- <a id="{prefix}{c.article_id}-{c.sentence_id}"></a>**[{md(marker(c))}]** {md(c.text)}' for c in cited(diff)
    ]
    return [*out, ""]


def to_markdown(diff: BriefDiff) -> str:
    return "\n".join(["# What changed", "", *markdown_body(diff)])


# -- html ------------------------------------------------------------------------------------


def _html_context(diff: BriefDiff, prefix: str = "") -> dict[str, object]:
    def cites(citations: Sequence[Citation]) -> list[dict[str, str]]:
        return [{"href": f"#{prefix}{c.article_id}-{c.sentence_id}", "label": f"[{marker(c)}]"} for c in citations]

    def item(i: Item) -> dict[str, object]:
        return {"mark": i.mark, "text": i.text, "cites": cites(i.citations), "under": [item(u) for u in i.under]}

    return {
        "diff": diff,
        "old": describe(diff.old),
        "new": describe(diff.new),
        "sections": [{"title": s.title, "entries": [item(i) for i in s.items]} for s in sections(diff)],
        "unchanged": unchanged_line(diff),
        "sources": [
            {"id": f"{prefix}{c.article_id}-{c.sentence_id}", "label": f"[{marker(c)}]", "text": c.text}
            for c in cited(diff)
        ],
    }


def to_html(diff: BriefDiff) -> str:
    return (
        environment()
        .get_template("updates.html.j2")
        .render(pages=[{"heading": None, **_html_context(diff)}], title="What changed", summary=None, notes=[])
    )


# -- a store's updates ---------------------------------------------------------------------------


def render(value: BriefDiff | Updates, fmt: str, *, console: Console | None = None) -> str:
    """``value`` as text in ``fmt``; for "rich" with a console, printed to it and "" returned."""
    if fmt == "json":
        return value.model_dump_json(indent=2) + "\n"
    if isinstance(value, BriefDiff):
        if fmt == "md":
            return to_markdown(value)
        if fmt == "html":
            return to_html(value)
        group = to_rich(value)
    else:
        if fmt == "md":
            return updates_markdown(value)
        if fmt == "html":
            return updates_html(value)
        group = updates_rich(value)
    if fmt != "rich":
        raise ConfigurationError(f"unknown format {fmt!r}")
    if console is not None:
        console.print(group)
        return ""
    capture = Console(width=100, file=io.StringIO(), color_system=None)
    capture.print(group)
    return capture.file.getvalue()  # type: ignore[attr-defined]


def _event_heading(e: EventUpdates) -> str:
    return f"Event {e.event_id}: {e.label} ({e.versions} version(s))"


def _changed(e: EventUpdates) -> bool:
    return e.diff is not None and e.diff.changed


def summary_line(u: Updates) -> str:
    changed = sum(1 for e in u.events if _changed(e))
    since = f" since {u.since}" if u.since else ""
    if u.since and u.since.startswith("run "):
        since = f" in the latest run ({u.since})"
    return f"{changed} of {len(u.events)} event(s) changed{since}." if changed else f"No changes{since}."


def updates_rich(u: Updates) -> Group:
    parts: list[object] = [Text(summary_line(u), style="bold")]
    for e in u.events:
        if e.diff is not None and e.diff.changed:
            parts.append(to_rich(e.diff, title=_event_heading(e)))
        elif e.note:
            parts.append(Text(f"{_event_heading(e)}: {e.note}", style="dim"))
    return Group(*parts)  # type: ignore[arg-type]


def updates_markdown(u: Updates) -> str:
    out = ["# Updates", "", md(summary_line(u)), ""]
    for e in u.events:
        if e.diff is not None and e.diff.changed:
            out += [f"## {md(_event_heading(e))}", "", *markdown_body(e.diff, level=3, prefix=f"e{e.event_id}-")]
        elif e.note:
            out += [f"*{md(_event_heading(e))}: {md(e.note)}*", ""]
    return "\n".join(out)


def updates_html(u: Updates) -> str:
    pages = [
        {"heading": _event_heading(e), **_html_context(e.diff, f"e{e.event_id}-")}
        for e in u.events
        if e.diff is not None and e.diff.changed
    ]
    notes = [f"{_event_heading(e)}: {e.note}" for e in u.events if e.note and not _changed(e)]
    return (
        environment()
        .get_template("updates.html.j2")
        .render(pages=pages, title="Updates", summary=summary_line(u), notes=notes)
    )
