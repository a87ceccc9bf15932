"""Consensus points on small invented texts: a sentence that negates what another asserts is no agreement,
a negation both sentences share is, and a calendar day both name anchors a point."""

from __future__ import annotations

import pytest

from summarizer.analysis import Ref, analyse
from summarizer.analysis.negation import contradicts
from summarizer.analysis.text import stems
from summarizer.load import Document
from summarizer.segment import Article, prepare

WARNED = "Harbour master Ilse Marr said the Tern ferry had sailed despite a storm warning."
UNWARNED = "Harbour master Ilse Marr said the Tern ferry left port before any storm warning was issued."
ALSO_WARNED = "The Tern ferry sailed even though a storm warning was in force, harbour master Ilse Marr said."


def _event(claim: str, other: str) -> list[Article]:
    return _articles(f"A ferry capsized off Corran Head.\n\n{claim}", f"Rescuers searched all night.\n\n{other}")


def _articles(*bodies: str) -> list[Article]:
    docs = [Document(title=f"T{i}", text=body, origin=f"t{i}", published="2025-03-08") for i, body in enumerate(bodies)]
    return prepare(docs)


def _paired(articles: list[Article], first: str, second: str) -> bool:
    """Whether a consensus point cites the sentence ``first`` of the first article and ``second`` of the second."""
    want = {_ref(articles[0], first), _ref(articles[1], second)}
    return any(want <= set(point.refs) for point in analyse(articles).consensus)


def _ref(article: Article, text: str) -> Ref:
    return next(Ref(article.id, s.id) for s in article.citable if s.text == text)


def test_a_sentence_denying_the_shared_claim_is_no_agreement() -> None:
    assert not _paired(_event(WARNED, UNWARNED), WARNED, UNWARNED)


def test_the_same_claim_in_other_words_is_still_agreement() -> None:
    assert _paired(_event(WARNED, ALSO_WARNED), WARNED, ALSO_WARNED)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "No one was hurt when the Tern ferry struck the Calloway pier, the harbour office said.",
            "Nobody was injured when the Tern ferry struck the Calloway pier on Sunday.",
        ),
        (
            "No passengers were hurt when the Tern ferry struck the Calloway pier, the harbour office said.",
            "No passengers were injured when the Tern ferry struck the Calloway pier on Sunday.",
        ),
    ],
)
def test_a_negation_both_sentences_make_is_agreement(first: str, second: str) -> None:
    assert _paired(_articles(first, second), first, second)


@pytest.mark.parametrize(
    ("a", "b", "opposed"),
    [
        (WARNED, UNWARNED, True),  # "despite" asserts the warning, "before any" denies it
        ("The mayor resigned over the audit.", "The mayor has not resigned over the audit.", True),
        ("The mayor never resigned over the audit.", "The mayor did not resign over the audit.", False),
        ("Voss kept the No. 2 post of harbour whip.", "Voss stayed on as harbour whip.", False),  # a rank, no denial
        ("Had it not been for Ilse Marr, the ferry would have sunk.", "Ilse Marr saved the ferry.", False),  # a name
    ],
)
def test_contradicts_reads_a_negation_only_before_shared_content(a: str, b: str, opposed: bool) -> None:
    assert contradicts(a, b, stems(a) & stems(b)) is opposed


def test_a_calendar_day_both_sentences_name_anchors_a_point() -> None:
    first = "The Brannock mill will reopen on March 14, its owners said."
    second = "Workers expect to return to the mill on 14 March."
    articles = _articles(f"Storms closed the valley road.\n\n{first}", f"The river has fallen.\n\n{second}")
    assert _paired(articles, first, second)


def test_a_shared_figure_ranks_above_shared_words_alone() -> None:
    figure = ("Pumps drained 4,700 tonnes at Corran.", "Corran crews removed 4,700 tonnes.")
    words = ("Divers inspected the Brannock keel.", "Brannock divers checked the keel.")
    articles = _articles(f"{figure[0]}\n\n{words[0]}", f"{figure[1]}\n\n{words[1]}")
    points = analyse(articles).consensus
    first = {_ref(articles[0], figure[0]), _ref(articles[1], figure[1])}
    assert points and set(points[0].refs) == first
