"""The scorer is right: the labels as a prediction score 1.0, and each defect lowers exactly its metric."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from summarizer.schemas import Brief, BriefClaim, Citation, DiscrepancyOut, Fact, SideOut, TimelineEntry

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
    "consensus_precision",
    "discrepancy_recall",
    "discrepancy_precision",
    "discrepancy_recall_figure",
    "discrepancy_recall_date",
    "discrepancy_recall_spelling",
    "discrepancy_recall_outcome",
    "discrepancy_recall_attribution",
    "timeline_recall",
    "timeline_precision",
    "timeline_date_accuracy",
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
    # The seed's kinds (evals/README.md): figure 2, date 1, spelling 2, outcome 1, attribution 3; 7 dated events.
    c = score.counts
    assert (c.gold_discrepancies_figure, c.gold_discrepancies_date, c.gold_discrepancies_spelling) == (2, 1, 2)
    assert (c.gold_discrepancies_outcome, c.gold_discrepancies_attribution) == (1, 3)
    assert (c.gold_timeline, c.matched_timeline, c.dated_timeline) == (7, 7, 7)
    assert not score.false_alarms and not score.unmatched_timeline and not score.unmatched_consensus
    assert all(t.date_correct and t.predicted_iso == t.date for t in score.timeline)


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
    assert score.discrepancies[3].kind == "figure"
    assert _changed(base, score.metrics) == {"discrepancy_recall", "discrepancy_recall_figure"}


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


# -- discrepancy kinds and precision, consensus precision, timeline --------------------------------------
def _drop_discrepancy(brief: Brief, gold_id: str, case: LoadedCase) -> Brief:
    index = [d.id for d in case.case.discrepancies].index(gold_id)
    return _without(brief, "discrepancies", index)


@pytest.mark.parametrize(
    ("gold_id", "kind", "left"),
    [
        ("toll-arithmetic", "figure", 0.5),
        ("attack-day", "date", 0.0),
        ("city-spelling", "spelling", 0.5),
        ("escape-outcome", "outcome", 0.0),
        ("who-ordered", "attribution", 2 / 3),
    ],
)
def test_a_removed_discrepancy_lowers_exactly_its_kinds_recall(
    case: LoadedCase, gold_id: str, kind: str, left: float
) -> None:
    perfect = oracle_brief(case)
    score = score_case(case, _drop_discrepancy(perfect, gold_id, case))
    assert score.metrics[f"discrepancy_recall_{kind}"] == pytest.approx(left)
    assert score.metrics["discrepancy_recall"] == pytest.approx(8 / 9)
    assert _changed(score_case(case, perfect).metrics, score.metrics) == {
        "discrepancy_recall",
        f"discrepancy_recall_{kind}",
    }
    assert next(o for o in score.discrepancies if o.gold == gold_id).recalled_by is None


def test_a_name_discrepancy_counts_as_spelling(case: LoadedCase) -> None:
    data = case.case.model_dump()
    data["discrepancies"] = [
        {**d, "kind": "name"} if d["id"] == "neighborhood-spelling" else d for d in data["discrepancies"]
    ]
    renamed = LoadedCase(case=type(case.case).model_validate(data), origin=case.origin, articles=case.articles)
    brief = _drop_discrepancy(oracle_brief(renamed), "neighborhood-spelling", renamed)
    score = score_case(renamed, brief)
    assert score.counts.gold_discrepancies_spelling == 2
    assert score.metrics["discrepancy_recall_spelling"] == 0.5


def _invented(case: LoadedCase) -> DiscrepancyOut:
    """Two true sentences set against each other where the sources do not disagree."""
    a1, a3 = _cite(case, "a1", "s16"), _cite(case, "a3", "s2")
    return DiscrepancyOut(
        topic="Invented: what should be done",
        kind="outcome",
        sides=[
            SideOut(text=a1.text, value="a solution", citations=[a1], article_ids=["a1"]),
            SideOut(text=a3.text, citations=[a3], article_ids=["a3"]),
        ],
    )


def test_an_invented_discrepancy_lowers_precision_only_and_is_named(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    brief = perfect.model_copy(update={"discrepancies": [*perfect.discrepancies, _invented(case)]})
    score = score_case(case, brief)
    assert score.metrics["discrepancy_precision"] == pytest.approx(9 / 10)
    assert _changed(score_case(case, perfect).metrics, score.metrics) == {"discrepancy_precision"}
    [alarm] = score.false_alarms
    assert alarm.topic == "Invented: what should be done" and alarm.kind == "outcome"
    assert [s.value for s in alarm.sides] == ["a solution", None]
    assert [s.cited for s in alarm.sides] == [["a1.s16"], ["a3.s2"]]


def test_a_second_prediction_of_a_recalled_discrepancy_is_a_duplicate_not_a_false_alarm(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    again = perfect.discrepancies[3].model_copy(update={"topic": "the same discrepancy again"})
    score = score_case(case, perfect.model_copy(update={"discrepancies": [*perfect.discrepancies, again]}))
    assert score.metrics["discrepancy_precision"] == 1.0
    assert score.metrics["discrepancy_recall"] == 1.0
    assert score.counts.predicted_discrepancies == 10 and not score.false_alarms


def test_consensus_precision_counts_points_that_recall_no_label(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    base = score_case(case, perfect).metrics
    stray = BriefClaim(text="A solution should be found.", citations=[_cite(case, "a1", "s16")])
    score = score_case(case, perfect.model_copy(update={"consensus": [*perfect.consensus, stray]}))
    assert score.metrics["consensus_precision"] == pytest.approx(11 / 12)
    assert _changed(base, score.metrics) == {"consensus_precision"}
    assert [u.text for u in score.unmatched_consensus] == ["A solution should be found."]
    duplicate = perfect.consensus[0].model_copy(update={"text": perfect.consensus[0].text + " Again."})
    score = score_case(case, perfect.model_copy(update={"consensus": [*perfect.consensus, duplicate]}))
    assert score.metrics["consensus_precision"] == 1.0


def _retimed(brief: Brief, index: int, **update: object) -> Brief:
    timeline = list(brief.timeline)
    timeline[index] = timeline[index].model_copy(update=update)
    return brief.model_copy(update={"timeline": timeline})


@pytest.mark.parametrize("iso", ["2022-01-21", None, "Thursday", "2022-01-20/2022-01-21"])
def test_a_wrong_iso_date_lowers_date_accuracy_only(case: LoadedCase, iso: str | None) -> None:
    perfect = oracle_brief(case)
    assert perfect.timeline[0].iso == "2022-01-20"  # sdf-thwarted
    score = score_case(case, _retimed(perfect, 0, iso=iso))
    assert score.metrics["timeline_date_accuracy"] == pytest.approx(6 / 7)
    assert _changed(score_case(case, perfect).metrics, score.metrics) == {"timeline_date_accuracy"}
    wrong = next(t for t in score.timeline if t.gold == "sdf-thwarted")
    assert wrong.predicted is not None and not wrong.date_correct and wrong.predicted_iso == iso


def test_the_same_day_written_as_a_one_day_range_is_right(case: LoadedCase) -> None:
    score = score_case(case, _retimed(oracle_brief(case), 0, iso="2022-01-20/2022-01-20"))
    assert score.metrics["timeline_date_accuracy"] == 1.0


def test_a_timeline_entry_must_cite_a_support_sentence(case: LoadedCase) -> None:
    perfect = oracle_brief(case)
    base = score_case(case, perfect).metrics
    # sdf-thwarted is dated by a1 s4 only; citing s5 instead leaves the event unmatched and the entry stray.
    score = score_case(case, _retimed(perfect, 0, citations=[_cite(case, "a1", "s5")]))
    assert score.metrics["timeline_recall"] == pytest.approx(6 / 7)
    assert score.metrics["timeline_precision"] == pytest.approx(6 / 7)
    assert score.metrics["timeline_date_accuracy"] == 1.0
    assert {"timeline_recall", "timeline_precision"} <= _changed(base, score.metrics)
    assert [u.iso for u in score.unmatched_timeline] == ["2022-01-20"]
    assert next(t for t in score.timeline if t.gold == "sdf-thwarted").predicted is None


def test_timeline_pairs_prefer_entries_whose_dates_agree(case: LoadedCase) -> None:
    """campaign-ran (a2 s3) and campaign-announced (a2 s1, s3) share s3; two entries citing only s3 are paired
    by their dates, whichever comes first."""
    s3 = _cite(case, "a2", "s3")
    ran = TimelineEntry(text="The campaign ran.", date="22nd to 30th", iso="2022-01-22/2022-01-30", citations=[s3])
    announced = TimelineEntry(text="It was announced.", date="Sunday", iso="2022-01-30", citations=[s3])
    brief = oracle_brief(case).model_copy(update={"timeline": [announced, ran]})
    score = score_case(case, brief)
    by_gold = {t.gold: t for t in score.timeline}
    assert by_gold["campaign-ran"].predicted == "The campaign ran."
    assert by_gold["campaign-announced"].predicted == "It was announced."
    assert score.metrics["timeline_date_accuracy"] == 1.0
    assert score.metrics["timeline_recall"] == pytest.approx(2 / 7)
