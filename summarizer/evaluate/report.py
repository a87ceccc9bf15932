"""Eval reports: JSON (the pydantic model, for machines), Markdown, and self-contained HTML with a chart.

Every report holds every run side by side, the extractive baseline included, so each figure is
read against the floor. The HTML has no external assets: inline CSS and an inline SVG chart.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from summarizer import __version__
from summarizer.evaluate.compare import Comparison
from summarizer.evaluate.gold import LoadedCase
from summarizer.evaluate.metrics import BY_NAME, METRICS, show
from summarizer.evaluate.run import RunOutcome, RunResult

FORMAT: Final = "summarizer-eval-report/1"
PALETTE = ("#8c8c8c", "#1f77b4", "#d95f02", "#1b9e77", "#7570b3", "#e7298a")


class CaseInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    origin: str
    articles: int
    gold_facts: int
    gold_consensus: int
    gold_discrepancies: int


class EvalReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["summarizer-eval-report/1"] = FORMAT
    created: str
    summarizer_version: str = __version__
    cases: list[CaseInfo]
    runs: list[RunResult]
    comparison: Comparison | None = None


def build(cases: Sequence[LoadedCase], runs: Sequence[RunResult], comparison: Comparison | None = None) -> EvalReport:
    infos = [
        CaseInfo(
            id=c.id,
            title=c.case.title,
            origin=c.origin,
            articles=len(c.articles),
            gold_facts=c.case.fact_count(),
            gold_consensus=len(c.case.consensus),
            gold_discrepancies=len(c.case.discrepancies),
        )
        for c in cases
    ]
    created = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return EvalReport(created=created, cases=infos, runs=list(runs), comparison=comparison)


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


# -- shared pieces -----------------------------------------------------------------------------------
def _run_name(run: RunResult) -> str:
    return run.label if run.engine == "llm" else f"{run.label} (extractive)"


def _headers(report: EvalReport) -> list[str]:
    headers = ["metric", *(_run_name(r) for r in report.runs)]
    if report.comparison:
        headers += ["Δ B−A", "gate"]
    return headers


def _metric_rows(report: EvalReport) -> list[list[str]]:
    rows = []
    by_metric = {r.metric: r for r in report.comparison.rows} if report.comparison else {}
    for m in METRICS:
        cells = [m.label, *(show(m.name, run.metrics.get(m.name)) for run in report.runs)]
        if report.comparison:
            row = by_metric[m.name]
            delta = "n/a" if row.delta is None else (f"{row.delta:+.3f}" if m.rate else f"{row.delta:+,.1f}")
            verdict = "—" if row.tolerance is None else ("FAIL" if row.regressed else "ok")
            cells += [delta, verdict]
        rows.append(cells)
    return rows


_ARTICLE_METRICS = ("fact_recall", "fact_precision", "citation_recall", "citation_precision", "number_grounding")
_CASE_METRICS = ("fact_recall", "fact_precision", "citation_recall", "consensus_recall", "discrepancy_recall")


def _case_rows(report: EvalReport, case_id: str) -> list[list[str]]:
    rows = []
    for name in _CASE_METRICS:
        cells = [BY_NAME[name].label]
        for run in report.runs:
            score = next((c for c in run.cases if c.case_id == case_id), None)
            cells.append(show(name, score.metrics.get(name)) if score else "n/a")
        rows.append(cells)
    return rows


def _article_rows(report: EvalReport, case_id: str) -> list[list[str]]:
    rows = []
    case = next(c for c in report.cases if c.id == case_id)
    for i in range(1, case.articles + 1):
        aid = f"a{i}"
        for name in _ARTICLE_METRICS:
            cells = [aid, BY_NAME[name].label]
            for run in report.runs:
                score = next((c for c in run.cases if c.case_id == case_id), None)
                article = next((a for a in score.articles if a.article_id == aid), None) if score else None
                cells.append(show(name, article.metrics.get(name)) if article else "n/a")
            rows.append(cells)
    return rows


def _details(run: RunResult, case_id: str) -> list[str]:
    """Plain-text lines: what this run missed and what it predicted that matched nothing."""
    score = next((c for c in run.cases if c.case_id == case_id), None)
    if score is None:
        return []
    lines = []
    for a in score.articles:
        if a.missed:
            lines.append(f"{a.article_id} missed facts: {', '.join(a.missed)}")
        for u in a.unmatched:
            lines.append(
                f"{a.article_id} unmatched {u.predicted} ({'grounded' if u.grounded else 'ungrounded'}): {u.text}"
            )
    recalled = [o.gold for o in score.consensus if o.recalled_by]
    missed = [o.gold for o in score.consensus if not o.recalled_by]
    lines.append(f"consensus recalled: {', '.join(recalled) or 'none'}; missed: {', '.join(missed) or 'none'}")
    recalled = [o.gold for o in score.discrepancies if o.recalled_by]
    missed = [o.gold for o in score.discrepancies if not o.recalled_by]
    lines.append(f"discrepancies recalled: {', '.join(recalled) or 'none'}; missed: {', '.join(missed) or 'none'}")
    return lines


def _gate_line(report: EvalReport) -> str | None:
    c = report.comparison
    if c is None:
        return None
    return f"gate passed: {c.b} is not worse than {c.a} on any gated metric" if c.passed else c.failure_line()


# -- Markdown ----------------------------------------------------------------------------------------
def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, headers)) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: EvalReport) -> str:
    parts = [f"# Eval report\n\nCreated {report.created} by summarizer {report.summarizer_version}."]
    parts.append("## Cases\n\n" + _md_table(
        ["case", "title", "articles", "gold facts", "consensus", "discrepancies"],
        [[c.id, c.title, str(c.articles), str(c.gold_facts), str(c.gold_consensus), str(c.gold_discrepancies)]
         for c in report.cases],
    ))  # fmt: skip
    parts.append("## Runs\n\n" + _md_table(
        ["run", "engine", "provider", "model", "prompts", "cached articles", "wall seconds"],
        [[r.label, r.engine, r.provider, r.model, r.prompts or "—", str(r.cached_articles), f"{r.wall_seconds:.1f}"]
         for r in report.runs],
    ))  # fmt: skip
    parts.append("## Metrics (all cases)\n\n" + _md_table(_headers(report), _metric_rows(report)))
    if line := _gate_line(report):
        parts.append(f"**{line}**")
    parts.append("Definitions: " + "; ".join(f"*{m.label}*: {m.description}" for m in METRICS) + ".")
    for case in report.cases:
        names = [_run_name(r) for r in report.runs]
        parts.append(f"## Case {case.id}\n\n" + _md_table(["metric", *names], _case_rows(report, case.id)))
        parts.append("### Per article\n\n" + _md_table(["article", "metric", *names], _article_rows(report, case.id)))
        for run in report.runs:
            parts.append(f"### {_run_name(run)}: misses\n\n" + "\n".join(f"- {x}" for x in _details(run, case.id)))
    return "\n\n".join(parts) + "\n"


# -- HTML ----------------------------------------------------------------------------------------------
def chart_svg(runs: Sequence[RunResult]) -> str:
    """A horizontal grouped bar chart of the rate metrics, one bar per run, as inline SVG."""
    rates = [m for m in METRICS if m.rate]
    bar, gap, label_w, plot_w = 14, 10, 190, 420
    group_h = bar * len(runs) + gap
    legend_h = 22 * len(runs) + 10
    height = legend_h + group_h * len(rates) + 30
    width = label_w + plot_w + 70
    e = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="metrics by run" font-family="sans-serif" font-size="12">'
    ]
    for i, run in enumerate(runs):
        y = 8 + 22 * i
        out.append(f'<rect x="{label_w}" y="{y}" width="14" height="14" fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{label_w + 20}" y="{y + 12}">{e(_run_name(run))}</text>')
    top = legend_h
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = label_w + tick * plot_w
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + group_h * len(rates)}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + group_h * len(rates) + 16}" text-anchor="middle">{tick:g}</text>')
    for j, metric in enumerate(rates):
        y0 = top + j * group_h
        out.append(f'<text x="{label_w - 8}" y="{y0 + group_h / 2 + 2:.1f}" text-anchor="end">{e(metric.label)}</text>')
        for i, run in enumerate(runs):
            value = run.metrics.get(metric.name)
            y = y0 + i * bar
            if value is None:
                out.append(f'<text x="{label_w + 4}" y="{y + bar - 3}" fill="#999">n/a</text>')
                continue
            w = max(value, 0.0) * plot_w
            colour = PALETTE[i % len(PALETTE)]
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{colour}">')
            out.append(f"<title>{e(_run_name(run))}: {e(metric.label)} {value:.3f}</title></rect>")
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar - 3}">{value:.3f}</text>')
    out.append("</svg>")
    return "".join(out)


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            cls = ' class="fail"' if cell == "FAIL" else ""
            cells.append(f"<td{cls}>{e(cell)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
td.fail{color:#b00;font-weight:bold}.pass{color:#070}.failed{color:#b00}
li{margin:.15rem 0}
"""


def to_html(report: EvalReport) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>summarizer eval report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Eval report</h1><p>Created {e(report.created)} by summarizer {e(report.summarizer_version)}.</p>",
        "<h2>Cases</h2>",
        _html_table(
            ["case", "title", "articles", "gold facts", "consensus", "discrepancies"],
            [
                [c.id, c.title, str(c.articles), str(c.gold_facts), str(c.gold_consensus), str(c.gold_discrepancies)]
                for c in report.cases
            ],
        ),
        "<h2>Runs</h2>",
        _html_table(
            ["run", "engine", "provider", "model", "prompts", "cached articles", "wall seconds"],
            [
                [
                    r.label,
                    r.engine,
                    r.provider,
                    r.model,
                    r.prompts or "—",
                    str(r.cached_articles),
                    f"{r.wall_seconds:.1f}",
                ]
                for r in report.runs
            ],
        ),
        "<h2>Metrics (all cases)</h2>",
        chart_svg(report.runs),
        _html_table(_headers(report), _metric_rows(report)),
    ]
    if line := _gate_line(report):
        cls = "pass" if report.comparison and report.comparison.passed else "failed"
        parts.append(f"<p class='{cls}'><strong>{e(line)}</strong></p>")
    parts.append("<details><summary>Metric definitions</summary><ul>")
    parts += [f"<li><b>{e(m.label)}</b>: {e(m.description)}</li>" for m in METRICS]
    parts.append("</ul></details>")
    names = [_run_name(r) for r in report.runs]
    for case in report.cases:
        parts.append(f"<h2>Case {e(case.id)}</h2>")
        parts.append(_html_table(["metric", *names], _case_rows(report, case.id)))
        parts.append("<h3>Per article</h3>")
        parts.append(_html_table(["article", "metric", *names], _article_rows(report, case.id)))
        for run in report.runs:
            parts.append(f"<details><summary>{e(_run_name(run))}: misses</summary><ul>")
            parts += [f"<li>{e(line)}</li>" for line in _details(run, case.id)]
            parts.append("</ul></details>")
    parts.append("</body></html>\n")
    return "".join(parts)
