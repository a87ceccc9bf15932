"""Render a Brief: rich terminal text, JSON, Markdown, or a self-contained HTML page.

Citation markers read ``[article.sentence]``: ``[2.5]`` is sentence s5 of article a2. Every
renderer ends with the sources the markers point at, so a reader can check each claim.
All article text is escaped: it is data, and may be hostile.
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from summarizer.errors import ConfigurationError
from summarizer.schemas import (
    ArticleExtraction,
    Brief,
    BriefExtraction,
    Citation,
    DiscrepancyOut,
    SideOut,
    TimelineEntry,
)

SCHEMAS = {"brief": Brief, "article-extraction": ArticleExtraction, "brief-extraction": BriefExtraction}


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
                table.add_row(
                    f.id, f.kind, Text(f.text + (f" — {f.speaker}" if f.speaker else "")), markers(f.citations)
                )
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
        sources.add_row(f"[{marker(c)}]", Text(f"{c.text}  ({titles.get(c.article_id, c.article_id)})"))
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
def _md(text: str) -> str:
    """Markdown-escape article text so it cannot inject links, HTML or formatting."""
    text = html.escape(" ".join(text.split()), quote=False)
    for ch in "\\`*_[]#|":
        text = text.replace(ch, "\\" + ch)
    return text


def _md_claim(text: str, citations: Sequence[Citation]) -> str:
    refs = ", ".join(f"[{marker(c)}](#{c.article_id}-{c.sentence_id})" for c in citations)
    return f"- {_md(text)} \\[{refs}\\]"


def to_markdown(brief: Brief) -> str:
    out: list[str] = ["# Grounded brief", ""]
    run = brief.run
    out += [f"*{len(brief.articles)} article(s) · {run.provider} `{run.model}` · prompts `{run.prompt_version}`*", ""]
    sections: list[tuple[str, list[str]]] = [
        ("Overview", [_md_claim(c.text, c.citations) for c in brief.overview]),
        ("Consensus", [_md_claim(c.text, c.citations) for c in brief.consensus]),
        (
            "Discrepancies",
            [
                line
                for d in brief.discrepancies
                for line in [
                    f"- **{_md(discrepancy_heading(d))}**",
                    *("  " + _md_claim(side_line(s), s.citations) for s in d.sides),
                ]
            ],
        ),
        ("Timeline", [_md_claim(timeline_line(t), t.citations) for t in brief.timeline]),
        ("Reported by one source only", [_md_claim(f.text, f.citations) for f in brief.single_source]),
    ]
    if len(brief.articles) > 1:
        for title, lines in sections:
            out += [f"## {title}", "", *(lines or ["*(none grounded)*"]), ""]
    titles = {a.id: a.title for a in brief.articles}
    for s in brief.summaries:
        out += [f"## {s.article_id}: {_md(titles.get(s.article_id, ''))}", ""]
        if s.status == "failed":
            out += [f"*Failed: {_md(s.error or '')}*", ""]
            continue
        out += [f"**{_md(s.headline)}**", "", *(_md_claim(c.text, c.citations) for c in s.summary), ""]
        if s.facts:
            out += ["| fact | kind | text | cites |", "|---|---|---|---|"]
            out += [f"| {f.id} | {f.kind} | {_md(f.text)} | {markers(f.citations)} |" for f in s.facts]
            out.append("")
    if brief.dropped:
        out += [f"## Dropped ({len(brief.dropped)})", "", "| where | claim | reason |", "|---|---|---|"]
        out += [f"| {d.where} | {_md(d.claim)} | {_md(d.reason)} |" for d in brief.dropped]
        out.append("")
    out += ["## Sources", ""]
    for c in cited_sentences(brief):
        out.append(f'- <a id="{c.article_id}-{c.sentence_id}"></a>**[{marker(c)}]** {_md(c.text)}')
    st = brief.stats
    out += [
        "",
        f"*{st.calls} model call(s), {st.reasks} re-ask(s), {st.prompt_tokens}+{st.completion_tokens} tokens*",
        "",
    ]
    return "\n".join(out)


# -- html ------------------------------------------------------------------------------------
_CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .meta{color:#666} a.cite{font-size:.8em;color:#0a58ca;text-decoration:none}
.sent{border-radius:3px} .sent.cited{background:#fff3b0} .sent:target{background:#ffd43b;outline:2px solid #f59f00}
.article{white-space:pre-wrap;border-left:3px solid #ddd;padding-left:1rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #eee;padding:.3rem;text-align:left;vertical-align:top}
.dropped td{color:#8a4b00} .side{margin-left:1.5rem}
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _cites_html(citations: Sequence[Citation]) -> str:
    links = [f'<a class="cite" href="#{_h(c.article_id)}-{_h(c.sentence_id)}">[{marker(c)}]</a>' for c in citations]
    return " ".join(links)


def _li(text: str, citations: Sequence[Citation], cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<li{attr}>{_h(text)} {_cites_html(citations)}</li>"


def _article_body(article: Any, cited: set[tuple[str, str]]) -> str:
    """The article text with every sentence wrapped in an anchor span; offsets are the source's own."""
    pieces: list[str] = []
    cursor = 0
    for s in article.sentences:
        pieces.append(_h(article.text[cursor : s.start]))
        cls = "sent cited" if (article.id, s.id) in cited else "sent"
        pieces.append(f'<span class="{cls}" id="{_h(article.id)}-{_h(s.id)}" title="{_h(s.id)}">{_h(s.text)}</span>')
        cursor = s.end
    pieces.append(_h(article.text[cursor:]))
    return "".join(pieces)


def to_html(brief: Brief) -> str:
    run = brief.run
    body: list[str] = [
        "<h1>Grounded brief</h1>",
        f'<p class="meta">{len(brief.articles)} article(s) · {_h(run.provider)} {_h(run.model)} · '
        f"prompts {_h(run.prompt_version)}</p>",
    ]
    if len(brief.articles) > 1:
        body += ["<h2>Overview</h2><ul>", *(_li(c.text, c.citations) for c in brief.overview), "</ul>"]
        body += ["<h2>Consensus</h2><ul>", *(_li(c.text, c.citations) for c in brief.consensus), "</ul>"]
        body.append("<h2>Discrepancies</h2><ul>")
        for d in brief.discrepancies:
            body.append(f"<li><strong>{_h(discrepancy_heading(d))}</strong><ul>")
            body += [_li(side_line(s), s.citations, "side") for s in d.sides]
            body.append("</ul></li>")
        body.append("</ul>")
        body += ["<h2>Timeline</h2><ul>", *(_li(timeline_line(t), t.citations) for t in brief.timeline), "</ul>"]
        body += ["<h2>Reported by one source only</h2><ul>"]
        body += [_li(f.text, f.citations) for f in brief.single_source] + ["</ul>"]
    titles = {a.id: a.title for a in brief.articles}
    for s in brief.summaries:
        body.append(f"<h2>{_h(s.article_id)}: {_h(titles.get(s.article_id, ''))}</h2>")
        if s.status == "failed":
            body.append(f"<p><em>Failed: {_h(s.error or '')}</em></p>")
            continue
        body += [
            f"<p><strong>{_h(s.headline)}</strong></p><ul>",
            *(_li(c.text, c.citations) for c in s.summary),
            "</ul>",
        ]
        if s.facts:
            body.append("<table><tr><th>fact</th><th>kind</th><th>text</th><th>cites</th></tr>")
            body += [
                f"<tr><td>{_h(f.id)}</td><td>{_h(f.kind)}</td><td>{_h(f.text)}</td><td>{_cites_html(f.citations)}</td></tr>"
                for f in s.facts
            ]
            body.append("</table>")
    if brief.dropped:
        body.append(f"<h2>Dropped ({len(brief.dropped)})</h2><table class='dropped'>")
        body.append("<tr><th>where</th><th>claim</th><th>reason</th></tr>")
        body += [f"<tr><td>{_h(d.where)}</td><td>{_h(d.claim)}</td><td>{_h(d.reason)}</td></tr>" for d in brief.dropped]
        body.append("</table>")
    cited = {(c.article_id, c.sentence_id) for c in cited_sentences(brief)}
    body.append("<h2>Sources</h2>")
    for a in brief.articles:
        link = (
            f' · <a href="{_h(a.url)}">{_h(a.url)}</a>' if a.url and a.url.startswith(("http://", "https://")) else ""
        )
        body.append(f"<h3>{_h(a.id)}: {_h(a.title)}</h3><p class='meta'>{_h(a.published or '')}{link}</p>")
        body.append(f'<div class="article">{_article_body(a, cited)}</div>')
    st = brief.stats
    body.append(
        f'<p class="meta">{st.calls} model call(s), {st.reasks} re-ask(s), '
        f"{st.prompt_tokens}+{st.completion_tokens} tokens</p>"
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Grounded brief</title><style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
