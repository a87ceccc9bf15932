"""Averages and confidence intervals across cases: seeded, honest about one case, right on known values."""

from __future__ import annotations

import pytest

from summarizer.evaluate.intervals import (
    ONE_CASE,
    CaseGroup,
    bootstrap_micro,
    group_cases,
    item_interval,
    percentile_interval,
    summarize,
    wilson,
)
from summarizer.evaluate.metrics import Counts


def _case(case_id: str, matched: int, gold: int = 10, **more: int) -> CaseGroup:
    return CaseGroup(case_id=case_id, runs=[Counts(gold_facts=gold, matched_facts=matched, **more)])


CASES = [_case(f"c{i}", m, gold=10 + i) for i, m in enumerate([2, 9, 5, 7, 3, 8, 6, 4])]


def test_micro_sums_counts_and_macro_averages_cases() -> None:
    groups = [_case("big", 90, gold=100), _case("small", 0, gold=10)]
    summary = summarize(groups)["fact_recall"]
    assert summary.micro == pytest.approx(90 / 110)
    assert summary.macro == pytest.approx((0.9 + 0.0) / 2)
    assert summary.cases == 2


def test_a_case_where_the_metric_is_na_is_left_out_of_the_macro_average() -> None:
    groups = [_case("a", 5, predicted_discrepancies=4, correct_discrepancies=1), _case("b", 5)]
    summary = summarize(groups)["discrepancy_precision"]
    assert summary.micro == 0.25 and summary.macro == 0.25 and summary.cases == 1


def test_the_bootstrap_is_deterministic_with_its_seed_and_varies_without_it() -> None:
    first = bootstrap_micro(CASES, seed=7)["fact_recall"]
    again = bootstrap_micro(CASES, seed=7)["fact_recall"]
    other = bootstrap_micro(CASES, seed=8)["fact_recall"]
    assert first is not None and other is not None
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)


def test_the_interval_contains_the_point_estimate_and_lies_within_the_cases() -> None:
    summary = summarize(CASES)["fact_recall"]
    assert summary.interval is not None and summary.micro == pytest.approx(44 / 108)
    assert summary.interval.contains(summary.micro)
    assert 2 / 10 <= summary.interval.low < summary.micro < summary.interval.high <= 9 / 11  # the case values' range
    assert summary.interval.method == "bootstrap over cases"


def test_cases_that_agree_give_a_zero_width_interval() -> None:
    interval = bootstrap_micro([_case(f"c{i}", 6) for i in range(5)])["fact_recall"]
    assert interval is not None and interval.low == interval.high == pytest.approx(0.6)


def test_one_case_has_no_interval_over_cases_and_says_so() -> None:
    summary = summarize([_case("only", 6)])["fact_recall"]
    assert summary.micro == 0.6 and summary.interval is None
    assert summary.note == ONE_CASE


def test_repeated_runs_of_a_case_are_resampled_too() -> None:
    steady = group_cases([(f"c{i}", Counts(gold_facts=10, matched_facts=5)) for i in range(4)] * 3)
    assert [len(g.runs) for g in steady] == [3, 3, 3, 3]
    still = bootstrap_micro(steady)["fact_recall"]
    assert still is not None and still.low == still.high == 0.5
    noisy = group_cases(
        [(f"c{i}", Counts(gold_facts=10, matched_facts=m)) for m in (2, 8) for i in range(4)]
    )  # each case: one run at 0.2, one at 0.8
    interval = bootstrap_micro(noisy)["fact_recall"]
    assert interval is not None and interval.low < 0.5 < interval.high


def test_wilson_matches_the_textbook_values() -> None:
    # 5 of 10: Wilson 95 % interval 0.2366 .. 0.7634 (Newcombe 1998, method 3).
    interval = wilson(5, 10)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    full = wilson(10, 10)
    assert full is not None and full.high == pytest.approx(1.0) and full.low == pytest.approx(0.7225, abs=1e-4)
    assert wilson(0, 0) is None


def test_a_case_interval_is_over_its_items() -> None:
    interval = item_interval("fact_recall", _case("c", 5))
    assert interval is not None and interval.method == "Wilson over items"
    assert (interval.low, interval.high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert item_interval("reasks", _case("c", 5)) is None


def test_percentile_interval_interpolates_between_order_statistics() -> None:
    values = [float(v) for v in range(101)]  # 0 .. 100
    assert percentile_interval(values) == pytest.approx((2.5, 97.5))
