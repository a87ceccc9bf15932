"""Rendering a Brief: markers, anchors, JSON round trip, and escaping of hostile article text."""

from __future__ import annotations

import html
import re

import pytest
from summarizer.schemas import (
    ArticleOut,
    ArticleSummary,
    Brief,
    BriefClaim,
    CallStats,
    Citation,
    Claim,
    DiscrepancyOut,
    Dropped,
    Entity,
    Fact,
    Mention,
    RunInfo,
    SentenceOut,
    SideOut,
    TimelineEntry,
)

from summarizer.errors import ConfigurationError
from summarizer.render import cited_sentences, marker, markers, render

SCRIPT = "<script>alert(1)</script>"
MD_LINK = "[x](http://evil)"

A1_SENTENCES = [
    "Militants attacked the Ghweran prison in Hasakah on Thursday.",
    f"A resident wrote {SCRIPT} on a wall.",
    f"See {MD_LINK} for more, or <img src=x onerror=alert(2)>.",
    "The toll rose to 12 *dead* `code` # heading | pipe & more.",
    "Shafaq Live",
]
A2_SENTENCES = [
    "ISIS detainees attacked the al-Sina'a prison on Friday, January 21st.",
    "The facility housed around 5,000 ISIS members.",
    'He said "leave" and <b>left</b>.',
]


def make_article(aid: str, title: str, sentences: list[str], url: str | None = None) -> ArticleOut:
    text = "\n\n".join(sentences[:2]) + "\n\n" + " ".join(sentences[2:])
    out: list[SentenceOut] = []
    cursor = 0
    for i, sentence in enumerate(sentences, start=1):
        start = text.index(sentence, cursor)
        cursor = start + len(sentence)
        out.append(SentenceOut(id=f"s{i}", start=start, end=cursor, text=sentence, citable=sentence != "Shafaq Live"))
    return ArticleOut(id=aid, title=title, text=text, url=url, sha256="0" * 64, origin=f"{aid}.txt", sentences=out)


A1 = make_article("a1", f"Hostile {SCRIPT} title {MD_LINK}", A1_SENTENCES, url="javascript:alert(3)")
A2 = make_article("a2", "Iraq & Syria", A2_SENTENCES, url='https://example.org/a?x=1&y="2"')


def cite(article: ArticleOut, n: int) -> Citation:
    s = article.sentences[n - 1]
    return Citation(
        article_id=article.id, sentence_id=s.id, start=s.start, end=s.end, text=article.text[s.start : s.end]
    )


def make_brief() -> Brief:
    f1 = Fact(id="a1.f1", kind="event", text="Militants attacked the Ghweran prison.", citations=[cite(A1, 1)])
    f2 = Fact(id="a1.f2", kind="quantity", text="The toll rose to 12 | x.", value="12", citations=[cite(A1, 4)])
    g2 = Fact(id="a2.f2", kind="quote", text="He said leave.", speaker="<i>him</i>", citations=[cite(A2, 3)])
    s1 = ArticleSummary(
        article_id="a1",
        headline=f"Attack {SCRIPT}",
        summary=[
            Claim(text=f"A resident wrote {SCRIPT}.", citations=[cite(A1, 2)]),
            Claim(text=f"See {MD_LINK}.", citations=[cite(A1, 3), cite(A1, 4)]),
        ],
        facts=[f1, f2],
        entities=[Entity(name="Hasakah", type="place", mentions=[Mention(start=35, end=42, text="Hasakah")])],
    )
    s2 = ArticleSummary(article_id="a2", status="failed", error=f"model said {SCRIPT} {MD_LINK}", headline="")
    return Brief(
        run=RunInfo(provider="openai-compatible", model="m<odel>", prompt_version="v1@deadbeef"),
        articles=[A1, A2],
        summaries=[s1, s2],
        overview=[BriefClaim(text=f"Prisons were attacked {MD_LINK}.", citations=[cite(A1, 1), cite(A2, 1)])],
        consensus=[
            BriefClaim(text="A prison was attacked.", citations=[cite(A1, 1), cite(A2, 1)], facts=["a1.f1", "a2.f1"])
        ],
        discrepancies=[
            DiscrepancyOut(
                topic=f"Who {SCRIPT}",
                sides=[
                    SideOut(text="Militants.", citations=[cite(A1, 1)], facts=["a1.f1"], article_ids=["a1"]),
                    SideOut(text="Detainees.", citations=[cite(A2, 1)], facts=["a2.f1"], article_ids=["a2"]),
                ],
            )
        ],
        timeline=[
            TimelineEntry(date=f"Friday {SCRIPT}", text="Detainees attacked.", citations=[cite(A2, 1)], facts=["a2.f1"])
        ],
        single_source=[f2, g2],
        dropped=[Dropped(where="a1.summary[2]", claim=f"{SCRIPT} {MD_LINK}", reason=f"reason {SCRIPT}")],
        stats=CallStats(calls=3, reasks=1, prompt_tokens=100, completion_tokens=50),
    )


@pytest.fixture
def brief() -> Brief:
    return make_brief()


def all_cited(brief: Brief) -> set[tuple[str, str]]:
    return {(c.article_id, c.sentence_id) for c in cited_sentences(brief)}


# -- building blocks ---------------------------------------------------------------------------
def test_fixture_citations_are_exact(brief: Brief) -> None:
    texts = {a.id: a.text for a in brief.articles}
    for c in cited_sentences(brief):
        assert texts[c.article_id][c.start : c.end] == c.text


def test_markers() -> None:
    assert marker(cite(A1, 4)) == "1.4"
    assert markers([cite(A1, 4), cite(A2, 1)]) == "[1.4, 2.1]"
    assert re.fullmatch(r"\[\d+\.\d+\]", markers([cite(A2, 3)]))


def test_cited_sentences_are_distinct_and_in_article_order(brief: Brief) -> None:
    cited = cited_sentences(brief)
    keys = [(c.article_id, c.sentence_id) for c in cited]
    assert len(keys) == len(set(keys))
    assert keys == [("a1", "s1"), ("a1", "s2"), ("a1", "s3"), ("a1", "s4"), ("a2", "s1"), ("a2", "s3")]


def test_unknown_format(brief: Brief) -> None:
    with pytest.raises(ConfigurationError, match="'pdf'"):
        render(brief, "pdf")


# -- JSON --------------------------------------------------------------------------------------
def test_json_round_trips(brief: Brief) -> None:
    text = render(brief, "json")
    assert Brief.model_validate_json(text) == brief


# -- Markdown ----------------------------------------------------------------------------------
def test_markdown_escapes_hostile_text(brief: Brief) -> None:
    md = render(brief, "md")
    assert SCRIPT not in md
    assert "<script" not in md.lower()
    assert "<img" not in md and "<b>" not in md and "<i>" not in md
    assert MD_LINK not in md
    assert not re.search(r"(?<!\\)\]\(http://evil", md), "an unescaped ](...) would make a link"
    # The only raw HTML in the Markdown is the tool's own anchors (code spans, e.g. the model name, are literal).
    for tag in re.findall(r"<[^>]*>", re.sub(r"(?<!\\)`[^`]*(?<!\\)`", "", md)):
        assert re.fullmatch(r'<a id="a\d+-s\d+">|</a>', tag), tag
    # The hostile text is still shown, escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md


def test_markdown_escapes_formatting_characters(brief: Brief) -> None:
    md = render(brief, "md")
    source_line = next(line for line in md.splitlines() if "**[1.4]**" in line)
    assert "\\*dead\\*" in source_line
    assert "\\`code\\`" in source_line
    assert "\\# heading" in source_line
    assert "\\| pipe" in source_line
    # A table cell cannot be split by a pipe in the fact text.
    fact_row = next(line for line in md.splitlines() if line.startswith("| a1.f2 "))
    assert fact_row.count(" | ") + 2 == fact_row.count("|") - fact_row.count("\\|")


def test_markdown_markers_link_to_anchors(brief: Brief) -> None:
    md = render(brief, "md")
    for aid, sid in all_cited(brief):
        assert md.count(f'<a id="{aid}-{sid}"></a>') == 1
    links = re.findall(r"\[(\d+)\.(\d+)\]\(#(a\d+)-(s\d+)\)", md)
    assert links
    for a_num, s_num, aid, sid in links:
        assert (aid, sid) == (f"a{a_num}", f"s{s_num}")
        assert (aid, sid) in all_cited(brief)


def test_markdown_sections(brief: Brief) -> None:
    md = render(brief, "md")
    for heading in ["## Overview", "## Consensus", "## Discrepancies", "## Timeline", "## Sources", "## Dropped (1)"]:
        assert heading in md
    assert "*Failed: model said &lt;script&gt;" in md


# -- HTML --------------------------------------------------------------------------------------
def test_html_escapes_hostile_text(brief: Brief) -> None:
    page = render(brief, "html")
    assert "<script" not in page.lower()
    assert "<img" not in page
    assert "<b>" not in page and "<i>" not in page
    assert not re.search(r"<[^>]*\son\w+=", page), "an event-handler attribute inside a real tag"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "m&lt;odel&gt;" in page
    # Links go only to anchors in the page or to the article's own http(s) URL.
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs
    for href in hrefs:
        assert href.startswith("#") or html.unescape(href) == A2.url, href  # escaped either way (&quot; or &#34;)
    assert "javascript:" not in page
    assert "http://evil" not in hrefs


def test_html_has_an_anchor_for_each_cited_sentence(brief: Brief) -> None:
    page = render(brief, "html")
    ids = re.findall(r'id="([^"]+)"', page)
    for aid, sid in all_cited(brief):
        assert ids.count(f"{aid}-{sid}") == 1
        assert f'href="#{aid}-{sid}"' in page
    # Every sentence of every article has its anchor, cited or not; only cited ones are highlighted.
    for article in brief.articles:
        for s in article.sentences:
            assert f"{article.id}-{s.id}" in ids
    assert re.search(r'<span class="sent cited" id="a1-s2"', page)
    assert re.search(r'<span class="sent" id="a2-s2"', page)


def test_html_citation_links_are_never_dangling(brief: Brief) -> None:
    page = render(brief, "html")
    ids = set(re.findall(r'id="([^"]+)"', page))
    targets = re.findall(r'href="#([^"]+)"', page)
    assert targets
    assert set(targets) <= ids


def test_html_citation_markers(brief: Brief) -> None:
    page = render(brief, "html")
    for c in cited_sentences(brief):
        assert f'href="#{c.article_id}-{c.sentence_id}">[{marker(c)}]</a>' in page
    assert re.findall(r'class="cite" href="#a1-s4">\[1\.4\]</a>', page)


def test_html_article_body_reproduces_the_text_exactly(brief: Brief) -> None:
    page = render(brief, "html")
    bodies = re.findall(r'<div class="article">(.*?)</div>', page, flags=re.S)
    assert len(bodies) == len(brief.articles)
    for article, body in zip(brief.articles, bodies, strict=True):
        assert html.unescape(re.sub(r"<[^>]+>", "", body)) == article.text
        for s in article.sentences:
            span = re.search(rf'<span [^>]*id="{article.id}-{s.id}"[^>]*>(.*?)</span>', body, flags=re.S)
            assert span is not None
            assert html.unescape(span.group(1)) == s.text


def test_html_links_only_http_urls(brief: Brief) -> None:
    page = render(brief, "html")
    links = [html.unescape(href) for href in re.findall(r'<a href="([^"]*)">', page)]
    assert links == [A2.url]
    assert 'href="javascript:alert(3)"' not in page


# -- rich --------------------------------------------------------------------------------------
def test_rich_text_shows_claims_markers_and_sources(brief: Brief) -> None:
    text = render(brief, "rich")
    assert "Grounded brief" in text
    assert "[1.3, 1.4]" in text
    assert SCRIPT in text  # plain terminal text: shown as is, nothing to inject into
    assert "Militants attacked the Ghweran prison in Hasakah on Thursday." in text
    assert "3 model call(s), 1 re-ask(s), 100+50 tokens" in text


def test_rich_single_article_is_a_summary(brief: Brief) -> None:
    single = brief.model_copy(
        update={
            "articles": [A1],
            "summaries": [brief.summaries[0]],
            "overview": [],
            "consensus": [],
            "discrepancies": [],
            "timeline": [],
            "single_source": [],
        }
    )
    text = render(single, "rich")
    assert "Grounded summary" in text
    assert "Overview" not in text


def test_rich_shows_square_brackets_in_titles_and_dropped_claims(brief: Brief) -> None:
    lines = render(brief, "rich").splitlines()
    rule = next(line for line in lines if "a1: Hostile" in line)
    assert A1.title in rule
    row = next(line for line in lines if "a1.summary[2]" in line)
    assert MD_LINK in row


def test_rich_survives_closing_tags_in_article_text(brief: Brief) -> None:
    hostile = brief.model_copy(
        update={
            "articles": [A1.model_copy(update={"title": "Closing [/b] tag"}), A2],
            "dropped": [Dropped(where="w", claim="text [/] here", reason="r")],
        }
    )
    text = render(hostile, "rich")
    assert "Closing [/b] tag" in text
    assert "text [/] here" in text
