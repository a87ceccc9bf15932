"""The cross-source analysis on small hand-written texts: dates, figures, names and each discrepancy kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from summarizer.analysis import Ref, analyse
from summarizer.analysis.dates import find_dates
from summarizer.analysis.names import name_uses, spelling_groups, variants
from summarizer.analysis.quantities import find_quantities
from summarizer.extractive import brief_articles
from summarizer.load import Document, load
from summarizer.segment import prepare

ROOT = Path(__file__).resolve().parent.parent
SATURDAY = dt.date(2022, 1, 22)


def _iso(text: str, published: dt.date | None = SATURDAY, **kw: object) -> list[str | None]:
    return [m.iso for m in find_dates(text, "a1", "s1", published, **kw)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("Forces on Thursday said they thwarted it.", SATURDAY, "2022-01-20"),  # weekday before publication
        ("A source revealed on Saturday.", SATURDAY, "2022-01-22"),  # the publication day itself
        ("The Senate is expected to vote on Tuesday.", SATURDAY, "2022-01-25"),  # future tense: the next one
        ("It happened last Saturday.", SATURDAY, "2022-01-15"),
        ("It was signed yesterday.", dt.date(2022, 3, 1), "2022-02-28"),  # month rollover
        ("It ended on Friday.", dt.date(2022, 1, 2), "2021-12-31"),  # year boundary
        ("The attack on Friday, January 21st.", SATURDAY, "2022-01-21"),
        ("It began on the 22nd of January.", SATURDAY, "2022-01-22"),
        ("It began on the 22nd of January and continued until the 30th.", SATURDAY, "2022-01-22/2022-01-30"),
        ("It was on Saturday, January 2nd.", dt.date(2021, 12, 20), "2021-01-02"),  # the year its weekday fits
        ("It was on December 30.", dt.date(2022, 1, 3), "2021-12-30"),  # a day and month before publication
        ("On Jan. 3, 2019, it began.", SATURDAY, "2019-01-03"),
        ("He won in June 2017.", SATURDAY, "2017-06-01/2017-06-30"),
        ("He won last year.", SATURDAY, "2021-01-01/2021-12-31"),
    ],
)
def test_dates_resolve_against_the_publication_day(text: str, published: dt.date, expected: str) -> None:
    assert _iso(text, published) == [expected]


def test_a_day_earlier_counts_from_the_date_before_it() -> None:
    assert _iso("A day earlier, the House voted.", previous=dt.date(2022, 1, 19)) == ["2022-01-18"]
    assert _iso("A day earlier, the House voted.", previous=None) == [None]


def test_a_date_says_when_it_borrowed_from_the_text_before_its_sentence() -> None:
    def contexts(text: str, **kw: object) -> list[str]:
        return [m.context for m in find_dates(text, "a1", "s1", SATURDAY, **kw)]  # type: ignore[arg-type]

    assert contexts("A day earlier, the House voted.", previous=dt.date(2022, 1, 19)) == ["date"]
    assert contexts("On July 22 the emails came out.", context_year=2016) == ["year"]
    assert contexts("In July the emails came out.", context_year=2016) == ["year"]
    assert contexts("On July 22 the emails came out.") == [""]
    assert contexts("On Thursday the House voted, yesterday the Senate.") == ["", ""]


def test_an_undated_article_leaves_relative_dates_unresolved_and_borrows_a_year_only() -> None:
    weekday = find_dates("They said on Thursday it was over.", "a2", "s1", None)
    assert [(m.iso, m.resolution) for m in weekday] == [(None, "unresolved")]
    borrowed = find_dates("The attack on January 21st.", "a2", "s1", None, SATURDAY)
    assert [(m.iso, m.resolution) for m in borrowed] == [("2022-01-21", "year-inferred")]
    assert "dated articles" in borrowed[0].how


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fifteen of the 19 Sept. 11 hijackers were Saudi nationals.", "2001-09-11"),  # the events the day names
        ("Families of Sept. 11 victims may now sue.", "2001-09-11"),
        ("The Jan. 6 Committee met again.", "2021-01-06"),
        ("Survivors marked the anniversary of the June 14 attack.", "2021-06-14"),  # not a named day: the story's own
        ("The stopgap runs until the Feb. 15 deadline.", "2022-02-15"),
        ("On Sept. 11 the Senate voted.", "2021-09-11"),  # no word naming an event after it
        ("The Sept. 11, 2001, attacks killed nearly 3,000 people.", "2001-09-11"),  # its year given
    ],
)
def test_a_day_news_names_events_by_is_placed_in_the_events_year(text: str, expected: str) -> None:
    assert _iso(text) == [expected]


def test_a_named_day_before_its_year_is_an_ordinary_date() -> None:
    assert _iso("The Jan. 6 committee met.", dt.date(2016, 9, 28)) == ["2016-01-06"]


def test_a_named_day_is_on_the_timeline_in_its_year_and_is_no_count() -> None:
    articles = _articles(
        ("Fifteen of the 19 Sept. 11 hijackers were Saudi nationals.", "2016-09-29"),
        ("Congress voted on Wednesday to let families of Sept. 11 victims sue. Of the 19 hijackers, 15 were Saudi.",
         "2016-09-29"),
    )  # fmt: skip
    dated = [(d.words, d.iso) for d in analyse(articles).timeline]
    assert dated == [("Sept. 11", "2001-09-11"), ("Sept. 11", "2001-09-11"), ("on Wednesday", "2016-09-28")]
    assert "figure" not in _kinds(articles)  # "11 hijackers" is not counted against 19


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        # Counted back from Wednesday's publication, Thursday would come a week before the shooting it follows.
        (["Scalise was still in critical condition on Thursday after a gunman opened fire Wednesday."], "2017-06-15"),
        (["It was upgraded on Thursday after the surgery on Wednesday."], "2017-06-15"),
        # Not the day after publication, or not the publication's weekday after "after": news style, left as is.
        (["It was upgraded on Friday after the surgery on Wednesday."], None),
        (["Shares fell Thursday after analysts downgraded the stock on Monday."], None),
        (["He was released on Tuesday after the arrest on Monday."], None),
        # A future cue, "last", a clause between, or the weekday far from "after".
        (["The House will vote on Thursday after the Senate acts Wednesday."], None),
        (["He left last Thursday after the vote on Wednesday."], None),
        (["On Thursday, hours after the attack, police said the suspect appeared in court Wednesday."], None),
        (["Smith said Thursday he would step down after the vote on Wednesday."], None),
    ],
)
def test_the_day_an_articles_text_runs_to(texts: list[str], expected: str | None) -> None:
    from summarizer.analysis.dates import text_runs_to

    found = text_runs_to(texts, dt.date(2017, 6, 14))  # a Wednesday
    assert (found.isoformat() if found else None) == expected


def test_an_article_updated_the_day_after_publication_dates_its_weekdays_from_that_day() -> None:
    articles = _articles(
        (
            "Scalise was still in critical condition on Thursday after a gunman opened fire Wednesday. "
            "Pence visited him on Thursday. Many previously scheduled events were canceled Wednesday.",
            "2017-06-14",
        ),
    )
    dated = [(d.ref.sentence_id, d.words, d.iso) for d in analyse(articles).timeline]
    assert dated == [
        ("s1", "Wednesday", "2017-06-14"),
        ("s3", "Wednesday", "2017-06-14"),
        ("s1", "on Thursday", "2017-06-15"),
        ("s2", "on Thursday", "2017-06-15"),
    ]


def test_a_crowded_day_gives_up_entries_before_the_storys_other_days() -> None:
    from summarizer.analysis.timeline import MAX_ENTRIES

    main_day = " ".join(f"Witness {n} spoke about the attack on Wednesday." for n in range(1, 40))
    other_days = "The suspect bought the rifle on March 3. The game went ahead on Thursday."
    (article,) = _articles((f"{other_days} {main_day}", "2017-06-15"))
    entries = analyse([article]).timeline
    assert len(entries) == MAX_ENTRIES
    assert {"2017-03-03", "2017-06-15"} <= {d.iso for d in entries}


def test_may_and_march_are_verbs_unless_a_day_follows() -> None:
    assert _iso("They may march on the capital.") == []
    assert _iso("They marched on May 3.") == ["2022-05-03"] or _iso("They marched on May 3.") == ["2021-05-03"]


def test_quantities_know_what_they_count_and_their_qualifier() -> None:
    (q,) = find_quantities("The facility held more than 5,000 ISIS members.", "a1", "s1", [])
    assert (q.words, q.unit, q.qualifier, q.exact) == ("more than 5,000", "member", "more than", False)
    (dollars,) = find_quantities("He spent $750,000 in campaign funds.", "a1", "s1", [])
    assert (dollars.unit, dollars.value) == ("dollars", 750000)
    (vague,) = find_quantities("Several inmates were killed.", "a1", "s1", [])
    assert vague.unit == "dead" and not vague.exact


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("more than 100 votes", "134 votes", True),
        ("about 300 dead", "320 dead", True),
        ("several dead", "322 dead", False),
    ],
)
def test_qualifiers_decide_whether_two_figures_agree(a: str, b: str, agree: bool) -> None:
    (qa,) = find_quantities(a, "a1", "s1", [])
    (qb,) = find_quantities(b, "a2", "s1", [])
    assert qa.agrees(qb) is agree


def test_transliterations_are_spellings_and_inflections_are_not() -> None:
    assert variants("geweran", "ghweran") and variants("hasaka", "hasakah")
    for a, b in [("democrat", "democratic"), ("democratic", "democrats"), ("republican", "republicans"),
                 ("iraq", "iraqi"), ("congress", "congressman")]:  # fmt: skip
        assert not variants(a, b), (a, b)
    uses = [*name_uses("Justice Scalia wrote the opinion on the court.", "a1", "s1"),
            *name_uses("Rep. Scalise was shot at the baseball practice.", "a2", "s1")]  # fmt: skip
    assert spelling_groups(uses) == []  # similar names in unlike contexts are two people


def _articles(*bodies: tuple[str, str | None]) -> list:  # type: ignore[type-arg]
    docs = [Document(title=f"T{i}", text=body, origin=f"t{i}", published=pub) for i, (body, pub) in enumerate(bodies)]
    return prepare(docs)


def _kinds(articles: list) -> dict[str, list[list[str]]]:  # type: ignore[type-arg]
    found: dict[str, list[list[str]]] = {}
    for f in analyse(articles).discrepancies:
        found.setdefault(f.kind, []).append([s.value for s in f.sides])
    return found


def test_each_discrepancy_kind_on_small_texts() -> None:
    articles = _articles(
        (
            "Kurdish-led forces said on Thursday that they thwarted a prison break at the Geweran prison.\n\n"
            "Several inmates were killed, residents said.\n\n"
            "Prison officials in Hasakah told Al-Monitor that the group offers large sums of money to poor young men.",
            "2022-01-22",
        ),
        (
            "Detainees led an attack on the prison in the Ghweran neighborhood on Friday, January 21st.\n\n"
            "The death toll from the prison break has reached 322.\n\n"
            "Among them are 246 members, 79 guards and seven civilians.\n\n"
            "A number of prisoners managed to escape from the Ghweran prison during the break.\n\n"
            "The Al-Monitor website commented that the group offers large sums of money to poor young men.",
            "2022-01-22",
        ),
    )
    kinds = _kinds(articles)
    assert ["Geweran", "Ghweran"] in kinds["spelling"]
    assert kinds["arithmetic"] == [["322", "246 + 79 + seven = 332"]]
    assert kinds["date"] == [["2022-01-20 (on Thursday)", "2022-01-21 (Friday, January 21st)"]]
    assert kinds["outcome"] == [["thwarted", "managed to escape"]]
    assert ["Several", "322"] in kinds["figure"]
    assert kinds["attribution"] == [["Prison officials in Hasakah", "Al-Monitor website"]]


def test_like_texts_with_different_things_counted_are_no_discrepancy() -> None:
    articles = _articles(
        ("Pelosi won 134 votes in the caucus election on Wednesday.\n\nDemocrats gained six seats.", "2016-11-30"),
        ("Ryan received 63 votes in the caucus election on Wednesday.\n\nThe Democrats gained 6 seats.", "2016-11-30"),
    )
    assert _kinds(articles) == {}


def test_the_seed_brief_has_typed_cited_discrepancies_and_a_dated_timeline() -> None:
    brief = brief_articles(prepare(load([str(ROOT / "examples/hasakah")])))
    kinds = {d.kind for d in brief.discrepancies}
    assert {"spelling", "arithmetic", "date", "outcome"} <= kinds
    for d in brief.discrepancies:
        for side in d.sides:
            assert side.value and side.citations and side.origin == "analysis"
            article = next(a for a in brief.articles if a.id == side.citations[0].article_id)
            c = side.citations[0]
            assert article.text[c.start : c.end] == c.text
    thursday = next(t for t in brief.timeline if "Thursday" in t.date and t.citations[0].sentence_id == "s4")
    assert (thursday.iso, thursday.resolution) == ("2022-01-20", "relative")
    dated = [t.iso.split("/")[0] for t in brief.timeline if t.iso]
    assert dated == sorted(dated)


def test_names_wording_plans_and_listed_prices_on_small_texts() -> None:
    articles = _articles(
        (
            "David Brat, an economics professor, won the primary.\n\n"
            "The campaign bought a $43,350 gold Rolex watch and a $9,587 sofa.\n\n"
            "Sandra Jackson pleaded guilty to filing false tax returns on Wednesday.\n\n"
            "The plan protects some undocumented immigrants.\n\n"
            "Pelosi has led House Democrats since 2002, the caucus said.",
            "2013-02-20",
        ),
        (
            "Dave Brat, a professor of economics, won the primary.\n\n"
            "Purchases included a $43,000 Rolex watch.\n\n"
            "Sandra Jackson is expected to plead guilty to filing false tax returns on Wednesday.\n\n"
            "The plan protects illegal immigrants.\n\n"
            "Pelosi has led House Democrats since 2003, the caucus said.",
            "2013-02-20",
        ),
    )
    kinds = _kinds(articles)
    assert ["David Brat", "Dave Brat"] in kinds["name"]
    assert ["undocumented immigrants", "illegal immigrants"] not in kinds["name"]  # sides in TERMS order
    assert ["illegal immigrants", "undocumented immigrants"] in kinds["name"]
    assert ["$43,350", "$43,000"] in kinds["figure"]
    assert ["pleaded guilty", "is expected to plead guilty"] in kinds["outcome"]
    assert any(sides[0].endswith("(since 2002)") and sides[1].endswith("(since 2003)") for sides in kinds["date"])


def test_a_figure_next_to_a_place_the_other_article_never_names_is_another_event() -> None:
    articles = _articles(
        ("The death toll from the prison attack in Hasakah has reached 322.", "2022-01-22"),
        ("The attack in Hasakah coincided with an attack in Diyala where 11 soldiers were killed.", "2022-01-22"),
    )
    assert "figure" not in _kinds(articles)


def test_one_post_credited_to_two_people_and_a_succession_in_one_article() -> None:
    two_sources = _articles(
        ("He settled with Lauren Greene, his former communications director.", "2018-04-06"),
        ("Farenthold's former communications director, Michael Rekola, described the office.", "2018-04-06"),
    )
    assert _kinds(two_sources)["name"] == [["Lauren Greene", "Michael Rekola"]]
    one_source = _articles(
        ("Her former chief of staff, Ann Lee, left; her new chief of staff, Bo Park, starts Monday.", "2018-04-06"),
        ("The office has a new chief of staff.", "2018-04-06"),
    )
    assert "name" not in _kinds(one_source)


def test_a_plea_named_differently_a_relative_by_first_name_and_a_negated_framing() -> None:
    articles = _articles(
        (
            "Jesse Jackson Jr. pleaded guilty on Wednesday to one felony fraud count.\n\n"
            "Mr. Jackson's wife, Sandi, was in court.\n\n"
            "Republicans said the deal was a surrender by the president on the wall.",
            "2013-02-20",
        ),
        (
            "Jackson's plea was to a conspiracy charge.\n\n"
            "His wife, Sandra Jackson, was in court.\n\n"
            "The president said Republicans will not cave on the wall.",
            "2013-02-20",
        ),
    )
    kinds = _kinds(articles)
    assert kinds["outcome"] == [["fraud", "conspiracy"]]  # "will not cave" is no climb-down
    assert ["Sandi", "Sandra Jackson"] in kinds["name"]


def test_one_act_credited_to_two_doers_but_not_to_one_named_more_fully() -> None:
    two = _articles(
        (
            "The car bomb near the prison in Hasakah was conducted by ISIS sleeper cells, a spokesman said.",
            "2022-01-22",
        ),
        ("ISIS detainees led an attack on the prison in Hasakah on Friday, a spokesman said.", "2022-01-22"),
    )
    assert _kinds(two)["attribution"] == [["ISIS sleeper cells", "ISIS detainees"]]
    one = _articles(
        (
            "The car bomb near the prison in Hasakah was conducted by ISIS sleeper cells, a spokesman said.",
            "2022-01-22",
        ),
        ("ISIS led an attack on the prison in Hasakah on Friday, a spokesman said.", "2022-01-22"),
    )
    assert "attribution" not in _kinds(one)


def test_a_models_timeline_date_is_placed_from_its_own_sentence_or_left_unresolved() -> None:
    from summarizer.schemas import TimelineEntry

    from summarizer.analysis.sections import Sentences, resolve_entry

    articles = prepare(load([str(ROOT / "examples/hasakah")]))
    sentences = Sentences(articles)
    thursday = sentences.citation(Ref("a1", "s4"))
    placed = resolve_entry(TimelineEntry(date="Thursday", text="Forces said so.", citations=[thursday]), sentences)
    assert (placed.iso, placed.resolution) == ("2022-01-20", "relative")
    elsewhere = TimelineEntry(date="March 3", text="Forces said so.", citations=[thursday])
    assert (resolve_entry(elsewhere, sentences).iso, resolve_entry(elsewhere, sentences).resolution) == (
        None,
        "unresolved",
    )


def test_an_increment_is_not_a_count() -> None:
    assert [q.unit for q in find_quantities("Divers recovered seven more bodies on Monday.", "a1", "s1", [])] == [""]
    assert [q.unit for q in find_quantities("Seven bodies were recovered, officials said.", "a1", "s1", [])] != [""]


def test_disagreements_over_one_figure_or_day_are_one_discrepancy_with_a_side_per_value() -> None:
    articles = _articles(
        ("The ferry capsized off Keldon Point on Sunday night.\n\nIt was carrying about 140 passengers.", "2026-03-02"),
        ("The ferry capsized off Keldon Point on Sunday night.\n\nIt was carrying about 140 passengers.", "2026-03-02"),
        ("The ferry capsized off Keldon Point on Saturday night.\n\nIt was carrying 160 passengers.", "2026-03-03"),
    )
    found = analyse(articles).discrepancies
    dates = [d for d in found if d.kind == "date"]
    assert len(dates) == 1 and [s.value for s in dates[0].sides] == [
        "2026-03-01 (on Sunday)",
        "2026-02-28 (on Saturday)",
    ]
    assert [r.article_id for r in dates[0].sides[0].refs] == ["a1", "a2"]


def test_a_day_both_sentences_give_to_one_actor_is_no_date_discrepancy() -> None:
    articles = _articles(
        ("A ferry capsized off Keldon Point on Sunday night, the harbour authority said.", "2026-03-02"),
        (
            "The ferry that capsized off Keldon Point on Sunday has lost 19 people, officials said on Monday.",
            "2026-03-02",
        ),
    )
    assert "date" not in _kinds(articles)


def test_a_place_spelled_two_ways_is_a_spelling_not_a_person_with_two_first_names() -> None:
    articles = _articles(
        ("A ferry capsized off Keldon Point on Sunday night, near the harbour.", "2026-03-02"),
        ("The ferry capsized off Keldan Point on Sunday night, near the harbour.", "2026-03-02"),
    )
    kinds = _kinds(articles)
    assert "name" not in kinds and ["Keldon", "Keldan"] in [sorted(v, reverse=True) for v in kinds["spelling"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The vote came YESTERDAY.", ["2022-01-21"]),  # a case-blind finder sees any case
        ("The vote came last wee\u212a.", ["2022-01-10/2022-01-16"]),  # Kelvin K: re.IGNORECASE reads it as k
        ("Nothing here names a day.", []),
    ],
)
def test_each_date_finder_skips_only_sentences_it_cannot_match(text: str, expected: list[str]) -> None:
    assert _iso(text) == expected


def test_a_figure_in_words_is_read_and_a_sentence_with_no_digit_or_number_word_is_skipped() -> None:
    assert [q.words for q in find_quantities("Seven people were hurt.", "a1", "s1", [])] == ["Seven"]
    assert [q.words for q in find_quantities("SEVERAL people were hurt.", "a1", "s1", [])] == ["SEVERAL"]
    assert find_quantities("People were hurt.", "a1", "s1", []) == []


@pytest.mark.parametrize(
    ("first", "second", "worded"),
    [
        # Each names someone the other does not, so neither sentence is the point; a shared run of content words
        # (and five shared content words in all) words it.
        (
            "Mayor Elin Voss said rescue crews searched the flooded lower valley overnight.",
            "Chief Aro Tane said rescue crews searched the flooded lower valley for days.",
            True,
        ),
        # Five shared content words, but scattered, no two running together: not a point anyone made.
        (
            "Mayor Elin Voss said the valley is calm, the crews are tired, the rescue is over, the dogs are home and "
            "the river is low.",
            "Chief Aro Tane says in the valley all crews left as the rescue ended, the dogs slept and the river fell.",
            False,
        ),
        # A figure both give with what it counts, and one more shared word: three content words make the point.
        (
            "The mayor of Orlo had asked for $4.2 billion for a new harbour wall before the storm.",
            "Critics in Pell say the governor wanted $4.2 billion to build the wall they oppose.",
            True,
        ),
        # The same three shared words, without the figure: too few to be a point.
        (
            "The mayor of Orlo had asked for four new cranes for a harbour wall before the storm.",
            "Critics in Pell say the governor wanted new cranes to build the wall they oppose.",
            False,
        ),
        # "9/11" names a day, it is not a count: the figure rule does not apply to "9/11 families waited".
        (
            "Senator Marr said the 9/11 families waited for the vote.",
            "Governor Lisle said the 9/11 families waited in vain.",
            False,
        ),
        # A day is not a count: "was shot on June 14" does not make two shootings one point.
        (
            "Scalise was shot on June 14 at the field.",
            "Officer Griner said the gunman was shot on June 14.",
            False,
        ),
        # With a count in its place, the same sentences make a point.
        (
            "Senator Marr said the 900 families waited for the vote.",
            "Governor Lisle said the 900 families waited in vain.",
            True,
        ),
    ],
)
def test_a_consensus_point_worded_by_shared_words_needs_a_run_of_them(first: str, second: str, worded: bool) -> None:
    from summarizer.analysis import Agreement, Analysis
    from summarizer.analysis.sections import Sentences, consensus

    articles = _articles((first, "2026-03-02"), (second, "2026-03-02"))
    point = Agreement(refs=(Ref("a1", "s1"), Ref("a2", "s1")), values=(), score=2.0)
    shipped, dropped = consensus(Analysis(consensus=[point]), Sentences(articles))
    assert dropped == []
    assert [c.text.startswith("reported alike: …") for c in shipped] == ([True] if worded else [])


def test_a_calendar_day_several_articles_give_alone_anchors_a_consensus_point() -> None:
    """One shared rare word is a coincidence as often as a point, but a resolved day (here written two ways) in
    sentences of both articles that say much alike is what a figure is: an anchor on its own."""
    articles = _articles(
        ("The stopgap keeps the government open until Feb. 15 while talks go on.", "2026-01-26"),
        ("The stopgap funds the government through February 15, aides said.", "2026-01-26"),
    )
    points = analyse(articles).consensus
    assert [[f"{r.article_id}.{r.sentence_id}" for r in p.refs] for p in points] == [["a1.s1", "a2.s1"]]
    assert "@2026-02-15" in points[0].values


def test_two_things_that_happened_the_same_day_are_no_consensus() -> None:
    articles = _articles(
        ("The senator resigned on June 14 after the report.", "2026-06-20"),
        ("Protesters gathered outside the capitol on June 14 for a vigil.", "2026-06-20"),
    )
    assert analyse(articles).consensus == []
