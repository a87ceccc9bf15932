"""Render a Brief: rich terminal text, JSON, Markdown, or a self-contained HTML page.

The one renderer per format: ``brief`` and ``batch export`` both use it (the eval report shares
the Markdown escaper and, like the brief page, renders its HTML from autoescaped Jinja2 templates).
Citation markers read ``[article.sentence]``: ``[2.5]`` is sentence s5 of article a2. Every
renderer ends with the sources the markers point at, so a reader can check each claim.
All article text is escaped: it is data, and may be hostile.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from summarizer.errors import ConfigurationError
from summarizer.markdown import code, md
from summarizer.schemas import (
    ArticleExtraction,
    ArticleOut,
    Brief,
    BriefExtraction,
    Citation,
    DiscrepancyOut,
    SideOut,
    TimelineEntry,
)
from summarizer.schemas.updates import BriefDiff, Updates

SCHEMAS: dict[str, type[BaseModel]] = {
    "brief": Brief,
    "brief-diff": BriefDiff,
    "updates": Updates,
    "article-extraction": ArticleExtraction,
    "brief-extraction": BriefExtraction,
}


def json_schema(which: str = "brief") -> str:
    return json.dumps(SCHEMAS[which].model_json_schema(), indent=2, ensure_ascii=False) + "\n"


def marker(c: Citation) -> str:
    return f"{c.article_id.lstrip('a')}.{c.sentence_id.lstrip('s')}"


def markers(citations: Sequence[Citation]) -> str:
    return "[" + ", ".join(marker(c) for c in citations) + "]"


def cited_sentences(brief: Brief) -> list[Citation]:
    """Every distinct cited sentence, in article and sentence order."""
    seen: dict[tuple[str, str], Citation] = {}
    for claim in brief.claims():
        for c in claim.citations:
            seen.setdefault((c.article_id, c.sentence_id), c)
    order = {a.id: i for i, a in enumerate(brief.articles)}
    return sorted(seen.values(), key=lambda c: (order.get(c.article_id, 0), c.start))


def render(brief: Brief, fmt: str, *, console: Console | None = None) -> str:
    """The brief as text in ``fmt``; for "rich" with a console, printed to it and "" returned."""
    if fmt == "json":
        return brief.model_dump_json(indent=2) + "\n"
    if fmt == "md":
        return to_markdown(brief)
    if fmt == "html":
        return to_html(brief)
    if fmt == "rich":
        if console is not None:
            console.print(to_rich(brief))
            return ""
        capture = Console(width=100, file=io.StringIO(), color_system=None)
        capture.print(to_rich(brief))
        return capture.file.getvalue()  # type: ignore[attr-defined]
    raise ConfigurationError(f"unknown format {fmt!r}")


# -- rich ------------------------------------------------------------------------------------
def discrepancy_heading(d: DiscrepancyOut) -> str:
    """The kind, the topic and what the analysis noticed, in one line every format shows."""
    origin = f" (from {d.origin})" if d.origin else ""
    note = f" — {d.note}" if d.note else ""
    return f"[{d.kind}] {d.topic}{note}{origin}"


def side_line(side: SideOut) -> str:
    """A side with its value first, so the compared values read side by side."""
    where = ", ".join(side.article_ids)
    value = f"{side.value} " if side.value and not side.text.startswith(side.value) else ""
    return f"{where}: {value}{'— ' if value else ''}{side.text}"


def timeline_line(t: TimelineEntry) -> str:
    """The resolved date first, then the source's words and how they were resolved."""
    when = t.iso or "date unresolved"
    how = f"; {t.resolution}" if t.resolution else ""
    return f"{when} (“{t.date}”{how}) — {t.text}"


def _claim_line(text: str, citations: Sequence[Citation], prefix: str = "• ") -> Text:
    line = Text(prefix)
    line.append(text)
    line.append(" " + markers(citations), style="cyan")
    return line


def _section(title: str, lines: Iterable[Any], empty: str) -> list[Any]:
    lines = list(lines)
    return [Text(title, style="bold underline"), *(lines or [Text(empty, style="dim italic")]), Text("")]


def to_rich(brief: Brief) -> Group:
    parts: list[Any] = []
    run = brief.run
    titles = {a.id: a.title for a in brief.articles}
    cross = bool(brief.overview or brief.consensus or brief.discrepancies or brief.timeline) or len(brief.articles) > 1
    parts.append(
        Panel(
            Text(f"{len(brief.articles)} article(s) · {run.provider} {run.model} · prompts {run.prompt_version}"),
            title="Grounded brief" if cross else "Grounded summary",
            expand=True,
        )
    )
    if cross:
        parts += _section(
            "Overview", (_claim_line(c.text, c.citations) for c in brief.overview), "(no grounded overview)"
        )
        parts += _section(
            "Consensus (two or more sources)",
            (_claim_line(c.text, c.citations) for c in brief.consensus),
            "(no grounded consensus)",
        )
        disc: list[Any] = []
        for d in brief.discrepancies:
            disc.append(Text("• " + discrepancy_heading(d), style="bold"))
            disc += [_claim_line(side_line(s), s.citations, prefix="    – ") for s in d.sides]
        parts += _section("Discrepancies", disc, "(no grounded discrepancies)")
        parts += _section(
            "Timeline",
            (_claim_line(timeline_line(t), t.citations) for t in brief.timeline),
            "(no grounded timeline)",
        )
        parts += _section(
            "Reported by one source only",
            (_claim_line(f.text, f.citations) for f in brief.single_source),
            "(none)",
        )
    for s in brief.summaries:
        parts.append(Rule(escape(f"{s.article_id}: {titles.get(s.article_id, '')}"), style="dim"))
        if s.status == "failed":
            parts.append(Text(f"failed: {s.error}", style="red"))
            continue
        parts.append(Text(s.headline, style="bold"))
        parts += [_claim_line(c.text, c.citations) for c in s.summary] or [Text("(no grounded summary)", style="dim")]
        if s.facts:
            table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
            table.add_column("fact")
            table.add_column("kind", style="magenta")
            table.add_column("text")
            table.add_column("cites", style="cyan")
            for f in s.facts:
                text = Text(f.text + (f" — {f.speaker}" if f.speaker else ""))
                table.add_row(Text(f.id), Text(f.kind), text, Text(markers(f.citations)))
            parts.append(table)
        if s.entities:
            names = ", ".join(f"{e.name} ({e.type}, {len(e.mentions)}×)" for e in s.entities)
            parts.append(Text("Entities: " + names, style="dim"))
        parts.append(Text(""))
    if brief.dropped:
        table = Table(
            title=f"Dropped: {len(brief.dropped)} claim(s) not supported by their citations", title_justify="left"
        )
        table.add_column("where", style="dim")
        table.add_column("claim")
        table.add_column("reason", style="yellow")
        for d in brief.dropped:
            table.add_row(Text(d.where), Text(_clip(d.claim, 90)), Text(_clip(d.reason, 110)))
        parts.append(table)
    sources = Table(title="Sources", title_justify="left", show_header=False, box=None)
    sources.add_column(style="cyan", no_wrap=True)
    sources.add_column()
    for c in cited_sentences(brief):
        sources.add_row(Text(f"[{marker(c)}]"), Text(f"{c.text}  ({titles.get(c.article_id, c.article_id)})"))
    parts.append(sources)
    st = brief.stats
    parts.append(
        Text(
            f"{st.calls} model call(s), {st.reasks} re-ask(s), {st.prompt_tokens}+{st.completion_tokens} tokens"
            + (" (cached)" if st.cached else ""),
            style="dim",
        )
    )
    return Group(*parts)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- markdown --------------------------------------------------------------------------------
def md_claim(text: str, citations: Sequence[Citation], *, anchors: bool = True) -> str:
    """A list item: the escaped text, then its markers (linked to the Sources anchors when the page has them)."""
    if not anchors:
        return f"- {md(text)} {md(markers(citations))}"
    refs = ", ".join(f"[{marker(c)}](#{c.article_id}-{c.sentence_id})" for c in citations)
    return f"- {md(text)} \\[{refs}\\]"


def markdown_sections(brief: Brief, *, anchors: bool = True, single_source: bool = True) -> list[tuple[str, list[str]]]:
    """The cross-article sections as (title, lines), shared by the brief page and the batch export."""
    sections = [
        ("Overview", [md_claim(c.text, c.citations, anchors=anchors) for c in brief.overview]),
        ("Consensus", [md_claim(c.text, c.citations, anchors=anchors) for c in brief.consensus]),
        (
            "Discrepancies",
            [
                line
                for d in brief.discrepancies
                for line in [
                    f"- **{md(discrepancy_heading(d))}**",
                    *("  " + md_claim(side_line(s), s.citations, anchors=anchors) for s in d.sides),
                ]
            ],
        ),
        ("Timeline", [md_claim(timeline_line(t), t.citations, anchors=anchors) for t in brief.timeline]),
    ]
    if single_source:
        sections.append(
            (
                "Reported by one source only",
                [md_claim(f.text, f.citations, anchors=anchors) for f in brief.single_source],
            )
        )
    return sections


def to_markdown(brief: Brief) -> str:
    out: list[str] = ["# Grounded brief", ""]
    run = brief.run
    meta = f"{len(brief.articles)} article(s) · {md(run.provider)} {code(run.model)}"
    meta += f" · prompts {code(run.prompt_version)}"
    out += [f"*{meta}*", ""]
    if len(brief.articles) > 1:
        for title, lines in markdown_sections(brief):
            out += [f"## {title}", "", *(lines or ["*(none grounded)*"]), ""]
    titles = {a.id: a.title for a in brief.articles}
    for s in brief.summaries:
        out += [f"## {md(s.article_id)}: {md(titles.get(s.article_id, ''))}", ""]
        if s.status == "failed":
            out += [f"*Failed: {md(s.error or '')}*", ""]
            continue
        out += [f"**{md(s.headline)}**", "", *(md_claim(c.text, c.citations) for c in s.summary), ""]
        if s.facts:
            out += ["| fact | kind | text | cites |", "|---|---|---|---|"]
            out += [f"| {md(f.id)} | {md(f.kind)} | {md(f.text)} | {markers(f.citations)} |" for f in s.facts]
            out.append("")
    if brief.dropped:
        out += [f"## Dropped ({len(brief.dropped)})", "", "| where | claim | reason |", "|---|---|---|"]
        out += [f"| {md(d.where)} | {md(d.claim)} | {md(d.reason)} |" for d in brief.dropped]
        out.append("")
    out += ["## Sources", ""]
    for c in cited_sentences(brief):
        out.append(f'- <a id="{c.article_id}-{c.sentence_id}"></a>**[{marker(c)}]** {md(c.text)}')
    st = brief.stats
    out += [
        "",
        f"*{st.calls} model call(s), {st.reasks} re-ask(s), {st.prompt_tokens}+{st.completion_tokens} tokens*",
        "",
    ]
    return "\n".join(out)


# -- html ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of every HTML page (the brief, a diff, the eval report's pattern)."""
    # Autoescape everything: article text is data and may be hostile; values are never compiled as templates.
    return Environment(
        loader=PackageLoader("summarizer", "html"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _cites(citations: Sequence[Citation]) -> list[dict[str, str]]:
    return [{"href": f"#{c.article_id}-{c.sentence_id}", "label": f"[{marker(c)}]"} for c in citations]


def _item(text: str, citations: Sequence[Citation]) -> dict[str, Any]:
    return {"text": text, "cites": _cites(citations)}


def _article_pieces(article: ArticleOut, cited: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The article text cut at its sentences (offsets are the source's own); sentence pieces carry their anchor."""
    pieces: list[dict[str, Any]] = []
    cursor = 0
    for s in article.sentences:
        pieces.append({"text": article.text[cursor : s.start], "id": None})
        anchor = f"{article.id}-{s.id}"
        pieces.append({"text": s.text, "id": anchor, "sid": s.id, "cited": (article.id, s.id) in cited})
        cursor = s.end
    pieces.append({"text": article.text[cursor:], "id": None})
    return [p for p in pieces if p["id"] or p["text"]]


def to_html(brief: Brief) -> str:
    titles = {a.id: a.title for a in brief.articles}
    cited = {(c.article_id, c.sentence_id) for c in cited_sentences(brief)}
    sections = [
        ("Overview", [_item(c.text, c.citations) for c in brief.overview]),
        ("Consensus", [_item(c.text, c.citations) for c in brief.consensus]),
    ]
    context = {
        "brief": brief,
        "cross": len(brief.articles) > 1,
        "sections": sections,
        "discrepancies": [
            {"heading": discrepancy_heading(d), "sides": [_item(side_line(s), s.citations) for s in d.sides]}
            for d in brief.discrepancies
        ],
        "after": [
            ("Timeline", [_item(timeline_line(t), t.citations) for t in brief.timeline]),
            ("Reported by one source only", [_item(f.text, f.citations) for f in brief.single_source]),
        ],
        "summaries": [
            {
                "summary": s,
                "title": titles.get(s.article_id, ""),
                "claims": [_item(c.text, c.citations) for c in s.summary],
                "facts": [{"fact": f, "cites": _cites(f.citations)} for f in s.facts],
            }
            for s in brief.summaries
        ],
        "articles": [
            {
                "article": a,
                # Only web links are live: a javascript: or data: URL from the input stays unlinked.
                "url": a.url if a.url and a.url.startswith(("http://", "https://")) else None,
                "pieces": _article_pieces(a, cited),
            }
            for a in brief.articles
        ],
    }
    return environment().get_template("brief.html.j2").render(**context)
