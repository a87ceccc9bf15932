"""Value and statement matching: near-misses of numbers and spellings must not match."""

from __future__ import annotations

import pytest

from summarizer.evaluate.matching import assign, similarity, states, states_all
from summarizer.evaluate.score import FACT_SIMILARITY


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("5,000", "around 5000 ISIS members"),
        ("5,000", "five thousand ISIS members"),
        ("seven", "and 7 civilians"),
        ("January 21", "on Friday, January 21st"),
        ("January 21", "on 21 Jan. the prison"),
        ("Friday", "on Fri. the prison"),
        ("al-Sina'a", "in Sina’a prison"),
        ("Mustafa al-Kadhimi", "the premier Mustafa Al-Kadhimi"),
        ("escape", "prisoners escaped"),
        ("car bomb", "a bomb in a car"),
    ],
)
def test_values_stated_in_other_words_match(value: str, text: str) -> None:
    assert states(value, text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("5,000", "around 5,500 ISIS members"),
        ("322", "a toll of 332"),
        ("January 21", "on January 22"),
        ("Ghweran", "the Geweran prison"),
        ("Hasaka", "in Hasakah city"),
        ("Hasakeh", "in Hasakah city"),
        ("Thursday", "on Tuesday"),
        ("thwarted", "they fled"),
    ],
)
def test_near_misses_do_not_match(value: str, text: str) -> None:
    assert not states(value, text)


def test_every_value_group_is_required_and_any_variant_counts() -> None:
    groups = [["al-Taji"], ["al-Kefl", "al-Kifl"]]
    assert states_all(groups, "prisons of al-Taji and al-Kifl")
    assert not states_all(groups, "the prison of al-Taji")


def test_similarity_ignores_order_function_words_and_number_spelling() -> None:
    assert similarity("5,000 members were held", "held were five thousand members") == 1.0
    assert similarity("The death toll reached 322.", "death toll reached 322") == 1.0
    unrelated = similarity("The death toll reached 322.", "Heras said the group needs fighters.")
    assert unrelated < FACT_SIMILARITY - 0.2


def test_assign_is_one_to_one_and_never_loses_a_pair_to_greedy_order() -> None:
    # Greedy would pair 0-0 (best score) and leave 1 unpaired; the best pairing keeps both.
    pairs = assign({(0, 0): 0.9, (0, 1): 0.8, (1, 0): 0.7})
    assert {(p.pred, p.gold) for p in pairs} == {(0, 1), (1, 0)}
    # Among equally large pairings the higher scores win.
    pairs = assign({(0, 0): 0.9, (0, 1): 0.6, (1, 0): 0.5, (1, 1): 0.95})
    assert {(p.pred, p.gold) for p in pairs} == {(0, 0), (1, 1)}
    assert assign({}) == []
