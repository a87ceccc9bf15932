"""The --compare gate on scripted runs: it fails a clear regression, passes an identical run, and says
"no evidence of a change" when per-case differences are noise (mixed signs)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from summarizer.evaluate.compare import BETTER, NO_EVIDENCE, WORSE, Gate, compare
from summarizer.evaluate.metrics import Counts, compute, total
from summarizer.evaluate.run import RunResult
from summarizer.evaluate.score import CaseScore

GOLD = 20


def _score(case_id: str, matched: int, repeat: int = 0, reasks: int = 0) -> CaseScore:
    # Every predicted fact is right, so only recall moves with ``matched``.
    counts = Counts(
        articles=3, gold_facts=GOLD, predicted_facts=matched, matched_facts=matched, answers=4, reasks=reasks
    )
    return CaseScore(
        case_id=case_id,
        counts=counts,
        metrics=compute(counts),
        articles=[],
        brief=Counts(),
        consensus=[],
        discrepancies=[],
        repeat=repeat,
    )


def _run(label: str, matched: Sequence[int] | Sequence[Sequence[int]], reasks: Sequence[int] = ()) -> RunResult:
    """A run whose case i matched ``matched[i]`` of 20 gold facts (a list per case: one value per repeat)."""
    scores = []
    for i, m in enumerate(matched):
        runs = [m] if isinstance(m, int) else list(m)
        for r, value in enumerate(runs):
            scores.append(_score(f"case{i}", value, r, reasks[i] if reasks else 0))
    counts = total(s.counts for s in scores)
    repeats = max(s.repeat for s in scores) + 1
    return RunResult(
        label=label,
        engine="llm",
        provider="scripted",
        model="m",
        wall_seconds=0.0,
        counts=counts,
        metrics=compute(counts),
        cases=scores,
        repeats=repeats,
    )


A = [16, 15, 17, 14, 16, 18, 15, 16, 17, 14, 15, 16]  # twelve cases, fact recall 0.70-0.90


def _row(a: RunResult, b: RunResult, metric: str = "fact_recall", **gate: object):  # type: ignore[no-untyped-def]
    comparison = compare(a, b, Gate.from_options(**gate))  # type: ignore[arg-type]
    return comparison, next(r for r in comparison.rows if r.metric == metric)


def test_a_clear_regression_across_many_cases_fails() -> None:
    worse = [m - d for m, d in zip(A, [5, 4, 6, 3, 5, 6, 4, 5, 4, 3, 5, 4], strict=True)]
    comparison, row = _row(_run("A", A), _run("B", worse))
    assert not comparison.passed and comparison.regressions == ["fact_recall"]
    assert row.verdict == WORSE and row.cases == 12
    assert row.delta == pytest.approx(-54 / 12 / GOLD)
    assert row.low is not None and row.high is not None
    assert row.low <= row.delta <= row.high < -0.02
    assert "fact_recall" in comparison.failure_line()


def test_an_identical_run_passes_with_a_zero_width_difference() -> None:
    comparison, row = _row(_run("A", A), _run("B", A))
    assert comparison.passed and not comparison.regressions
    assert (row.delta, row.low, row.high) == (0.0, 0.0, 0.0)
    assert row.verdict == NO_EVIDENCE
    assert "gate passed" in comparison.verdict_line()


def test_noise_of_mixed_sign_is_no_evidence_of_a_change() -> None:
    # Per-case differences -4 .. +3 of 20: a mean of -0.5 facts (-0.025), more than the tolerance, but noise.
    noisy = [m + d for m, d in zip(A, [-4, 3, -3, 2, -2, 3, -4, 1, -1, 2, -3, 0], strict=True)]
    comparison, row = _row(_run("A", A), _run("B", noisy))
    assert row.delta == pytest.approx(-6 / 12 / GOLD)
    assert row.low is not None and row.high is not None and row.low < -0.02 < 0.0 < row.high
    assert row.verdict == NO_EVIDENCE and comparison.passed
    # The old tolerance gate reads the same runs as a regression: the difference of the totals is past 0.02.
    old, old_row = _row(_run("A", A), _run("B", noisy), mode="tolerance")
    assert not old.passed and old_row.verdict == WORSE and old.mode == "tolerance"


def test_a_clear_improvement_is_better_and_passes() -> None:
    better = [min(m + 3, GOLD) for m in A]
    comparison, row = _row(_run("A", A), _run("B", better))
    assert comparison.passed and row.verdict == BETTER
    assert "better on fact_recall" in comparison.verdict_line()


def test_a_lower_is_better_metric_fails_when_it_rises() -> None:
    more = [3, 4, 2, 3, 5, 4, 3, 2, 4, 3, 3, 4]
    comparison, row = _row(_run("A", A), _run("B", A, reasks=more), "reasks", overrides=["reasks=1"])
    assert row.verdict == WORSE and comparison.regressions == ["reasks"]
    ungated, row = _row(_run("A", A), _run("B", A, reasks=more), "reasks")
    assert ungated.passed and row.tolerance is None and row.verdict == WORSE  # shown, not gated


def test_a_wide_tolerance_lets_a_regression_through() -> None:
    worse = [m - 2 for m in A]  # -0.1 in every case
    strict, _ = _row(_run("A", A), _run("B", worse))
    lenient, row = _row(_run("A", A), _run("B", worse), overrides=["fact_recall=0.15"])
    assert (strict.passed, lenient.passed) == (False, True)
    assert row.verdict == NO_EVIDENCE and row.tolerance == 0.15


def test_repeated_runs_widen_the_interval_of_the_difference() -> None:
    steady_a = _run("A", [[m, m, m] for m in A])
    steady_b = _run("B", [[m - 1, m - 1, m - 1] for m in A])
    _, steady = _row(steady_a, steady_b, tolerance=0.0)
    assert steady.low == pytest.approx(-1 / GOLD) and steady.high == pytest.approx(-1 / GOLD)  # one fact fewer
    assert steady.verdict == WORSE
    shaky_b = _run("B", [[m - 5, m, m + 3] for m in A])  # the same mean drop, one fact and a bit, run to run
    _, shaky = _row(steady_a, shaky_b, tolerance=0.0)
    assert shaky.low is not None and shaky.high is not None and shaky.low < -1 / GOLD < shaky.high
    assert shaky.high > 0 and shaky.verdict == NO_EVIDENCE


def test_one_case_falls_back_to_the_point_difference() -> None:
    comparison, row = _row(_run("A", [16]), _run("B", [10]))
    assert row.low is None and row.high is None and row.verdict == WORSE
    assert not comparison.passed and comparison.note is not None and "one case" in comparison.note


def test_the_gate_is_reproducible() -> None:
    noisy = [m + d for m, d in zip(A, [-4, 3, -3, 2, -2, 3, -4, 1, -1, 2, -3, 0], strict=True)]
    first = compare(_run("A", A), _run("B", noisy), Gate.from_options())
    again = compare(_run("A", A), _run("B", noisy), Gate.from_options())
    assert first == again
