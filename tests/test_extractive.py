"""The no-model engine: a grounded Brief through the same schemas, with typed facts and simple cross-article points."""

from __future__ import annotations

from pathlib import Path

from summarizer.schemas import ArticleExtraction, Brief

from summarizer import extractive
from summarizer.claims import unsupported
from summarizer.load import Document, load
from summarizer.segment import Article, prepare


def _articles(*bodies: str) -> list[Article]:
    return prepare([Document(title=f"Article {i}", text=body, origin=f"t{i}") for i, body in enumerate(bodies, 1)])


def test_seed_brief_is_valid_cited_and_grounded(seeds_dir: Path) -> None:
    articles = prepare(load([str(seeds_dir)]))
    brief = extractive.brief_articles(articles)
    assert Brief.model_validate_json(brief.model_dump_json()) == brief
    assert (brief.run.engine, brief.run.provider, brief.run.model) == ("extractive", "none", "extractive")
    texts = {a.id: a.text for a in brief.articles}
    claims = brief.claims()
    assert claims and not brief.dropped
    for claim in claims:
        assert claim.citations
        for c in claim.citations:
            assert texts[c.article_id][c.start : c.end] == c.text
        assert not unsupported(claim.text, "\n".join(c.text for c in claim.citations))
    assert brief.stats.calls == 0


def test_the_summary_is_the_lead_and_facts_are_typed_by_what_they_carry() -> None:
    (article,) = _articles(
        "Officials opened the new bridge over the river. "
        "Traffic was light in the morning. "
        "Crowds gathered to watch the ceremony. "
        "The bridge cost 12,500 dollars per metre. "
        'Mayor Ann Lee said "this is a great day" to reporters. '
        "Work began on Monday, March 3rd. "
        "Nobody was hurt."
    )
    summary = extractive.summarize_article(article)
    assert [c.citations[0].sentence_id for c in summary.summary] == ["s1", "s2", "s3"]
    by_sentence = {f.citations[0].sentence_id: f for f in summary.facts}
    assert (by_sentence["s4"].kind, by_sentence["s4"].value) == ("quantity", "12,500")
    assert (by_sentence["s5"].kind, by_sentence["s5"].speaker) == ("quote", "Mayor Ann Lee")
    assert (by_sentence["s6"].kind, by_sentence["s6"].value) == ("date", "Monday")
    assert by_sentence["s7"].kind == "event"  # carries nothing, but there is room for it


def test_facts_that_carry_something_come_before_the_rest_when_there_is_no_room_for_all() -> None:
    limit = extractive.max_items(ArticleExtraction, "facts", 10)
    body = "Officials opened the new bridge. " + " ".join(f"Village {i} reported {i * 7} cases." for i in range(1, 40))
    (article,) = _articles(body)
    facts = extractive.summarize_article(article).facts
    assert len(facts) == limit
    assert all(f.kind == "quantity" for f in facts)  # the lead sentence, carrying nothing, had no room


def test_facts_stay_within_the_schema_bounds() -> None:
    body = " ".join(f"Village {i} reported {i * 7} new cases." for i in range(1, 40))
    (article,) = _articles(body)
    limit = extractive.max_items(ArticleExtraction, "facts", 10)
    extraction = extractive.article_extraction(article)
    assert len(extraction.facts) == limit
    long = extractive.sentence_fact(
        prepare([Document(title="t", text="word " * 200 + "end.", origin="x")])[0].sentences[0]
    )
    assert len(long.statement) <= 300 and long.statement.endswith("…")


def test_consensus_from_matching_sentences_in_two_articles() -> None:
    shared = "The storm destroyed 40 homes in the coastal town of Marlow on Tuesday."
    brief = extractive.brief_articles(_articles(f"{shared} Rain continued.", f"Officials spoke. {shared}"))
    assert len(brief.consensus) == 1
    assert {c.article_id for c in brief.consensus[0].citations} == {"a1", "a2"}


def test_discrepancies_from_different_figures_and_spellings() -> None:
    brief = extractive.brief_articles(
        _articles(
            "The flood in Ghweran killed 12 people on Tuesday, officials said.",
            "The flood in Geweran killed 15 people on Tuesday, officials said.",
        )
    )
    topics = {d.kind: d.topic for d in brief.discrepancies}
    assert "Geweran / Ghweran" in topics["spelling"]
    assert "12" in topics["figure"] and "15" in topics["figure"]
    for d in brief.discrepancies:
        assert {side.article_ids[0] for side in d.sides} == {"a1", "a2"}


def test_demonyms_and_plurals_are_not_spelling_variants() -> None:
    brief = extractive.brief_articles(
        _articles("Syria said the border with Iraq is closed.", "Syrian officials said Iraqi trucks were turned back.")
    )
    assert brief.discrepancies == []
