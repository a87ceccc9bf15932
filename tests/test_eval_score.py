"""The scorer is right: the labels as a prediction score 1.0, and each defect lowers exactly its metric."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from summarizer.schemas import Brief, BriefClaim, Citation, DiscrepancyOut, Fact, SideOut

from summarizer.evaluate.gold import LoadedCase, bundled_cases_dir, load_case
from summarizer.evaluate.oracle import oracle_brief
from summarizer.evaluate.score import score_case

QUALITY = (
    "fact_recall",
    "fact_precision",
    "fact_precision_grounded",
    "citation_recall",
    "citation_precision",
    "citation_validity",
    "number_grounding",
    "consensus_recall",
    "discrepancy_recall",
)


@pytest.fixture(scope="module")
def case() -> LoadedCase:
    return load_case(bundled_cases_dir() / "hasakah.yaml")


def _fact(brief: Brief, gold_id: str, case: LoadedCase) -> tuple[int, int, Fact]:
    """(summary index, fact index, fact) of the oracle fact made from the gold fact ``gold_id``."""
    for i, summary in enumerate(brief.summaries):
        for j, gold in enumerate(case.facts(summary.article_id)):
            if gold.id == gold_id:
                return i, j, summary.facts[j]
    raise KeyError(gold_id)


def _replace_fact(brief: Brief, case: LoadedCase, gold_id: str, change: Callable[[Fact], Fact | None]) -> Brief:
    i, j, fact = _fact(brief, gold_id, case)
    facts = list(brief.summaries[i].facts)
    new = change(fact)
    if new is None:
        del facts[j]
    else:
        facts[j] = new
    summaries = list(brief.summaries)
    summaries[i] = summaries[i].model_copy(update={"facts": facts})
    return brief.model_copy(update={"summaries": summaries})


def _cite(case: LoadedCase, aid: str, sid: str) -> Citation:
    s = case.article(aid).sentence(sid)
    assert s is not None
    return Citation(article_id=aid, sentence_id=sid, start=s.start, end=s.end, text=s.text)


def _changed(before: dict[str, float | None], after: dict[str, float | None]) -> set[str]:
    return {name for name in QUALITY if before[name] != after[name]}


def test_the_labels_as_prediction_score_one_on_every_quality_metric(case: LoadedCase) -> None:
    score = score_case(case, oracle_brief(case))
    assert {name: score.metrics[name] for name in QUALITY} == dict.fromkeys(QUALITY, 1.0)
    assert score.counts.gold_facts == case.case.fact_count() == score.counts.matched_facts
    assert all(not a.missed and not a.unmatched for a in score.articles)


def test_removing_a_fact_lowers_fact_recall_only(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    brief = _replace_fact(perfect, case, "death-toll", lambda f: None)
    score = score_case(case, brief)
    assert score.metrics["fact_recall"] == pytest.approx((case.case.fact_count() - 1) / case.case.fact_count())
    assert _changed(score_case(case, perfect).metrics, score.metrics) == {"fact_recall"}
    assert next(a for a in score.articles if a.article_id == "a2").missed == ["death-toll"]


def test_corrupting_a_number_makes_the_fact_wrong_and_ungrounded(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    brief = _replace_fact(
        perfect, case, "death-toll", lambda f: f.model_copy(update={"text": f.text.replace("322", "332")})
    )
    score = score_case(case, brief)
    n = case.case.fact_count()
    assert score.metrics["fact_recall"] == pytest.approx((n - 1) / n)
    assert score.metrics["fact_precision"] == pytest.approx((n - 1) / n)
    assert score.metrics["fact_precision_grounded"] == pytest.approx((n - 1) / n)  # 332 is not in its sentence
    assert score.metrics["number_grounding"] < 1.0
    assert _changed(score_case(case, perfect).metrics, score.metrics) == {
        "fact_recall",
        "fact_precision",
        "fact_precision_grounded",
        "number_grounding",
    }


def test_a_citation_to_the_wrong_sentence_lowers_citation_recall_and_precision_only(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    # "prisons" states names, no numbers, and is supported by a1 s3 only; s4 is about something else.
    brief = _replace_fact(
        perfect, case, "prisons", lambda f: f.model_copy(update={"citations": [_cite(case, "a1", "s4")]})
    )
    score = score_case(case, brief)
    matched = score.counts.matched_facts
    assert score.metrics["citation_recall"] == pytest.approx((matched - 1) / matched)
    assert score.metrics["citation_precision"] < 1.0
    assert _changed(score_case(case, perfect).metrics, score.metrics) == {"citation_recall", "citation_precision"}


def test_a_wrong_citation_for_a_number_also_breaks_number_grounding(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    brief = _replace_fact(
        perfect, case, "death-toll", lambda f: f.model_copy(update={"citations": [_cite(case, "a2", "s10")]})
    )
    changed = _changed(score_case(case, perfect).metrics, score_case(case, brief).metrics)
    assert changed == {"citation_recall", "citation_precision", "number_grounding"}


def test_a_citation_that_does_not_resolve_lowers_citation_validity(case: LoadedCase) -> None:
    perfect = oracle_brief(case)

    def shifted(f: Fact) -> Fact:
        c = f.citations[0]
        return f.model_copy(update={"citations": [c.model_copy(update={"start": c.start + 1})]})

    score = score_case(case, _replace_fact(perfect, case, "prisons", shifted))
    assert score.metrics["citation_validity"] < 1.0
    assert score.metrics["fact_recall"] == 1.0  # the fact itself is still right


def test_an_extra_grounded_fact_lowers_strict_precision_but_not_the_grounded_one(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    s16 = _cite(case, "a1", "s16")  # "A solution should be found ...": true, but not a labelled key fact

    def add(f: Fact) -> Fact:
        return f

    brief = _replace_fact(perfect, case, "prisons", add)
    summaries = list(brief.summaries)
    extra = Fact(id="a1.f99", kind="quote", text=s16.text, citations=[s16])
    summaries[0] = summaries[0].model_copy(update={"facts": [*summaries[0].facts, extra]})
    score = score_case(case, brief.model_copy(update={"summaries": summaries}))
    n = case.case.fact_count()
    assert score.metrics["fact_precision"] == pytest.approx(n / (n + 1))
    assert score.metrics["fact_precision_grounded"] == 1.0
    assert score.metrics["fact_recall"] == 1.0


def test_a_needed_extra_citation_is_precise_and_an_irrelevant_one_is_not(case: LoadedCase) -> None:
    perfect = oracle_brief(case)

    def with_citations(*sids: str) -> Callable[[Fact], Fact]:
        return lambda f: f.model_copy(update={"citations": [_cite(case, "a2", s) for s in sids]})

    # A fact stating the toll and its breakdown needs s9 for 246 beside the gold s8.
    def combined(f: Fact) -> Fact:
        return with_citations("s8", "s9")(f.model_copy(update={"text": f.text + " Among them are 246 ISIS members."}))

    needed = score_case(case, _replace_fact(perfect, case, "death-toll", combined))
    assert needed.metrics["citation_precision"] == 1.0
    irrelevant = score_case(case, _replace_fact(perfect, case, "death-toll", with_citations("s8", "s13")))
    assert irrelevant.metrics["citation_precision"] < 1.0
    assert irrelevant.metrics["citation_recall"] == 1.0


def test_a_paraphrase_matches_but_a_different_value_does_not(case: LoadedCase) -> None:
    perfect = oracle_brief(case)

    def reworded(text: str) -> Callable[[Fact], Fact]:
        return lambda f: f.model_copy(update={"text": text})

    ok = score_case(
        case, _replace_fact(perfect, case, "held-5000", reworded("About five thousand ISIS members were held there."))
    )
    assert ok.metrics["fact_recall"] == 1.0
    wrong = score_case(
        case, _replace_fact(perfect, case, "held-5000", reworded("About 500 ISIS members were held there."))
    )
    assert wrong.metrics["fact_recall"] < 1.0


def test_one_prediction_cannot_match_two_gold_facts(case: LoadedCase) -> None:
    """attack-date and prison-location are both in a2 s4; one copy of s4 is one fact, not two."""
    perfect = oracle_brief(case)
    s4 = _cite(case, "a2", "s4")
    copy = Fact(id="a2.f1", kind="event", text=s4.text, citations=[s4])
    brief = _replace_fact(perfect, case, "attack-date", lambda f: copy)
    brief = _replace_fact(brief, case, "prison-location", lambda f: None)
    score = score_case(case, brief)
    assert score.counts.matched_facts == case.case.fact_count() - 1


def _without(brief: Brief, field: str, index: int) -> Brief:
    items = list(getattr(brief, field))
    del items[index]
    return brief.model_copy(update={field: items})


def test_missing_consensus_or_discrepancy_lowers_only_its_recall(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    base = score_case(case, perfect).metrics
    score = score_case(case, _without(perfect, "consensus", 0))
    assert score.metrics["consensus_recall"] == pytest.approx(1 - 1 / len(case.case.consensus))
    assert _changed(base, score.metrics) == {"consensus_recall"}
    score = score_case(case, _without(perfect, "discrepancies", 3))
    assert score.metrics["discrepancy_recall"] == pytest.approx(1 - 1 / len(case.case.discrepancies))
    assert score.discrepancies[3].recalled_by is None
    assert _changed(base, score.metrics) == {"discrepancy_recall"}


def test_a_discrepancy_needs_two_matching_sides(case: LoadedCase) -> None:
    s8, s9 = _cite(case, "a2", "s8"), _cite(case, "a2", "s9")
    a1_s9 = _cite(case, "a1", "s9")

    def discrepancy(*sides: tuple[str, Citation]) -> DiscrepancyOut:
        return DiscrepancyOut(
            topic="death toll",
            sides=[SideOut(text=t, citations=[c], article_ids=[c.article_id]) for t, c in sides],
        )

    def recalled(d: DiscrepancyOut) -> set[str]:
        brief = oracle_brief(case).model_copy(update={"discrepancies": [d]})
        return {o.gold for o in score_case(case, brief).discrepancies if o.recalled_by}

    # 322 vs the breakdown: the arithmetic discrepancy inside a2.
    assert recalled(
        discrepancy(("SOHR counts 322 dead.", s8), ("246 ISIS members, 79 guards, seven civilians.", s9))
    ) == {"toll-arithmetic"}
    # "several" (a1) vs 322 (a2): the cross-article casualty discrepancy.
    assert recalled(discrepancy(("Several inmates were killed.", a1_s9), ("The toll reached 322.", s8))) == {
        "casualty-figures"
    }
    # Right sentences but the sides do not state the values: nothing.
    assert recalled(discrepancy(("A first account.", s8), ("A second account.", s9))) == set()


def test_consensus_needs_two_backing_articles_and_its_values(case: LoadedCase) -> None:
    c = case.case.consensus
    item = next(x for x in c if x.id == "economic-recruitment")

    def recalled(claim: BriefClaim) -> set[str]:
        brief = oracle_brief(case).model_copy(update={"consensus": [claim]})
        return {o.gold for o in score_case(case, brief).consensus if o.recalled_by}

    both = [_cite(case, "a1", "s12"), _cite(case, "a3", "s11")]
    assert recalled(BriefClaim(text="IS lost Baghouz and lures recruits.", citations=both)) == {item.id}
    assert recalled(BriefClaim(text="IS lost Baghouz and lures recruits.", citations=both[:1])) == set()
    assert recalled(BriefClaim(text="The group lures recruits.", citations=both)) == set()  # value Baghouz missing


def test_a_brief_for_other_articles_is_refused(case: LoadedCase) -> None:
    from summarizer.errors import InputError

    brief = oracle_brief(case)
    articles = [a.model_copy(update={"text": a.text + " More."}) if a.id == "a2" else a for a in brief.articles]
    with pytest.raises(InputError, match="not made from this case"):
        score_case(case, brief.model_copy(update={"articles": articles}))
