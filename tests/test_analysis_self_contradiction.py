"""An article that counts one thing twice with values no qualifier reconciles: a figure finding within one article,
and the many ways two counts in one article are two things rather than one misstated."""

from __future__ import annotations

import pytest

from summarizer.analysis import Finding, Ref, analyse
from summarizer.extractive import brief_articles
from summarizer.load import Document
from summarizer.segment import Article, prepare

AGENTS = (
    "More than a dozen agents searched the farmhouse of Mayor Tom Reddan on Friday.",
    "“At dawn, 29 agents came to my farmhouse,” Reddan said.",
)
FERRY = (
    "The Northern Light ferry was carrying about 140 passengers when it sank off Corran Head.",
    "The Northern Light had 160 passengers aboard, the coastguard said.",
)
BUS = (
    "About 12 people died when the bus overturned near Carrow.",
    "Officials said 19 people died when the bus overturned.",
)


def _article(*sentences: str) -> list[Article]:
    return prepare([Document(title="T0", text="\n\n".join(sentences), origin="t0", published="2025-03-08")])


def _figures(*sentences: str) -> list[Finding]:
    return [f for f in analyse(_article(*sentences)).discrepancies if f.kind == "figure"]


@pytest.mark.parametrize(
    ("sentences", "values", "unit"),
    [
        (AGENTS, ["More than a dozen", "29"], "agent"),
        (FERRY, ["about 140", "160"], "passenger"),
        (BUS, ["About 12", "19"], "dead"),
    ],
)
def test_one_article_giving_two_counts_of_one_thing_contradicts_itself(
    sentences: tuple[str, str], values: list[str], unit: str
) -> None:
    (finding,) = _figures(*sentences)
    assert [side.value for side in finding.sides] == values
    assert [side.refs for side in finding.sides] == [(Ref("a1", "s1"),), (Ref("a1", "s2"),)]
    assert finding.topic == f"How many ({unit}): {values[0]} vs {values[1]}"
    assert finding.note and finding.note.startswith(f"a1 gives both {values[0]} (a1.s1) and {values[1]} (a1.s2)")
    assert "contradicts itself" in finding.note


def test_the_finding_ships_in_the_brief_with_each_side_citing_its_own_sentence() -> None:
    articles = _article("Rescue crews worked through the night.", *FERRY)
    brief = brief_articles(articles)
    assert not [d for d in brief.dropped if d.where.startswith("analysis.discrepancies")]
    (item,) = [d for d in brief.discrepancies if d.kind == "figure"]
    for side, sentence in zip(item.sides, FERRY, strict=True):
        (citation,) = side.citations
        assert citation.text == sentence and side.value in citation.text
        assert articles[0].text[citation.start : citation.end] == citation.text


@pytest.mark.parametrize(
    "sentences",
    [
        # the ranges meet: "at least 12" allows 19
        ("At least 12 people died when the bus overturned near Carrow.", BUS[1]),
        # a count the article says changes
        (BUS[0], "Officials said the number of people who died had risen to 19."),
        (BUS[0], "Officials said 19 people who died had been on the bus."),
        (BUS[0], "By the latest count, 19 people died when the bus overturned."),
        (
            "About 12 people died on Sunday when the bus overturned near Carrow.",
            "Officials said 19 people died on Monday.",
        ),
        # an addition, not the count
        (BUS[0], "Officials said another 19 people died when the bus overturned."),
        (BUS[0], "Rescuers found seven more bodies in the river."),
        # a part and its total
        (FERRY[0], "Of them, 60 passengers were rescued by the coastguard."),
        (FERRY[0], "The coastguard said 160 passengers were rescued."),
        ("The camp held around 5,000 members of the militia.", "Officials said 246 members slept in the east wing."),
        ("More than 100 people died in the floods this year.", "On Tuesday, 40 people died in Carrow."),
        # different things counted
        (FERRY[0], "The Northern Light had 160 cars aboard, the coastguard said."),
        ("About 140 passengers boarded the ferry at Corran.", "Another ferry took 160 passengers from Tully."),
        ("About 140 passengers boarded the ferry at Corran.", "The ferry took 160 passengers from Tully."),
        ("About 30 Kurdish fighters guarded the camp.", "The camp was guarded by 12 fighters."),
        (FERRY[0], "The Northern Light can carry 160 passengers, the coastguard said."),
        # gains and losses, not counts
        ("The party lost nearly 60 seats over six years.", "It picked up 45 seats in this election."),
        # sums of money an article lists for several things
        ("The campaign spent about $140,000 on travel.", "It spent $160,000 on a watch and furniture."),
    ],
)
def test_two_counts_that_are_two_things_or_two_moments_are_no_finding(sentences: tuple[str, str]) -> None:
    assert _figures(*sentences) == []


def test_two_exact_values_or_a_third_count_of_the_thing_are_no_finding() -> None:
    assert _figures("Twelve agents searched the farmhouse of Mayor Tom Reddan.", AGENTS[1]) == []
    assert _figures(*AGENTS, "Reddan's lawyer said 40 agents took part.") == []


def test_two_articles_are_left_to_the_cross_source_comparison() -> None:
    docs = [Document(title=f"T{i}", text=s, origin=f"t{i}", published="2025-03-08") for i, s in enumerate(FERRY)]
    findings = [f for f in analyse(prepare(docs)).discrepancies if f.kind == "figure"]
    assert all("contradicts itself" not in (f.note or "") for f in findings)
