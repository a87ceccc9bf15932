"""Hostile article text is inert in every output: brief (md, html, rich, json), batch export (md, jsonl), eval report.

One hostile string carries a Markdown link to a ``javascript:`` URL, raw HTML (a script and an
image with an event handler), Jinja2 template syntax, Rich markup, table pipes and backticks. It is
put in an article's title, text, facts, claims, discrepancy sides, timeline and failure message;
each output is then read the way its reader would (Markdown through a CommonMark parser, HTML
through an HTML parser, terminal text with hyperlinks on) and must show the string as text only.
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from rich.console import Console
from summarizer.schemas import (
    ArticleSummary,
    Brief,
    BriefClaim,
    CallStats,
    Claim,
    DiscrepancyOut,
    Dropped,
    Fact,
    RunInfo,
    SideOut,
    TimelineEntry,
)

from summarizer.cli import main
from summarizer.evaluate.scaffold import dump, skeleton
from summarizer.load import load
from summarizer.markdown import code
from summarizer.render import render
from tests.doubles.answers import answer
from tests.doubles.server import Reply, ScriptedServer
from tests.doubles.synthetic import synthetic_articles
from tests.test_render import cite, make_article

HOSTILE = (
    "Officials said [click](javascript:alert(1)) and <script>alert(1)</script> then <img src=x onerror=alert(1)>"
    " with {{ 7*7 }} and {% for x in y %}loop{% endfor %} | a pipe `a tick` [link=javascript:alert(1)]rich[/link]."
)
TEMPLATE_PARTS = ("{{ 7*7 }}", "{% for x in y %}")
# The tags a Markdown or brief page may legitimately produce: none of them can run code or load anything.
SAFE_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p", "ul", "li", "a", "b", "strong"),
    *("em", "code", "table", "thead", "tbody", "tr", "th", "td", "span", "div", "details", "summary"),
    *("svg", "g", "rect", "line", "text"),
}


class _Page(HTMLParser):
    """The tags, attributes and text of an HTML page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.code: list[str] = []
        self._in_code = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_code += tag == "code"

    def handle_endtag(self, tag: str) -> None:
        self._in_code -= tag == "code" and self._in_code > 0

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_code:
            self.code.append(data)


def assert_inert_html(page: str) -> None:
    """No tag that runs or loads anything, no handler, no live non-web link; the hostile text shown literally."""
    parsed = _Page()
    parsed.feed(page)
    for tag, attrs in parsed.tags:
        assert tag in SAFE_TAGS, f"unexpected live tag <{tag}>"
        assert not any(name.startswith("on") for name in attrs), f"event handler on <{tag}>"
        href = attrs.get("href")
        assert href is None or href.startswith(("#", "http://", "https://")), f"live link {href!r}"
    assert not any("alert" in c for c in parsed.code), "article text became a code span"
    text = " ".join(" ".join(parsed.text).split())
    assert HOSTILE in text, "the hostile text is shown, as text"
    for part in TEMPLATE_PARTS:
        assert part in text
    assert "49" not in text and "loop loop" not in text, "template syntax was evaluated"


def assert_inert_markdown(markdown: str) -> None:
    """Rendered by a CommonMark reader (with tables), the Markdown is as inert as a safe HTML page."""
    reader = MarkdownIt("commonmark", {"html": True}).enable("table")
    reader.validateLink = lambda url: True  # type: ignore[method-assign]  # show every link the Markdown makes
    assert_inert_html(reader.render(markdown))


@pytest.fixture(scope="module")
def brief() -> Brief:
    sentences = [f"First {HOSTILE}", "Police counted 12 cars on Friday.", f"Then {HOSTILE}"]
    a1 = make_article("a1", f"Title {HOSTILE}", sentences, url="javascript:alert(1)")
    a2 = make_article("a2", f"Other {HOSTILE}", sentences, url="https://example.org/x")
    fact = Fact(id="a1.f1", kind="claim", text=HOSTILE, value=HOSTILE, speaker=HOSTILE, citations=[cite(a1, 1)])
    side = SideOut(text=HOSTILE, value="12 {{ 7*7 }}", citations=[cite(a1, 2)], facts=["a1.f1"], article_ids=["a1"])
    return Brief(
        run=RunInfo(provider="openai-compatible", model="m`x`", prompt_version="v1"),
        articles=[a1, a2],
        summaries=[
            ArticleSummary(
                article_id="a1",
                headline=HOSTILE,
                summary=[Claim(text=HOSTILE, citations=[cite(a1, 1), cite(a1, 3)])],
                facts=[fact],
            ),
            ArticleSummary(article_id="a2", status="failed", error=HOSTILE, headline=""),
        ],
        overview=[BriefClaim(text=HOSTILE, citations=[cite(a1, 1), cite(a2, 1)])],
        consensus=[BriefClaim(text=HOSTILE, citations=[cite(a1, 2), cite(a2, 2)], facts=["a1.f1"])],
        discrepancies=[
            DiscrepancyOut(kind="figure", topic=HOSTILE, note=HOSTILE, sides=[side, side.model_copy()]),
        ],
        timeline=[TimelineEntry(date=HOSTILE, text=HOSTILE, citations=[cite(a2, 2)], facts=["a1.f1"])],
        single_source=[fact],
        dropped=[Dropped(where="a1.summary[2]", claim=HOSTILE, reason=HOSTILE)],
        stats=CallStats(calls=1, reasks=0, prompt_tokens=10, completion_tokens=5),
    )


# -- summarizer brief ------------------------------------------------------------------------
def test_brief_markdown_is_inert(brief: Brief) -> None:
    assert_inert_markdown(render(brief, "md"))


def test_brief_html_is_inert(brief: Brief) -> None:
    page = render(brief, "html")
    assert_inert_html(page)
    assert "javascript:" not in re.sub(r">[^<]*<", "><", page), "a javascript: URL only ever appears as text"


def test_brief_rich_text_is_inert(brief: Brief) -> None:
    out = io.StringIO()
    console = Console(file=out, width=2000, force_terminal=True, color_system="truecolor")
    render(brief, "rich", console=console)
    shown = out.getvalue()
    assert "\x1b]8;" not in shown, "Rich markup in article text made a terminal hyperlink"
    text = re.sub(r"\x1b\[[0-9;]*m", "", shown)  # colours off: what the reader sees
    assert HOSTILE in text and "49" not in text


def test_brief_json_keeps_the_text_as_data(brief: Brief) -> None:
    data = json.loads(render(brief, "json"))
    assert data["overview"][0]["text"] == HOSTILE
    assert Brief.model_validate(data) == brief


# -- summarizer batch export -------------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch store whose articles (and so summaries, facts and event brief) carry the hostile text."""
    folder = tmp_path_factory.mktemp("hostile-batch")
    records = synthetic_articles(3, per_event=3, seed=5)
    for record in records:
        record["title"] = f"{record['title']} {HOSTILE}"
        record["source"] = HOSTILE
        record["text"] = f"{HOSTILE}\n\n{record['text']}"
    feed = folder / "feed.jsonl"
    feed.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    path = folder / "b.db"
    with ScriptedServer(default=lambda request: Reply.tool(answer(request))) as server:
        argv = ["batch", str(feed), "--store", str(path), "--base-url", server.base_url, "--model", "m", "-q"]
        assert main(argv) == 0
    return path


def test_batch_export_markdown_is_inert(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert main(["batch", "export", "--store", str(store), "--format", "md", "-o", str(out)]) == 0
    markdown = out.read_text(encoding="utf-8")
    assert "### Brief" in markdown and markdown.count("\n#### a") == 3
    assert_inert_markdown(markdown)


def test_batch_export_jsonl_keeps_the_text_as_data(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", "export", "--store", str(store), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    articles = [r for r in records if r["type"] == "article"]
    [event] = [r for r in records if r["type"] == "event"]
    assert all(a["source"] == HOSTILE and a["summary"]["summary"][0]["text"] == HOSTILE for a in articles)
    assert event["brief"]["overview"][0]["text"] == HOSTILE


# -- summarizer eval -------------------------------------------------------------------------------
def test_eval_reports_are_inert(tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name in ("one.txt", "two.txt"):
        (folder / name).write_text(f"Title {HOSTILE}\n\n{HOSTILE} Police counted 12 cars.\n", encoding="utf-8")
    docs = load([str(folder / "one.txt"), str(folder / "two.txt")])
    data: dict[str, Any] = skeleton("hostile", f"Case {HOSTILE}", docs, tmp_path)
    data["facts"] = {"a1": [{"id": "f1", "kind": "claim", "statement": HOSTILE, "support": ["s1"]}]}
    sides = [{"statement": HOSTILE, "support": {a: ["s1"]}} for a in ("a1", "a2")]
    data["discrepancies"] = [{"id": "d1", "kind": "figure", "topic": HOSTILE, "sides": sides}]
    case = tmp_path / "hostile.yaml"
    case.write_text(dump(data), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["eval", "--engine", "extractive", "-o", str(out), "--quiet", str(case)]) == 0
    assert_inert_markdown((out / "report.md").read_text(encoding="utf-8"))
    assert_inert_html((out / "report.html").read_text(encoding="utf-8"))


def test_code_spans_cannot_be_closed_by_their_content() -> None:
    assert code("model") == "`model`"
    assert code("m`x`") == "`` m`x` ``"  # padded: a fence may not touch a backtick of the content
    assert code("a ``b`` c") == "```a ``b`` c```"
    rendered = MarkdownIt("commonmark").render(code("m`x` " + HOSTILE))
    assert rendered.count("<code>") == 1 and rendered.rstrip().endswith("</code></p>")
