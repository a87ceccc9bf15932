"""Two runs side by side, and the gate: is B worse than A on a gated metric, beyond noise and tolerance?

Gated by default: every headline quality rate (fact recall and precision, citation recall,
precision and validity, number grounding, consensus recall and precision, discrepancy recall and
precision, timeline recall, precision and date accuracy, schema-valid rate), each with the
``--tolerance`` (default 0.02, two percentage points). The per-kind discrepancy recalls are
reported, not gated (they are parts of discrepancy recall, on few items each). ``--gate
NAME=TOL`` sets one metric's tolerance in its own units and can gate a cost metric too
(``--gate reasks=2``); ``--gate NAME=off`` ungates one.

Two modes (``--gate-mode``):

- ``paired`` (default): per case, B − A of the metric (each case's counts summed over its runs);
  the mean of these paired differences with a 95 % bootstrap interval (resampling cases, and for
  each case one run of A and one of B when runs were repeated). The verdict is **worse** only
  when the whole interval lies below −tolerance, **better** when it lies above +tolerance, and
  otherwise **no evidence of a change**. Only "worse" fails. With one case there is no interval;
  the point difference decides, as in the tolerance mode.
- ``tolerance``: the old gate on the micro metrics: worse when B is below A by more than the
  tolerance.

A metric that is n/a on either side (in every case) is shown but cannot fail the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict
from rich.table import Table

from summarizer.errors import ConfigurationError
from summarizer.evaluate.intervals import DEFAULT_RESAMPLES, DEFAULT_SEED, draws, percentile_interval
from summarizer.evaluate.metrics import BY_NAME, METRICS, compute, show

if TYPE_CHECKING:  # run imports the whole pipeline; the CLI imports this module just to build its parser
    from summarizer.evaluate.run import RunResult

DEFAULT_TOLERANCE = 0.02
_EPSILON = 1e-9
GateMode = Literal["paired", "tolerance"]
WORSE, BETTER, NO_EVIDENCE, WITHIN = "worse", "better", "no evidence of a change", "within tolerance"


@dataclass(frozen=True)
class Gate:
    tolerances: dict[str, float]
    """Gated metric → the largest allowed worsening."""
    mode: GateMode = "paired"
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED

    @classmethod
    def from_options(
        cls,
        tolerance: float = DEFAULT_TOLERANCE,
        overrides: Sequence[str] = (),
        mode: GateMode = "paired",
        seed: int = DEFAULT_SEED,
    ) -> Gate:
        if tolerance < 0:
            raise ConfigurationError("--tolerance must be zero or more")
        tolerances = {m.name: tolerance for m in METRICS if m.gated}
        for item in overrides:
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep or name not in BY_NAME:
                known = ", ".join(BY_NAME)
                raise ConfigurationError(f"--gate {item!r}: expected METRIC=TOLERANCE or METRIC=off; metrics: {known}")
            if value.strip().lower() == "off":
                tolerances.pop(name, None)
                continue
            try:
                tolerances[name] = float(value)
            except ValueError:
                raise ConfigurationError(f"--gate {item!r}: {value!r} is not a number") from None
            if tolerances[name] < 0:
                raise ConfigurationError(f"--gate {item!r}: the tolerance must be zero or more")
        return cls(tolerances, mode, seed=seed)


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    a: float | None
    b: float | None
    delta: float | None
    """Paired mode: the mean per-case difference B − A; tolerance mode: B − A of the micro metrics."""
    low: float | None = None
    high: float | None = None
    """Paired mode: the 95 % bootstrap interval of ``delta`` (None with one case)."""
    cases: int = 0
    """Cases where the metric has a value in both runs."""
    tolerance: float | None
    """None when the metric is not gated."""
    verdict: str | None = None
    """worse, better, no evidence of a change (paired); worse, better, within tolerance (tolerance mode)."""
    regressed: bool


class Comparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: str
    b: str
    mode: GateMode = "paired"
    cases: int = 0
    note: str | None = None
    rows: list[Row]
    regressions: list[str]
    passed: bool

    def failure_line(self) -> str:
        parts = []
        for row in self.rows:
            if row.regressed:
                where = f"Δ {row.delta:+.3f}" if row.delta is not None else ""
                if row.low is not None and row.high is not None:
                    where += f", 95 % CI [{row.low:+.3f}, {row.high:+.3f}]"
                parts.append(
                    f"{row.metric} {show(row.metric, row.a)} → {show(row.metric, row.b)} ({where}; "
                    f"tolerance {row.tolerance:g})"
                )
        return f"gate failed: {self.b} is worse than {self.a} on " + "; ".join(parts)

    def verdict_line(self) -> str:
        if not self.passed:
            return self.failure_line()
        better = [r.metric for r in self.rows if r.tolerance is not None and r.verdict == BETTER]
        line = f"gate passed: no evidence that {self.b} is worse than {self.a} on any gated metric"
        if self.mode == "tolerance":
            line = f"gate passed: {self.b} is not worse than {self.a} on any gated metric"
        return line + (f"; better on {', '.join(better)}" if better else "")


def regressed(metric: str, a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return False
    if BY_NAME[metric].higher_is_better:
        return b < a - tolerance - _EPSILON
    return b > a + tolerance + _EPSILON


def _verdict(metric: str, low: float, high: float, tolerance: float, inside: str) -> str:
    """Worse only when the whole interval of the difference is beyond −tolerance (in the metric's good direction)."""
    sign = 1.0 if BY_NAME[metric].higher_is_better else -1.0
    lo, hi = sorted((sign * low, sign * high))
    if hi < -tolerance - _EPSILON:
        return WORSE
    if lo > tolerance + _EPSILON:
        return BETTER
    return inside


def _per_run(run: RunResult) -> dict[str, list[dict[str, float | None]]]:
    """Case ID → the metrics of each of its runs."""
    out: dict[str, list[dict[str, float | None]]] = {}
    for score in run.cases:
        out.setdefault(score.case_id, []).append(score.metrics)
    return out


def _per_case(run: RunResult) -> dict[str, dict[str, float | None]]:
    """Case ID → its metrics with the counts of its runs summed."""
    return {g.case_id: compute(g.counts) for g in run.case_groups()}


def paired(a: RunResult, b: RunResult, gate: Gate) -> Comparison:
    """The paired per-case comparison with bootstrap intervals (see the module docstring)."""
    point_a, point_b = _per_case(a), _per_case(b)
    shared = [c for c in point_a if c in point_b]
    runs_a, runs_b = _per_run(a), _per_run(b)
    diffs: dict[str, list[float]] = {}
    for m in METRICS:
        diffs[m.name] = [
            vb - va for c in shared if (va := point_a[c][m.name]) is not None and (vb := point_b[c][m.name]) is not None
        ]
    samples: dict[str, list[float]] = {m.name: [] for m in METRICS}
    if len(shared) >= 2:
        for resample in draws(len(shared), gate.resamples, gate.seed):
            sums = dict.fromkeys(samples, 0.0)
            ns = dict.fromkeys(samples, 0)
            for i, u, v in resample:
                ra, rb = runs_a[shared[i]], runs_b[shared[i]]
                ma = ra[min(int(u * len(ra)), len(ra) - 1)]
                mb = rb[min(int(v * len(rb)), len(rb) - 1)]
                for name in samples:
                    va, vb = ma[name], mb[name]
                    if va is not None and vb is not None:
                        sums[name] += vb - va
                        ns[name] += 1
            for name in samples:
                if ns[name]:
                    samples[name].append(sums[name] / ns[name])
    rows = []
    for m in METRICS:
        tolerance = gate.tolerances.get(m.name)
        d = diffs[m.name]
        delta = sum(d) / len(d) if d else None
        low = high = None
        if samples[m.name] and len(d) >= 2:
            low, high = percentile_interval(samples[m.name])
        verdict = None
        if delta is not None:
            lo, hi = (low, high) if low is not None and high is not None else (delta, delta)
            verdict = _verdict(m.name, lo, hi, tolerance if tolerance is not None else 0.0, NO_EVIDENCE)
        rows.append(
            Row(
                metric=m.name,
                a=a.metrics.get(m.name),
                b=b.metrics.get(m.name),
                delta=delta,
                low=low,
                high=high,
                cases=len(d),
                tolerance=tolerance,
                verdict=verdict,
                regressed=tolerance is not None and verdict == WORSE,
            )
        )
    regressions = [r.metric for r in rows if r.regressed]
    note = None
    if len(shared) < 2:
        note = "one case: no interval over cases; the point difference decides, as the tolerance gate does"
    return Comparison(
        a=a.label,
        b=b.label,
        mode="paired",
        cases=len(shared),
        note=note,
        rows=rows,
        regressions=regressions,
        passed=not regressions,
    )


def by_tolerance(a: RunResult, b: RunResult, gate: Gate) -> Comparison:
    """The old gate: B's micro metric below A's by more than the tolerance."""
    rows = []
    for m in METRICS:
        va, vb = a.metrics.get(m.name), b.metrics.get(m.name)
        tolerance = gate.tolerances.get(m.name)
        delta = None if va is None or vb is None else vb - va
        verdict = None
        if delta is not None:
            verdict = _verdict(m.name, delta, delta, tolerance if tolerance is not None else 0.0, WITHIN)
        rows.append(
            Row(
                metric=m.name,
                a=va,
                b=vb,
                delta=delta,
                tolerance=tolerance,
                verdict=verdict,
                regressed=tolerance is not None and regressed(m.name, va, vb, tolerance),
            )
        )
    regressions = [r.metric for r in rows if r.regressed]
    shared = {c.case_id for c in a.cases} & {c.case_id for c in b.cases}
    return Comparison(
        a=a.label,
        b=b.label,
        mode="tolerance",
        cases=len(shared),
        rows=rows,
        regressions=regressions,
        passed=not regressions,
    )


def compare(a: RunResult, b: RunResult, gate: Gate) -> Comparison:
    return paired(a, b, gate) if gate.mode == "paired" else by_tolerance(a, b, gate)


def gate_cell(row: Row) -> str:
    """The gate column: the verdict, FAIL for a gated regression, — for an ungated metric."""
    if row.verdict is None:
        return "n/a"
    if row.regressed:
        return f"FAIL ({row.verdict})"
    return row.verdict if row.tolerance is not None else f"— ({row.verdict})"


def interval_cell(row: Row) -> str:
    if row.low is None or row.high is None:
        return "—"
    return f"[{row.low:+.3f}, {row.high:+.3f}]"


def _delta(metric: str, delta: float | None) -> str:
    if delta is None:
        return "n/a"
    if abs(delta) < _EPSILON:
        return "0"
    better = (delta > 0) == BY_NAME[metric].higher_is_better
    colour = "green" if better else "red"
    text = f"{delta:+.3f}" if BY_NAME[metric].rate else f"{delta:+,.1f}"
    return f"[{colour}]{text}[/]"


def table(runs: Sequence[RunResult], comparison: Comparison | None = None, title: str = "eval") -> Table:
    """One rich table: a row per metric, a column per run (micro value and 95 % interval over cases), then
    the paired difference B−A with its interval and the gate's verdict."""
    grid = Table(title=title, title_justify="left")
    grid.add_column("metric")
    for run in runs:
        name = run.label if run.engine == "llm" else f"{run.label} (extractive)"
        grid.add_column(name + (f" ×{run.repeats}" if run.repeats > 1 else ""), justify="right")
    if comparison is not None:
        grid.add_column("Δ B−A", justify="right")
        grid.add_column("95 % CI", justify="right")
        grid.add_column("gate", justify="left")
    rows = {r.metric: r for r in comparison.rows} if comparison else {}
    for m in METRICS:
        cells = [m.label] + [value_cell(run, m.name) for run in runs]
        if comparison is not None:
            row = rows[m.name]
            verdict = gate_cell(row)
            if row.regressed:
                verdict = f"[red]{verdict}[/]"
            cells += [_delta(m.name, row.delta), interval_cell(row), verdict]
        grid.add_row(*cells)
    return grid


def value_cell(run: RunResult, name: str) -> str:
    """``0.812 [0.701, 0.905]``: the micro value and its bootstrap interval over cases, when there is one."""
    text = show(name, run.metrics.get(name))
    summary = run.summary.get(name)
    if summary is not None and summary.interval is not None:
        text += f" [{summary.interval.low:.3f}, {summary.interval.high:.3f}]"
    return text
