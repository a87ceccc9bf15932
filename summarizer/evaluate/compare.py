"""Two runs side by side, and the gate: B must not be worse than A beyond a tolerance on any gated metric.

Gated by default: every quality rate (fact recall and precision, citation recall, precision and
validity, number grounding, consensus and discrepancy recall, schema-valid rate), each with the
``--tolerance`` (default 0.02, i.e. two percentage points). ``--gate NAME=TOL`` sets one metric's
tolerance, in its own units, and can gate a cost metric too (``--gate reasks=2``: at most two
more re-asks); ``--gate NAME=off`` ungates one. A metric that is n/a on either side is shown but
cannot fail the gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from rich.table import Table

from summarizer.errors import ConfigurationError
from summarizer.evaluate.metrics import BY_NAME, METRICS, show

if TYPE_CHECKING:  # run imports the whole pipeline; the CLI imports this module just to build its parser
    from summarizer.evaluate.run import RunResult

DEFAULT_TOLERANCE = 0.02
_EPSILON = 1e-9


@dataclass(frozen=True)
class Gate:
    tolerances: dict[str, float]
    """Gated metric → the largest allowed worsening."""

    @classmethod
    def from_options(cls, tolerance: float = DEFAULT_TOLERANCE, overrides: Sequence[str] = ()) -> Gate:
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
        return cls(tolerances)


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    a: float | None
    b: float | None
    delta: float | None
    tolerance: float | None
    """None when the metric is not gated."""
    regressed: bool


class Comparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: str
    b: str
    rows: list[Row]
    regressions: list[str]
    passed: bool

    def failure_line(self) -> str:
        parts = []
        for row in self.rows:
            if row.regressed:
                parts.append(
                    f"{row.metric} {show(row.metric, row.a)} → {show(row.metric, row.b)} (tolerance {row.tolerance:g})"
                )
        return f"gate failed: {self.b} regressed against {self.a} on " + "; ".join(parts)


def regressed(metric: str, a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return False
    if BY_NAME[metric].higher_is_better:
        return b < a - tolerance - _EPSILON
    return b > a + tolerance + _EPSILON


def compare(a: RunResult, b: RunResult, gate: Gate) -> Comparison:
    rows = []
    for m in METRICS:
        va, vb = a.metrics.get(m.name), b.metrics.get(m.name)
        tolerance = gate.tolerances.get(m.name)
        rows.append(
            Row(
                metric=m.name,
                a=va,
                b=vb,
                delta=None if va is None or vb is None else vb - va,
                tolerance=tolerance,
                regressed=tolerance is not None and regressed(m.name, va, vb, tolerance),
            )
        )
    regressions = [r.metric for r in rows if r.regressed]
    return Comparison(a=a.label, b=b.label, rows=rows, regressions=regressions, passed=not regressions)


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
    """One rich table: a row per metric, a column per run, then the delta B−A and the gate verdict."""
    grid = Table(title=title, title_justify="left")
    grid.add_column("metric")
    for run in runs:
        grid.add_column(run.label if run.engine == "llm" else f"{run.label} (extractive)", justify="right")
    if comparison is not None:
        grid.add_column("Δ B−A", justify="right")
        grid.add_column("gate", justify="left")
    rows = {r.metric: r for r in comparison.rows} if comparison else {}
    for m in METRICS:
        cells = [m.label] + [show(m.name, run.metrics.get(m.name)) for run in runs]
        if comparison is not None:
            row = rows[m.name]
            verdict = "—" if row.tolerance is None else ("[red]FAIL[/]" if row.regressed else "ok")
            cells += [_delta(m.name, row.delta), verdict]
        grid.add_row(*cells)
    return grid
