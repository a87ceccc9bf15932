"""Eval reports: JSON (the pydantic model, for machines), Markdown, and self-contained HTML with charts.

All three carry the same numbers: every run side by side (the extractive baseline included, so
each figure reads against the floor), micro and macro averages with 95 % intervals over cases,
per-kind discrepancy recall, a per-case table, and the false alarms by name. The HTML adds the
drill-down per case (every labelled item hit or missed with the prediction that matched it, the
timeline beside its labels) and inline SVG charts; it is rendered from Jinja2 templates with
autoescaping, because article text is hostile input. Markdown goes through the shared escaper,
``summarizer.markdown.md``.

Over 400 lines: the three formats of one report, kept side by side so they carry the same numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from summarizer import __version__
from summarizer.evaluate.compare import Comparison, gate_cell, interval_cell
from summarizer.evaluate.gold import LoadedCase
from summarizer.evaluate.intervals import DEFAULT_RESAMPLES, LEVEL, CaseGroup, Interval, item_interval
from summarizer.evaluate.metrics import BY_NAME, DISCREPANCY_KINDS, KIND_BUCKET, METRICS, compute, show
from summarizer.evaluate.run import RunOutcome, RunResult
from summarizer.evaluate.score import CaseScore
from summarizer.markdown import md

FORMAT: Final = "summarizer-eval-report/2"
PALETTE = ("#8c8c8c", "#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a")
KIND_METRICS = (
    *(f"discrepancy_recall_{k}" for k in DISCREPANCY_KINDS),
    "discrepancy_recall",
    "discrepancy_precision",
    "timeline_recall",
    "timeline_precision",
    "timeline_date_accuracy",
    "consensus_recall",
    "consensus_precision",
)
"""The metrics of the per-kind chart: what kind of cross-source finding a run gets right."""
CASE_METRICS = (
    "fact_recall",
    "fact_precision",
    "citation_recall",
    "consensus_recall",
    "consensus_precision",
    "discrepancy_recall",
    "discrepancy_precision",
    "timeline_recall",
    "timeline_date_accuracy",
)


class CaseInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    origin: str
    articles: int
    gold_facts: int
    gold_consensus: int
    gold_discrepancies: int
    gold_timeline: int = 0
    discrepancy_kinds: dict[str, int] = Field(default_factory=dict)
    """Gold discrepancies per reported kind (name counted as spelling)."""
    facts: dict[str, str] = Field(default_factory=dict)
    """Gold fact ID → its statement, for the drill-down."""


class EvalReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["summarizer-eval-report/2"] = FORMAT
    created: str
    summarizer_version: str = __version__
    corpus: str | None = None
    skipped: list[str] = Field(default_factory=list)
    """Cases left out because their corpus text is absent, one line each."""
    resamples: int = DEFAULT_RESAMPLES
    level: float = LEVEL
    cases: list[CaseInfo]
    runs: list[RunResult]
    comparison: Comparison | None = None


def build(
    cases: Sequence[LoadedCase],
    runs: Sequence[RunResult],
    comparison: Comparison | None = None,
    *,
    skipped: Sequence[str] = (),
    corpus: str | None = None,
) -> EvalReport:
    infos = []
    for c in cases:
        kinds = dict.fromkeys(DISCREPANCY_KINDS, 0)
        for d in c.case.discrepancies:
            if (bucket := KIND_BUCKET.get(d.kind)) is not None:
                kinds[bucket] += 1
        infos.append(
            CaseInfo(
                id=c.id,
                title=c.case.title,
                origin=c.origin,
                articles=len(c.articles),
                gold_facts=c.case.fact_count(),
                gold_consensus=len(c.case.consensus),
                gold_discrepancies=len(c.case.discrepancies),
                gold_timeline=len(c.case.timeline),
                discrepancy_kinds=kinds,
                facts={f.id: f.statement for facts in c.case.facts.values() for f in facts},
            )
        )
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return EvalReport(
        created=created, cases=infos, runs=list(runs), comparison=comparison, skipped=list(skipped), corpus=corpus
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"


def write(report: EvalReport, outcomes: Sequence[RunOutcome], out_dir: str | Path) -> list[Path]:
    """Write report.json, report.md, report.html and each scored brief; return the report paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.html"]
    paths[0].write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(markdown(report), encoding="utf-8")
    paths[2].write_text(to_html(report), encoding="utf-8")
    for outcome in outcomes:
        folder = out / "briefs" / _slug(outcome.result.label)
        folder.mkdir(parents=True, exist_ok=True)
        for case_id, brief in outcome.briefs.items():
            (folder / f"{case_id}.json").write_text(brief.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return paths


# -- the numbers every format shows ---------------------------------------------------------------------
def run_name(run: RunResult) -> str:
    name = run.label if run.engine == "llm" else f"{run.label} (extractive)"
    return name + (f" ×{run.repeats}" if run.repeats > 1 else "")


def interval_text(interval: Interval | None) -> str:
    return "—" if interval is None else f"[{interval.low:.3f}, {interval.high:.3f}]"


def _micro_cell(run: RunResult, name: str) -> str:
    summary = run.summary.get(name)
    text = show(name, run.metrics.get(name))
    if summary is not None and summary.interval is not None:
        text += " " + interval_text(summary.interval)
    return text


def _macro_cell(run: RunResult, name: str) -> str:
    summary = run.summary.get(name)
    return show(name, summary.macro) if summary is not None else "n/a"


def _interval_note(report: EvalReport) -> str:
    few = len(report.cases) < 2
    note = (
        f"Intervals: {report.level:.0%} bootstrap over cases ({report.resamples:,} resamples of the cases, "
        "recomputing the summed-count metric; a case's items are correlated, so the case is the unit). "
        "Per-case intervals are Wilson intervals over that case's items."
    )
    if few:
        note += " With one case an interval over cases is not meaningful, so none is shown."
    return note


def _summary_rows(report: EvalReport, run: RunResult) -> list[list[str]]:
    rows = []
    for m in METRICS:
        summary = run.summary.get(m.name)
        rows.append(
            [
                m.label,
                show(m.name, run.metrics.get(m.name)),
                interval_text(summary.interval if summary else None),
                _macro_cell(run, m.name),
                str(summary.cases) if summary else "0",
            ]
        )
    return rows


def _comparison_rows(comparison: Comparison) -> list[list[str]]:
    rows = []
    for row in comparison.rows:
        m = BY_NAME[row.metric]
        delta = "n/a" if row.delta is None else (f"{row.delta:+.3f}" if m.rate else f"{row.delta:+,.1f}")
        rows.append(
            [
                m.label,
                show(m.name, row.a),
                show(m.name, row.b),
                delta,
                interval_cell(row),
                "—" if row.tolerance is None else f"{row.tolerance:g}",
                gate_cell(row),
            ]
        )
    return rows


def _kind_rows(report: EvalReport) -> list[list[str]]:
    rows = []
    for kind in DISCREPANCY_KINDS:
        name = f"discrepancy_recall_{kind}"
        gold = sum(c.discrepancy_kinds.get(kind, 0) for c in report.cases)
        rows.append([f"{kind} (recall)", str(gold), *(_micro_cell(r, name) for r in report.runs)])
    gold = sum(c.gold_discrepancies for c in report.cases)
    rows.append(["all (recall)", str(gold), *(_micro_cell(r, "discrepancy_recall") for r in report.runs)])
    predicted = ["precision", "—", *(_micro_cell(r, "discrepancy_precision") for r in report.runs)]
    rows.append(predicted)
    return rows


def _groups(run: RunResult) -> dict[str, CaseGroup]:
    return {g.case_id: g for g in run.case_groups()}


def _case_rows(report: EvalReport) -> list[list[str]]:
    rows = []
    for case in report.cases:
        for run in report.runs:
            group = _groups(run).get(case.id)
            values = compute(group.counts) if group else {}
            rows.append([case.id, run_name(run), *(show(n, values.get(n)) for n in CASE_METRICS)])
    return rows


def _first(run: RunResult, case_id: str) -> CaseScore | None:
    return next((c for c in run.cases if c.case_id == case_id), None)


def _gate_line(report: EvalReport) -> str | None:
    return None if report.comparison is None else report.comparison.verdict_line()


# -- Markdown ----------------------------------------------------------------------------------------
def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(map(md, headers)) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(map(md, row)) + " |" for row in rows]
    return "\n".join(lines)


def _md_list(items: Sequence[str]) -> str:
    return "\n".join(f"- {md(x)}" for x in items) if items else "- none"


def _false_alarm_lines(score: CaseScore) -> list[str]:
    lines = []
    for fa in score.false_alarms:
        sides = "; ".join(f"{s.value or s.text} ({', '.join(s.cited) or 'no citation'})" for s in fa.sides)
        lines.append(f"[{fa.kind}] {fa.topic}: {sides}")
    return lines


def _miss_lines(report: EvalReport, run: RunResult, case_id: str) -> list[str]:
    score = _first(run, case_id)
    if score is None:
        return []
    lines = []
    for a in score.articles:
        if a.missed:
            lines.append(f"{a.article_id} missed facts: {', '.join(a.missed)}")
    for name, outcomes in (("consensus", score.consensus), ("discrepancies", score.discrepancies)):
        recalled = [o.gold for o in outcomes if o.recalled_by]
        missed = [o.gold for o in outcomes if not o.recalled_by]
        lines.append(f"{name} recalled: {', '.join(recalled) or 'none'}; missed: {', '.join(missed) or 'none'}")
    matched = [t for t in score.timeline if t.predicted is not None]
    missed = [t.gold for t in score.timeline if t.predicted is None]
    wrong = [f"{t.gold} ({t.predicted_iso or 'no ISO date'} for {t.date})" for t in matched if not t.date_correct]
    lines.append(
        f"timeline matched: {', '.join(t.gold for t in matched) or 'none'}; missed: {', '.join(missed) or 'none'}; "
        f"wrong dates: {', '.join(wrong) or 'none'}"
    )
    return lines


def markdown(report: EvalReport) -> str:
    names = [run_name(r) for r in report.runs]
    parts = [f"# Eval report\n\nCreated {md(report.created)} by summarizer {md(report.summarizer_version)}."]
    if report.skipped:
        parts.append("**Skipped (article text absent):**\n\n" + _md_list(report.skipped))
    parts.append("## Cases\n\n" + _md_table(
        ["case", "title", "articles", "gold facts", "consensus", "discrepancies", "timeline events"],
        [[c.id, c.title, str(c.articles), str(c.gold_facts), str(c.gold_consensus), str(c.gold_discrepancies),
          str(c.gold_timeline)] for c in report.cases],
    ))  # fmt: skip
    parts.append("## Runs\n\n" + _md_table(
        ["run", "engine", "provider", "model", "prompts", "runs", "cached articles", "wall seconds"],
        [[run_name(r), r.engine, r.provider, r.model, r.prompts or "—", str(r.repeats), str(r.cached_articles),
          f"{r.wall_seconds:.1f}"] for r in report.runs],
    ))  # fmt: skip
    parts.append("## Metrics (all cases)\n\n" + _md_table(["metric", *names], [
        [m.label, *(_micro_cell(r, m.name) for r in report.runs)] for m in METRICS
    ]))  # fmt: skip
    parts.append(md(_interval_note(report)))
    for run in report.runs:
        parts.append(
            f"### Summary: {md(run_name(run))}\n\n"
            + _md_table(["metric", "micro", "95 % CI (cases)", "macro", "cases"], _summary_rows(report, run))
        )
    if report.comparison is not None:
        c = report.comparison
        parts.append(
            f"## Gate: {md(c.b)} against {md(c.a)} ({md(c.mode)}, {c.cases} case(s))\n\n"
            + _md_table(["metric", "A", "B", "Δ B−A", "95 % CI", "tolerance", "verdict"], _comparison_rows(c))
        )
        if c.note:
            parts.append(md(c.note))
        if line := _gate_line(report):
            parts.append(f"**{md(line)}**")
    parts.append("## Discrepancies by kind\n\n" + _md_table(["kind", "gold items", *names], _kind_rows(report)))
    parts.append(
        "## Per case\n\n" + _md_table(["case", "run", *(BY_NAME[n].label for n in CASE_METRICS)], _case_rows(report))
    )
    alarms = []
    for run in report.runs:
        for case in report.cases:
            score = _first(run, case.id)
            for line in _false_alarm_lines(score) if score else []:
                alarms.append(f"{run_name(run)}, {case.id}: {line}")
    parts.append("## False alarms\n\nPredicted discrepancies that match no labelled one.\n\n" + _md_list(alarms))
    parts.append("Definitions: " + "; ".join(f"*{md(m.label)}*: {md(m.description)}" for m in METRICS) + ".")
    for case in report.cases:
        parts.append(f"## Case {md(case.id)}: {md(case.title)}")
        for run in report.runs:
            parts.append(f"### {md(run_name(run))}: misses\n\n" + _md_list(_miss_lines(report, run, case.id)))
    return "\n\n".join(parts) + "\n"


# -- HTML ----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("summarizer.evaluate", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = lambda value, name: show(name, value)
    env.filters["interval"] = interval_text
    return env


def chart(runs: Sequence[RunResult], names: Sequence[str], title: str) -> dict[str, Any]:
    """Geometry of a horizontal grouped bar chart with 95 % error bars (drawn by the template as SVG)."""
    bar, gap, label_w, plot_w = 14, 10, 210, 420
    group_h = bar * len(runs) + gap
    legend_h = 22 * len(runs) + 10
    height = legend_h + group_h * len(names) + 30
    legend = [
        {"x": label_w, "y": 8 + 22 * i, "colour": PALETTE[i % len(PALETTE)], "label": run_name(r)}
        for i, r in enumerate(runs)
    ]
    bottom = legend_h + group_h * len(names)
    ticks = [{"x": label_w + t * plot_w, "label": f"{t:g}"} for t in (0, 0.25, 0.5, 0.75, 1.0)]
    groups = []
    for j, name in enumerate(names):
        y0 = legend_h + j * group_h
        bars = []
        for i, run in enumerate(runs):
            value = run.metrics.get(name)
            summary = run.summary.get(name)
            interval = summary.interval if summary is not None else None
            y = y0 + i * bar
            item: dict[str, Any] = {
                "y": y, "h": bar - 2, "colour": PALETTE[i % len(PALETTE)], "na": value is None, "err": None,
            }  # fmt: skip
            if value is not None:
                item.update(w=max(value, 0.0) * plot_w, text=f"{value:.3f}", label=run_name(run))
                right = max(value, interval.high if interval is not None else 0.0)
                item["text_x"] = label_w + max(right, 0.0) * plot_w + 4
                item["title"] = f"{run_name(run)}: {BY_NAME[name].label} {value:.3f} {interval_text(interval)}"
                if interval is not None:
                    item["err"] = {
                        "x1": label_w + interval.low * plot_w,
                        "x2": label_w + interval.high * plot_w,
                        "y": y + (bar - 2) / 2,
                    }
            bars.append(item)
        groups.append({"label": BY_NAME[name].label, "y": y0 + group_h / 2 + 2, "bars": bars})
    return {
        "title": title,
        "width": label_w + plot_w + 80,
        "height": height,
        "label_w": label_w,
        "top": legend_h,
        "bottom": bottom,
        "legend": legend,
        "ticks": ticks,
        "groups": groups,
    }


def chart_svg(runs: Sequence[RunResult]) -> str:
    """The chart of every rate metric, as inline SVG."""
    names = [m.name for m in METRICS if m.rate]
    return _environment().get_template("chart.svg.j2").render(c=chart(runs, names, "metrics by run"))


def _drilldown(report: EvalReport, case: CaseInfo) -> list[dict[str, Any]]:
    """Per run: the first run's scores of this case, with label statements and Wilson intervals over items."""
    views = []
    for run in report.runs:
        score = _first(run, case.id)
        group = _groups(run).get(case.id)
        if score is None or group is None:
            continue
        values = compute(group.counts)
        metrics = [
            {
                "label": BY_NAME[n].label,
                "value": show(n, values.get(n)),
                "interval": interval_text(item_interval(n, group)),
            }
            for n in CASE_METRICS
        ]
        facts = []
        for a in score.articles:
            for f in a.matched:
                facts.append({"article": a.article_id, "gold": f.gold, "statement": case.facts.get(f.gold, ""),
                              "hit": True, "predicted": f.text})  # fmt: skip
            for gid in a.missed:
                facts.append({"article": a.article_id, "gold": gid, "statement": case.facts.get(gid, ""),
                              "hit": False, "predicted": None})  # fmt: skip
        unmatched = [{"article": a.article_id, **u.model_dump()} for a in score.articles for u in a.unmatched]
        views.append(
            {
                "name": run_name(run),
                "repeats": run.repeats,
                "metrics": metrics,
                "facts": facts,
                "unmatched": unmatched,
                "score": score,
            }
        )
    return views


def to_html(report: EvalReport) -> str:
    names = [run_name(r) for r in report.runs]
    rates = [m.name for m in METRICS if m.rate]
    context = {
        "report": report,
        "names": names,
        "metrics": METRICS,
        "overall": [[m.label, *(_micro_cell(r, m.name) for r in report.runs)] for m in METRICS],
        "summaries": [(run_name(r), _summary_rows(report, r)) for r in report.runs],
        "interval_note": _interval_note(report),
        "comparison_rows": _comparison_rows(report.comparison) if report.comparison else [],
        "gate_line": _gate_line(report),
        "kind_rows": _kind_rows(report),
        "case_rows": _case_rows(report),
        "case_headers": ["case", "run", *(BY_NAME[n].label for n in CASE_METRICS)],
        "kind_chart": chart(report.runs, KIND_METRICS, "discrepancies by kind, timeline and consensus"),
        "rate_chart": chart(report.runs, rates, "every rate metric"),
        "cases": [(case, _drilldown(report, case)) for case in report.cases],
    }
    return _environment().get_template("report.html.j2").render(**context)
