"""Averages across cases and 95 % confidence intervals: a bootstrap over cases, a Wilson interval over items.

Cases are the unit for the overall numbers: the facts, discrepancies and dates of one cluster are
read from the same few articles, so their hits and misses are correlated, and a new cluster is
what the next run meets. The bootstrap resamples cases with replacement (and, for a repeated
stochastic run, one of each case's runs), recomputes the micro metric from the summed counts,
and takes the 2.5th and 97.5th percentiles. Within one case the items are the only unit there
is; its interval is Wilson's score interval for a proportion, which treats them as independent
and so is the narrower, optimistic one. Everything is seeded, so a report is reproducible.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from summarizer.evaluate.metrics import RATIOS, Counts, compute, fraction, total

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20260115
LEVEL = 0.95
_Z = 1.959963984540054  # the normal quantile for a two-sided 95 % interval
ONE_CASE = "one case: an interval over cases is not meaningful"


class Interval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low: float
    high: float
    method: Literal["bootstrap over cases", "Wilson over items"]

    def contains(self, value: float) -> bool:
        return self.low - 1e-12 <= value <= self.high + 1e-12


class Summary(BaseModel):
    """One metric of one run across its cases."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    micro: float | None
    """Counts summed over every case (and run), then divided: the run's headline number."""
    macro: float | None
    """Mean of the per-case values, cases where the metric is n/a left out."""
    cases: int
    """Cases where the metric has a value."""
    interval: Interval | None = None
    """95 % bootstrap interval of ``micro`` over cases; None with the reason in ``note``."""
    note: str | None = None


class CaseGroup(BaseModel):
    """One case's score(s): one per run of a repeated stochastic run."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    runs: list[Counts]

    @property
    def counts(self) -> Counts:
        return total(self.runs)


def group_cases(scores: Sequence[tuple[str, Counts]]) -> list[CaseGroup]:
    """``(case ID, counts)`` pairs, one per case and run, grouped by case in first-seen order."""
    groups: dict[str, list[Counts]] = {}
    for case_id, counts in scores:
        groups.setdefault(case_id, []).append(counts)
    return [CaseGroup(case_id=k, runs=v) for k, v in groups.items()]


def draws(cases: int, resamples: int, seed: int) -> Iterator[list[tuple[int, float, float]]]:
    """Bootstrap resamples of ``cases`` cases: each ``(case index, u, v)``, u and v uniform in [0, 1) to pick runs."""
    rng = random.Random(seed)
    for _ in range(resamples):
        yield [(rng.randrange(cases), rng.random(), rng.random()) for _ in range(cases)]


def pick(runs: Sequence[Counts], u: float) -> Counts:
    return runs[min(int(u * len(runs)), len(runs) - 1)]


def percentile_interval(samples: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of ``samples`` (linear interpolation between order statistics)."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        position = q * (len(ordered) - 1)
        lo = math.floor(position)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (position - lo)

    tail = (1 - level) / 2
    return at(tail), at(1 - tail)


def bootstrap_micro(
    groups: Sequence[CaseGroup], *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> dict[str, Interval | None]:
    """For each rate metric, the bootstrap interval of the micro value over cases (None with fewer than two)."""
    names = list(RATIOS)
    if len(groups) < 2:
        return dict.fromkeys(names)
    # Each case-run as its (numerator, denominator) per metric, so a resample only adds integers.
    tallies = [[[fraction(name, run) for name in names] for run in g.runs] for g in groups]
    samples: list[list[float]] = [[] for _ in names]
    for resample in draws(len(groups), resamples, seed):
        num = [0] * len(names)
        den = [0] * len(names)
        for i, u, _ in resample:
            runs = tallies[i]
            chosen = runs[min(int(u * len(runs)), len(runs) - 1)]
            for k, (n, d) in enumerate(chosen):
                num[k] += n
                den[k] += d
        for k in range(len(names)):
            if den[k]:
                samples[k].append(num[k] / den[k])
    result: dict[str, Interval | None] = {}
    for k, name in enumerate(names):
        if not samples[k]:
            result[name] = None
            continue
        low, high = percentile_interval(samples[k])
        result[name] = Interval(low=low, high=high, method="bootstrap over cases")
    return result


def summarize(
    groups: Sequence[CaseGroup], *, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED
) -> dict[str, Summary]:
    """Micro and macro averages of every metric, with bootstrap intervals for the rate metrics."""
    micro = compute(total(g.counts for g in groups))
    per_case = [compute(g.counts) for g in groups]
    intervals = bootstrap_micro(groups, resamples=resamples, seed=seed)
    out = {}
    for name, value in micro.items():
        values = [m[name] for m in per_case if m[name] is not None]
        note = None
        if name in RATIOS and len(groups) < 2:
            note = ONE_CASE
        elif name in RATIOS and value is not None and intervals.get(name) is None:
            note = "no resample had a denominator"
        out[name] = Summary(
            metric=name,
            micro=value,
            macro=sum(v for v in values if v is not None) / len(values) if values else None,
            cases=len(values),
            interval=intervals.get(name),
            note=note,
        )
    return out


def wilson(successes: float, trials: float, level: float = LEVEL) -> Interval | None:
    """Wilson's score interval for a proportion (items within one case); None without trials."""
    if trials <= 0:
        return None
    z = _Z if level == LEVEL else _normal_quantile(1 - (1 - level) / 2)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return Interval(low=max(0.0, centre - half), high=min(1.0, centre + half), method="Wilson over items")


def _normal_quantile(q: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


def item_interval(name: str, group: CaseGroup) -> Interval | None:
    """Within one case: the Wilson interval of a rate metric over its items (per run, when runs were repeated)."""
    if name not in RATIOS:
        return None
    num, den = fraction(name, group.counts)
    runs = len(group.runs)
    return wilson(num / runs, den / runs) if den else None
