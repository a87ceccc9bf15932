"""Grounding: claims against cited sentences, citation resolution, dropping with reasons, salvage, the brief."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from summarizer.schemas import (
    ArticleExtraction,
    BriefExtraction,
    Citation,
    CitedSentence,
    Discrepancy,
    ExtractedFact,
    Fact,
)

from summarizer.claims import fold
from summarizer.ground import (
    ARTICLE_LISTS,
    BRIEF_LISTS,
    ArticleGrounding,
    BriefGrounding,
    best_attempt,
    lenient,
    rejected_as_dropped,
)
from summarizer.load import parse_plain
from summarizer.segment import Article, prepare

SEED_000 = "000_b0e4f62f26070745.txt"
SEED_001 = "001_5f4370996e979ae7.txt"
SEED_004 = "004_8444452985700940.txt"


def read_seed(seeds_dir: Path, name: str):  # type: ignore[no-untyped-def]
    path = seeds_dir / name
    return parse_plain(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture
def article(seeds_dir: Path) -> Article:
    """Seed 001 (Iraqi counter-terrorism), as article a1."""
    return prepare([read_seed(seeds_dir, SEED_001)])[0]


@pytest.fixture
def grounding(article: Article) -> ArticleGrounding:
    return ArticleGrounding(article)


def sid(article: Article, fragment: str) -> str:
    """ID of the one sentence of ``article`` that contains ``fragment``."""
    hits = [s.id for s in article.sentences if fragment in s.text]
    assert len(hits) == 1, f"{fragment!r} is in {hits}"
    return hits[0]


def assert_exact(citations: list[Citation], articles: dict[str, Article]) -> None:
    assert citations
    for c in citations:
        art = articles[c.article_id]
        assert art.text[c.start : c.end] == c.text
        sentence = art.sentence(c.sentence_id)
        assert sentence is not None
        assert (sentence.start, sentence.end, sentence.text) == (c.start, c.end, c.text)


# -- single claims -----------------------------------------------------------------------------
def test_supported_claim_resolves_to_the_exact_sentence(article: Article, grounding: ArticleGrounding) -> None:
    cited = sid(article, "5,000 ISIS members")
    checked = grounding.check("The facility housed around 5,000 ISIS members.", [cited])
    assert checked.reason is None
    assert [c.sentence_id for c in checked.citations] == [cited]
    assert checked.citations[0].article_id == "a1"
    assert_exact(checked.citations, {"a1": article})
    start = article.text.index("The facility housed around 5,000")
    assert checked.citations[0].start == start


def test_citation_forms_are_normalised(article: Article, grounding: ArticleGrounding) -> None:
    cited = sid(article, "5,000 ISIS members")
    number = cited.lstrip("s")
    for form in [cited, f"a1.{cited}", f"[{cited}]", cited.upper(), number]:
        checked = grounding.check("The facility housed 5,000 ISIS members.", [form])
        assert checked.reason is None, form
        assert [c.sentence_id for c in checked.citations] == [cited]


def test_citing_the_same_sentence_twice_gives_one_citation(article: Article, grounding: ArticleGrounding) -> None:
    cited = sid(article, "5,000 ISIS members")
    checked = grounding.check("The facility housed 5,000 ISIS members.", [cited, f"a1.{cited}"])
    assert len(checked.citations) == 1


def test_hallucinated_number_is_rejected_with_where_it_really_is(article: Article, grounding: ArticleGrounding) -> None:
    wrong = sid(article, "5,000 ISIS members")
    right = sid(article, "322")
    checked = grounding.check("The death toll reached 322.", [wrong])
    assert checked.citations == []
    assert checked.reason is not None
    assert "number '322'" in checked.reason
    assert wrong in checked.reason
    assert f"'322' is in {right}" in checked.reason


def test_number_that_is_nowhere_in_the_article(grounding: ArticleGrounding, article: Article) -> None:
    assert "999" not in article.text
    checked = grounding.check("The death toll reached 999.", [sid(article, "322")])
    assert checked.reason is not None
    assert "number '999'" in checked.reason
    assert "'999' is nowhere in the article" in checked.reason


def test_hallucinated_name_is_rejected(grounding: ArticleGrounding, article: Article) -> None:
    assert "Baghdadi" not in article.text
    checked = grounding.check("Abu Bakr al-Baghdadi ordered the campaign.", [sid(article, "al-Kadhimi")])
    assert checked.reason is not None
    assert "name 'al-Baghdadi'" in checked.reason
    assert "'al-Baghdadi' is nowhere in the article" in checked.reason


def test_citation_to_a_nonexistent_id(grounding: ArticleGrounding, article: Article) -> None:
    checked = grounding.check("The facility housed 5,000 ISIS members.", ["s999"])
    assert checked.citations == []
    assert checked.reason is not None
    assert "'s999'" in checked.reason
    assert "not a sentence ID of this article" in checked.reason
    # The reason shows the valid range.
    assert article.citable[0].id in checked.reason
    assert article.citable[-1].id in checked.reason


def test_citation_of_another_article(grounding: ArticleGrounding, article: Article) -> None:
    cited = sid(article, "5,000 ISIS members")
    checked = grounding.check("The facility housed 5,000 ISIS members.", [f"a2.{cited}"])
    assert checked.reason is not None
    assert f"'a2.{cited}'" in checked.reason


def test_furniture_cannot_be_cited(seeds_dir: Path) -> None:
    art = prepare([read_seed(seeds_dir, SEED_000)])[0]
    furniture = [s for s in art.sentences if not s.citable]
    assert [s.text for s in furniture][-1] == "Radio radio icon"
    checked = ArticleGrounding(art).check("Shafaq Live.", [furniture[0].id])
    assert checked.reason is not None
    assert f"'{furniture[0].id}'" in checked.reason


def test_uncited_claim_fails_schema_validation() -> None:
    with pytest.raises(ValidationError) as info:
        CitedSentence.model_validate({"text": "The prison was attacked.", "cites": []})
    assert any(e["loc"] == ("cites",) for e in info.value.errors())


def test_uncited_claim_fails_grounding(grounding: ArticleGrounding) -> None:
    checked = grounding.check("The prison was attacked.", [])
    assert checked.reason is not None
    assert "cites no sentence" in checked.reason


def test_fact_value_and_speaker_are_checked(article: Article, grounding: ArticleGrounding) -> None:
    cited = sid(article, "5,000 ISIS members")
    ok = ExtractedFact(kind="quantity", statement="The facility housed ISIS members.", value="5,000", cites=[cited])
    assert grounding.check_fact(ok).reason is None
    bad_value = ExtractedFact(
        kind="quantity", statement="The facility housed ISIS members.", value="7,000", cites=[cited]
    )
    reason = grounding.check_fact(bad_value).reason
    assert reason is not None
    assert "7000" in reason
    bad_speaker = ExtractedFact(
        kind="quote", statement="The facility was full.", speaker="John Doe", cites=[sid(article, "5,000 ISIS members")]
    )
    reason = grounding.check_fact(bad_speaker).reason
    assert reason is not None
    assert "John" in reason
    no_speaker = ExtractedFact(kind="quote", statement="The facility housed ISIS members.", cites=[cited])
    assert grounding.check_fact(no_speaker).reason == "a quote needs its speaker"


# -- whole answers -----------------------------------------------------------------------------
def answer_payload(article: Article) -> dict[str, Any]:
    s_campaign = sid(article, "launched a major campaign to inspect prisons on the orders")
    s_toll = sid(article, "322")
    s_among = sid(article, "246 ISIS members")
    s_5000 = sid(article, "5,000 ISIS members")
    return {
        "headline": "Iraq inspects prisons after ISIS attack in Hasaka",
        "summary": [
            {"text": "Iraqi counter-terrorism forces launched a campaign to inspect prisons.", "cites": [s_campaign]},
            {"text": "The death toll reached 999.", "cites": [s_toll]},
            {"text": "Iraqi  counter-terrorism forces launched a campaign to inspect prisons.", "cites": [s_campaign]},
            {"text": "The facility housed 5,000 ISIS members.", "cites": ["s999"]},
            {"text": "The death toll in Hasaka reached 322.", "cites": [s_toll]},
        ],
        "facts": [
            {"kind": "quantity", "statement": "The death toll reached 322.", "value": "322", "cites": [s_toll]},
            {"kind": "quote", "statement": "The statement praised the campaign.", "cites": [s_campaign]},
            {"kind": "quantity", "statement": "Seven civilians were among the dead.", "value": "7", "cites": [s_among]},
            {"kind": "quantity", "statement": "The facility housed 6,000 ISIS members.", "cites": [s_5000]},
        ],
        "entities": [
            {"name": "Mustafa al-Kadhimi", "type": "person", "aliases": ["Kadhimi", "Abu Foo"]},
            {"name": "Hasaka", "type": "place"},
            {"name": "Atlantis", "type": "place"},
            {"name": "HASAKA", "type": "place"},
        ],
    }


def test_call_lists_every_failing_claim(article: Article, grounding: ArticleGrounding) -> None:
    answer = ArticleExtraction.model_validate(answer_payload(article))
    errors = grounding(answer)
    assert len(errors) == 4
    assert errors[0].startswith("summary[1] ") and "999" in errors[0]
    assert errors[1].startswith("summary[3] ") and "'s999'" in errors[1]
    assert errors[2].startswith("facts[1] ") and "speaker" in errors[2]
    assert errors[3].startswith("facts[3] ") and "6000" in errors[3]


def test_fully_grounded_answer_has_no_errors(article: Article, grounding: ArticleGrounding) -> None:
    payload = answer_payload(article)
    payload["summary"] = [payload["summary"][0], payload["summary"][4]]
    payload["facts"] = [payload["facts"][0], payload["facts"][2]]
    answer = ArticleExtraction.model_validate(payload, context={"grounding": grounding})
    assert grounding(answer) == []


def test_grounding_as_validation_context_raises_with_every_failure(
    article: Article, grounding: ArticleGrounding
) -> None:
    payload = answer_payload(article)
    # Structure alone is fine...
    ArticleExtraction.model_validate(payload)
    # ...but with the grounding checker in the context every unsupported claim is listed.
    with pytest.raises(ValidationError) as info:
        ArticleExtraction.model_validate(payload, context={"grounding": grounding})
    message = str(info.value)
    bullets = [line for line in message.splitlines() if line.startswith("- ")]
    assert len(bullets) == 4
    for where in ["summary[1]", "summary[3]", "facts[1]", "facts[3]"]:
        assert any(line.startswith(f"- {where} ") for line in bullets), where
    assert "'999' is nowhere in the article" in message


def test_resolve_keeps_grounded_claims_and_drops_the_rest(article: Article, grounding: ArticleGrounding) -> None:
    payload = answer_payload(article)
    headline, summary, facts, _entities, dropped = grounding.resolve(ArticleExtraction.model_validate(payload))
    assert headline == payload["headline"]
    assert [c.text for c in summary] == [payload["summary"][0]["text"], payload["summary"][4]["text"]]
    for claim in summary:
        assert_exact(claim.citations, {"a1": article})
    by_where = {d.where: d for d in dropped}
    assert by_where["a1.summary[1]"].claim == "The death toll reached 999."
    assert "999" in by_where["a1.summary[1]"].reason
    assert by_where["a1.summary[1]"].cited == payload["summary"][1]["cites"]
    assert by_where["a1.summary[2]"].reason == "duplicate of an earlier item"
    assert "'s999'" in by_where["a1.summary[3]"].reason
    assert by_where["a1.summary[3]"].cited == ["s999"]
    # Facts: the kept ones are renumbered in order; the failing ones are dropped with reasons.
    assert [f.id for f in facts] == ["a1.f1", "a1.f2"]
    assert [f.text for f in facts] == ["The death toll reached 322.", "Seven civilians were among the dead."]
    assert [f.value for f in facts] == ["322", "7"]
    for fact in facts:
        assert_exact(fact.citations, {"a1": article})
    assert by_where["a1.facts[1]"].reason == "a quote needs its speaker"
    assert "6000" in by_where["a1.facts[3]"].reason
    # Nothing is both kept and dropped.
    kept = {c.text for c in summary} | {f.text for f in facts}
    assert not kept & {d.claim for d in dropped}


def test_resolve_entities(article: Article, grounding: ArticleGrounding) -> None:
    payload = answer_payload(article)
    _h, _s, _f, entities, dropped = grounding.resolve(ArticleExtraction.model_validate(payload))
    assert [e.name for e in entities] == ["Mustafa al-Kadhimi", "Hasaka"]
    kadhimi, hasaka = entities
    assert kadhimi.aliases == ["Kadhimi"]
    text = article.text
    for entity in entities:
        spellings = {fold(n) for n in [entity.name, *entity.aliases]}
        assert entity.mentions
        assert [m.start for m in entity.mentions] == sorted(m.start for m in entity.mentions)
        for m in entity.mentions:
            assert text[m.start : m.end] == m.text
            assert fold(m.text) in spellings
    # Every occurrence of "Hasaka" as a whole word (here also before "'s") is a mention.
    expected = [i for i in range(len(text)) if text.startswith("Hasaka", i) and not text[i + 6 : i + 7].isalnum()]
    assert len(expected) == 5
    assert [m.start for m in hasaka.mentions] == expected
    assert text.index("Mustafa al-Kadhimi") in [m.start for m in kadhimi.mentions]
    by_where = {(d.where, d.claim): d for d in dropped}
    assert by_where[("a1.entities[0]", "Mustafa al-Kadhimi (alias Abu Foo)")].reason == (
        "alias does not occur in the article"
    )
    assert by_where[("a1.entities[2]", "Atlantis")].reason == "name does not occur in the article"
    assert by_where[("a1.entities[3]", "HASAKA")].reason == "duplicate of an earlier item"


def test_entity_spelled_with_a_curly_apostrophe(seeds_dir: Path) -> None:
    art = prepare([read_seed(seeds_dir, SEED_004)])[0]
    assert "al-Sina’a" in art.text
    answer = ArticleExtraction.model_validate(
        {
            "headline": "ISIS attack on Hasakah prison",
            "summary": [{"text": "Clashes are still going on.", "cites": ["s1"]}],
            "entities": [{"name": "al-Sina’a", "type": "place"}],
        }
    )
    _h, _s, _f, entities, dropped = ArticleGrounding(art).resolve(answer)
    assert not dropped
    assert [m.start for m in entities[0].mentions] == [
        i for i in range(len(art.text)) if art.text.startswith("al-Sina’a", i)
    ]


def test_entity_spelled_with_an_ascii_apostrophe(article: Article, grounding: ArticleGrounding) -> None:
    assert "al-Sina'a" in article.text
    answer = ArticleExtraction.model_validate(
        {
            "headline": "Iraq inspects prisons",
            "summary": [{"text": "Iraqi forces launched a campaign.", "cites": ["s1"]}],
            "entities": [{"name": "al-Sina'a", "type": "place"}, {"name": "Hasaka's", "type": "place"}],
        }
    )
    _h, _s, _f, entities, dropped = grounding.resolve(answer)
    assert dropped == []
    assert [m.start for m in entities[0].mentions] == [article.text.index("al-Sina'a")]
    assert [m.start for m in entities[1].mentions] == [article.text.index("Hasaka's")]


def test_headline_with_invented_names_falls_back_to_the_title(article: Article, grounding: ArticleGrounding) -> None:
    payload = answer_payload(article)
    payload["headline"] = "Abu Bakr al-Baghdadi escapes from Hasaka prison"
    headline, *_rest, dropped = grounding.resolve(ArticleExtraction.model_validate(payload))
    assert headline == article.title
    report = [d for d in dropped if d.where == "a1.headline"]
    assert len(report) == 1
    assert report[0].claim == payload["headline"]
    assert "al-Baghdadi" in report[0].reason
    assert "title" in report[0].reason
    assert "Hasaka" not in report[0].reason.split(" not in ")[0]


def test_blank_headline_uses_the_title(article: Article, grounding: ArticleGrounding) -> None:
    payload = answer_payload(article)
    payload["headline"] = "   "
    headline, *_rest, dropped = grounding.resolve(ArticleExtraction.model_validate(payload))
    assert headline == article.title
    assert not [d for d in dropped if d.where == "a1.headline"]


# -- salvage -----------------------------------------------------------------------------------
def malformed_payload(article: Article) -> dict[str, Any]:
    s_campaign = sid(article, "launched a major campaign to inspect prisons on the orders")
    return {
        "headline": "  Iraq inspects prisons  ",
        "summary": [
            {"text": "Iraqi forces launched a campaign.", "cites": [s_campaign]},
            {"text": "", "cites": []},
            "not an object",
        ],
        "facts": [
            {"kind": "bogus-kind", "statement": "x", "cites": [s_campaign]},
            {"kind": "event", "statement": "Iraqi forces launched a campaign.", "cites": [s_campaign]},
        ],
        "entities": None,
    }


def test_lenient_keeps_the_valid_items(article: Article) -> None:
    payload = malformed_payload(article)
    with pytest.raises(ValidationError):
        ArticleExtraction.model_validate(payload)
    value, rejected = lenient(ArticleExtraction, payload, ARTICLE_LISTS)
    assert isinstance(value, ArticleExtraction)
    assert value.headline == "Iraq inspects prisons"
    assert [s.text for s in value.summary] == ["Iraqi forces launched a campaign."]
    assert [f.statement for f in value.facts] == ["Iraqi forces launched a campaign."]
    assert value.entities == []
    assert [(name, i) for name, i, _item, _reason in rejected] == [("summary", 1), ("summary", 2), ("facts", 0)]
    assert "kind" in rejected[2][3]
    # The salvaged items then go through grounding like any other.
    _h, summary, facts, _e, dropped = ArticleGrounding(article).resolve(value)  # type: ignore[arg-type]
    assert len(summary) == 1 and len(facts) == 1 and dropped == []


def test_rejected_items_become_dropped_entries(article: Article) -> None:
    _value, rejected = lenient(ArticleExtraction, malformed_payload(article), ARTICLE_LISTS)
    dropped = rejected_as_dropped("a1", rejected)
    assert [d.where for d in dropped] == ["a1.summary[1]", "a1.summary[2]", "a1.facts[0]"]
    assert all(d.reason.startswith("malformed: ") for d in dropped)
    assert dropped[1].claim == "not an object"
    assert dropped[2].claim == "x"


@pytest.mark.parametrize("payload", [None, "a string", ["a", "list"]])
def test_lenient_on_non_objects(payload: Any) -> None:
    assert lenient(ArticleExtraction, payload, ARTICLE_LISTS) == (None, [])


def test_best_attempt_picks_the_highest_score_latest_on_ties(article: Article) -> None:
    one = malformed_payload(article)
    two = {**one, "headline": "second"}
    empty = {"headline": "empty", "summary": []}
    score = lambda v: len(v.summary) + len(v.facts)  # noqa: E731
    value, rejected = best_attempt(ArticleExtraction, [None, one, empty], ARTICLE_LISTS, score)
    assert value is not None and value.headline == "Iraq inspects prisons"  # type: ignore[attr-defined]
    assert len(rejected) == 3
    value, _ = best_attempt(ArticleExtraction, [one, two, empty], ARTICLE_LISTS, score)
    assert value.headline == "second"  # type: ignore[union-attr]
    assert best_attempt(ArticleExtraction, [None, None], ARTICLE_LISTS, score) == (None, [])


# -- the brief ---------------------------------------------------------------------------------
@pytest.fixture
def trio(seeds_dir: Path) -> list[Article]:
    return prepare([read_seed(seeds_dir, name) for name in (SEED_000, SEED_001, SEED_004)])


def extracted_facts(art: Article, facts: list[tuple[str, str, str]]) -> list[Fact]:
    """Facts of ``art`` as the article stage keeps them: (kind, statement, fragment of the cited sentence)."""
    answer = ArticleExtraction.model_validate(
        {
            "headline": art.title,
            "summary": [{"text": facts[0][1], "cites": [sid(art, facts[0][2])]}],
            "facts": [{"kind": k, "statement": text, "cites": [sid(art, frag)]} for k, text, frag in facts],
        }
    )
    _h, _s, kept, _e, dropped = ArticleGrounding(art).resolve(answer)
    assert dropped == [], dropped
    return kept


@pytest.fixture
def brief_facts(trio: list[Article]) -> list[Fact]:
    a1, a2, a3 = trio
    facts = extracted_facts(
        a1, [("event", "Kurdish-led forces said they thwarted a prison break.", "thwarted a prison break")]
    )
    facts += extracted_facts(
        a2,
        [
            (
                "event",
                "ISIS detainees attacked the al-Sina'a prison in Hasaka's Ghweran neighborhood "
                "on Friday, January 21st.",
                "audacious attack",
            ),
            ("quantity", "The death toll reached 322.", "322"),
        ],
    )
    facts += extracted_facts(
        a3,
        [
            (
                "event",
                "ISIS carried out a jailbreak in al-Sina’a prison in Guweiran neighborhood.",
                "Guweiran neighborhood",
            )
        ],
    )
    assert [f.id for f in facts] == ["a1.f1", "a2.f1", "a2.f2", "a3.f1"]
    return facts


def test_brief_unknown_fact_id(brief_facts: list[Fact]) -> None:
    claim, reason = BriefGrounding(brief_facts).check("ISIS attacked a prison.", ["a9.f9"])
    assert claim is None
    assert reason is not None
    assert "'a9.f9'" in reason
    assert "a2.f1" in reason  # the IDs that were shown


def test_brief_fact_id_forms(brief_facts: list[Fact]) -> None:
    grounding = BriefGrounding(brief_facts)
    assert grounding.fact_id("a2.f1") == "a2.f1"
    assert grounding.fact_id("[a2.f1]") == "a2.f1"
    assert grounding.fact_id("A2.F1") == "a2.f1"
    assert grounding.fact_id("a2.f9") is None
    assert grounding.fact_id("s1") is None


def test_brief_claim_with_invented_number(brief_facts: list[Fact]) -> None:
    claim, reason = BriefGrounding(brief_facts).check("The death toll reached 400.", ["a2.f2"])
    assert claim is None
    assert reason is not None
    assert "number '400'" in reason
    assert "a2.f2" in reason


def test_consensus_citing_one_article_is_rejected(brief_facts: list[Fact]) -> None:
    claim, reason = BriefGrounding(brief_facts).check(
        "ISIS detainees attacked the prison in Hasaka.", ["a2.f1", "a2.f2"], min_articles=2
    )
    assert claim is None
    assert reason is not None
    assert "2 or more articles" in reason
    assert "cites only a2" in reason


def test_consensus_supported_by_only_one_of_the_cited_articles(brief_facts: list[Fact]) -> None:
    # a2 says Friday, January 21st; a3 does not.
    claim, reason = BriefGrounding(brief_facts).check(
        "ISIS attacked the al-Sina'a prison on Friday, January 21st.", ["a2.f1", "a3.f1"], min_articles=2
    )
    assert claim is None
    assert reason is not None
    assert "a3" in reason
    assert "a2" not in reason.split(" on their own")[0]


def test_valid_consensus_is_kept(brief_facts: list[Fact], trio: list[Article]) -> None:
    claim, reason = BriefGrounding(brief_facts).check(
        "ISIS attacked the al-Sina'a prison.", ["a2.f1", "a3.f1"], min_articles=2
    )
    assert reason is None
    assert claim is not None
    assert claim.facts == ["a2.f1", "a3.f1"]
    assert sorted({c.article_id for c in claim.citations}) == ["a2", "a3"]
    assert_exact(claim.citations, {a.id: a for a in trio})


def brief_payload() -> dict[str, Any]:
    return {
        "overview": [
            {"text": "ISIS attacked the al-Sina'a prison.", "cites": ["a2.f1", "a3.f1"]},
            {"text": "The toll reached 322.", "cites": ["a9.f9"]},
            {"text": "ISIS attacked the al-Sina'a prison.", "cites": ["a2.f1", "a3.f1"]},
        ],
        "consensus": [
            {"text": "ISIS attacked the al-Sina'a prison.", "cites": ["a2.f1", "a3.f1"]},
            {"text": "The death toll reached 322.", "cites": ["a2.f2", "a2.f1"]},
        ],
        "discrepancies": [
            {
                "topic": "The neighborhood of the prison",
                "sides": [
                    {"text": "The prison is in the Ghweran neighborhood.", "cites": ["a2.f1"]},
                    {"text": "The prison is in the Guweiran neighborhood.", "cites": ["a3.f1"]},
                ],
            },
            {
                "topic": "The neighborhood of the prison",
                "sides": [
                    {"text": "The prison is in the Ghweran neighborhood.", "cites": ["a2.f1"]},
                    {"text": "The prison is in Hasaka.", "cites": ["a2.f1"]},
                ],
            },
        ],
        "timeline": [
            {
                "date": "Friday, January 21st",
                "event": "ISIS detainees attacked the al-Sina'a prison.",
                "cites": ["a2.f1"],
            },
            {"date": "Monday, January 24th", "event": "ISIS detainees attacked the prison.", "cites": ["a2.f1"]},
        ],
    }


def test_brief_resolve(brief_facts: list[Fact], trio: list[Article]) -> None:
    articles = {a.id: a for a in trio}
    answer = BriefExtraction.model_validate(brief_payload())
    overview, consensus, discrepancies, timeline, dropped = BriefGrounding(brief_facts).resolve(answer)
    assert [c.text for c in overview] == ["ISIS attacked the al-Sina'a prison."]
    assert [c.text for c in consensus] == ["ISIS attacked the al-Sina'a prison."]
    for claim in [*overview, *consensus]:
        assert_exact(claim.citations, articles)
    # A valid discrepancy: each side keeps its own facts and articles.
    assert len(discrepancies) == 1
    sides = discrepancies[0].sides
    assert [s.facts for s in sides] == [["a2.f1"], ["a3.f1"]]
    assert [s.article_ids for s in sides] == [["a2"], ["a3"]]
    for side in sides:
        assert_exact(side.citations, articles)
    # A valid timeline entry: the event as text, the date as given, citations resolved.
    assert len(timeline) == 1
    assert timeline[0].date == "Friday, January 21st"
    assert timeline[0].text == "ISIS detainees attacked the al-Sina'a prison."
    assert timeline[0].facts == ["a2.f1"]
    assert_exact(timeline[0].citations, articles)
    by_where = {d.where: d for d in dropped}
    assert set(by_where) == {
        "brief.overview[1]",
        "brief.overview[2]",
        "brief.consensus[1]",
        "brief.discrepancies[1]",
        "brief.timeline[1]",
    }
    assert "'a9.f9'" in by_where["brief.overview[1]"].reason
    assert by_where["brief.overview[2]"].reason == "duplicate of an earlier item"
    assert "cites only a2" in by_where["brief.consensus[1]"].reason
    assert "same facts" in by_where["brief.discrepancies[1]"].reason
    assert by_where["brief.discrepancies[1]"].cited == ["a2.f1", "a2.f1"]
    assert "Monday" in by_where["brief.timeline[1]"].reason


def test_brief_grounding_as_validation_context(brief_facts: list[Fact]) -> None:
    with pytest.raises(ValidationError) as info:
        BriefExtraction.model_validate(brief_payload(), context={"grounding": BriefGrounding(brief_facts)})
    bullets = [line for line in str(info.value).splitlines() if line.startswith("- ")]
    # Duplicates are only caught by resolve(); validation lists each unsupported item.
    wheres = [line.split(" ", 2)[1] for line in bullets]
    assert wheres == ["overview[1]", "consensus[1]", "discrepancies[1]", "timeline[1]"]


def test_discrepancy_with_a_single_side_set_of_facts(brief_facts: list[Fact]) -> None:
    item = Discrepancy.model_validate(
        {
            "topic": "The prison",
            "sides": [
                {"text": "The prison is in the Ghweran neighborhood.", "cites": ["a2.f1"]},
                {"text": "The prison is in the Ghweran neighborhood.", "cites": ["a2.f1"]},
            ],
        }
    )
    out, reason = BriefGrounding(brief_facts)._discrepancy(item)
    assert out is None
    assert reason is not None and "same facts" in reason


def test_discrepancy_topic_must_be_grounded(brief_facts: list[Fact]) -> None:
    item = Discrepancy.model_validate(
        {
            "topic": "The neighborhood in Raqqa",
            "sides": [
                {"text": "The prison is in the Ghweran neighborhood.", "cites": ["a2.f1"]},
                {"text": "The prison is in the Guweiran neighborhood.", "cites": ["a3.f1"]},
            ],
        }
    )
    out, reason = BriefGrounding(brief_facts)._discrepancy(item)
    assert out is None
    assert reason is not None and reason.startswith("topic:") and "Raqqa" in reason


def test_discrepancy_sides_citing_the_same_facts_in_another_order(brief_facts: list[Fact]) -> None:
    item = Discrepancy.model_validate(
        {
            "topic": "The neighborhood of the prison",
            "sides": [
                {"text": "The prison is in the Ghweran neighborhood.", "cites": ["a2.f1", "a3.f1"]},
                {"text": "The prison is in the Guweiran neighborhood.", "cites": ["a3.f1", "a2.f1"]},
            ],
        }
    )
    out, reason = BriefGrounding(brief_facts)._discrepancy(item)
    assert out is None
    assert reason is not None and "same facts" in reason


def test_brief_lists_salvage() -> None:
    payload = brief_payload()
    payload["consensus"].append({"text": "no cites"})
    value, rejected = lenient(BriefExtraction, payload, BRIEF_LISTS)
    assert value is not None
    assert len(value.consensus) == 2  # type: ignore[attr-defined]
    assert [(name, i) for name, i, _item, _reason in rejected] == [("consensus", 2)]
