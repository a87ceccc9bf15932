"""The reports: JSON, Markdown and HTML carry the same numbers and sections; hostile article text stays inert;
cases whose corpus text is absent are named as skipped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from summarizer.cli import main
from summarizer.evaluate.gold import bundled_cases_dir
from summarizer.evaluate.metrics import METRICS, show
from summarizer.evaluate.report import EvalReport, md
from summarizer.evaluate.scaffold import dump, skeleton
from summarizer.load import load

SEED = bundled_cases_dir() / "hasakah.yaml"
HOSTILE = (
    "Officials said <script>alert('x')</script> and [click here](javascript:alert(1)) then "
    "<img src=x onerror=alert(2)> with {{ 7 * 7 }} and {% if true %}a block{% endif %} | a pipe."
)


def _eval(tmp_path: Path, *args: str) -> tuple[int, EvalReport | None]:
    out = tmp_path / "out"
    code = main(["eval", "--engine", "extractive", "-o", str(out), "--quiet", *args])
    report = out / "report.json"
    return code, EvalReport.model_validate_json(report.read_text()) if report.exists() else None


def _text(tmp_path: Path, name: str) -> str:
    return (tmp_path / "out" / name).read_text(encoding="utf-8")


def _second_seed(tmp_path: Path) -> Path:
    """The seed case under another ID, so a run has two cases."""
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    data["id"] = "hasakah-again"
    for article in data["articles"]:
        article.pop("path", None)  # the inline text stands on its own
    path = tmp_path / "cases" / "again.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump(data), encoding="utf-8")
    return path


def test_the_baseline_over_the_seed_writes_every_new_section(tmp_path: Path) -> None:
    code, report = _eval(tmp_path, str(SEED))
    assert code == 0 and report is not None
    [run] = report.runs
    for name in ("discrepancy_precision", "discrepancy_recall_figure", "timeline_recall", "timeline_date_accuracy"):
        assert run.metrics[name] is not None and name in run.summary
    assert run.summary["fact_recall"].interval is None  # one case: no interval over cases
    [score] = run.cases
    assert len(score.timeline) == report.cases[0].gold_timeline == 7
    markdown, html = _text(tmp_path, "report.md"), _text(tmp_path, "report.html")
    for heading in ("## Discrepancies by kind", "## Per case", "## False alarms", "### Summary: baseline"):
        assert heading in markdown
    assert "not meaningful" in markdown and "not meaningful" in html
    assert "<h2>Discrepancies by kind, timeline and consensus</h2>" in html and "<h2>Per case</h2>" in html
    for heading in ("Facts", "Consensus", "Discrepancies", "False alarms", "Timeline"):
        assert f"<h4>{heading}</h4>" in html
    assert "labelled date" in html and "predicted ISO" in html and "source's words" in html
    assert html.count("<svg") == 2
    assert "<script" not in html and "<link" not in html and "src=" not in html  # self-contained


def test_json_markdown_and_html_carry_the_same_numbers_with_intervals(tmp_path: Path) -> None:
    code, report = _eval(tmp_path, str(SEED), str(_second_seed(tmp_path)))
    assert code == 0 and report is not None
    [run] = report.runs
    markdown, html = _text(tmp_path, "report.md"), _text(tmp_path, "report.html")
    for m in METRICS:
        summary = run.summary[m.name]
        value = show(m.name, run.metrics[m.name])
        assert f"| {md(m.label)} | {md(value)}" in markdown
        if summary.interval is not None:
            cell = f"{value} [{summary.interval.low:.3f}, {summary.interval.high:.3f}]"
            assert md(cell) in markdown and f"<td>{cell}</td>" in html
    # Two identical cases: every interval over cases is a point, and the error bars are drawn.
    interval = run.summary["fact_recall"].interval
    assert interval is not None and interval.low == interval.high == run.metrics["fact_recall"]
    assert '<g stroke="#000"' in html


def _hostile_case(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, lead in (("one.txt", "Title one"), ("two.txt", "Title two")):
        (folder / name).write_text(f"{lead} {HOSTILE}\n\n{HOSTILE} Police counted 12 cars.\n", encoding="utf-8")
    docs = load([str(folder / "one.txt"), str(folder / "two.txt")])
    data: dict[str, Any] = skeleton("hostile", f"Case {HOSTILE}", docs, tmp_path)
    data["facts"] = {"a1": [{"id": "f1", "kind": "claim", "statement": HOSTILE, "support": ["s1"]}]}
    data["discrepancies"] = [
        {
            "id": "d1",
            "kind": "figure",
            "topic": HOSTILE,
            "sides": [
                {"statement": HOSTILE, "support": {"a1": ["s1"]}},
                {"statement": HOSTILE, "support": {"a2": ["s1"]}},
            ],
        }
    ]
    path = folder / "hostile.yaml"
    path.write_text(dump(data), encoding="utf-8")
    return path


def test_hostile_article_text_is_inert_in_html_and_markdown(tmp_path: Path) -> None:
    code, report = _eval(tmp_path, str(_hostile_case(tmp_path)))
    assert code == 0 and report is not None
    html, markdown = _text(tmp_path, "report.html"), _text(tmp_path, "report.md")
    assert HOSTILE in report.cases[0].title  # the JSON keeps the text as it is
    # HTML: autoescaped, and the template syntax is printed, not run.
    assert "<script" not in html and "<img" not in html and "href=" not in html and "onerror=alert(2)>" not in html
    assert "&lt;script&gt;" in html and "{{ 7 * 7 }}" in html and "{% if true %}" in html
    # Markdown: no raw HTML, no link, no table cell broken by the pipe.
    assert "<script" not in markdown and "<img" not in markdown
    assert re.search(r"(?<!\\)\]\(", markdown) is None  # every "](" has its bracket escaped: no link
    assert "\\[click here\\](javascript:alert(1))" in markdown
    assert "&lt;script&gt;" in markdown
    assert "\\| a pipe" in markdown and re.search(r"(?<!\\)\| a pipe", markdown) is None


def test_the_markdown_escaper_leaves_nothing_that_renders() -> None:
    assert md("[x](javascript:alert(1))") == "\\[x\\](javascript:alert(1))"
    assert md("<a href='j'>x</a>") == "&lt;a href='j'&gt;x&lt;/a&gt;"
    assert md("**bold** _it_ `code` a|b") == "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` a\\|b"
    assert md("1. not a list") == "1\\. not a list" and md("- not an item") == "\\- not an item"
    assert md("0.594 [0.5, 0.7]") == "0.594 \\[0.5, 0.7\\]"
    assert md("two\nlines") == "two lines"


@pytest.fixture()
def corpus_case(tmp_path: Path) -> tuple[Path, Path]:
    """A format-2 case whose article text lives in a corpus folder, never in the case."""
    corpus = tmp_path / "corpus"
    (corpus / "ev").mkdir(parents=True)
    for name in ("one.txt", "two.txt"):
        (corpus / "ev" / name).write_text(f"Headline {name}\n\nThe council met on Monday. It voted 7 to 2.\n")
    docs = load([str(corpus / "ev" / "one.txt"), str(corpus / "ev" / "two.txt")])
    data = skeleton("corpus-event", "A council vote", docs, tmp_path, corpus)
    data["facts"] = {"a1": [{"id": "vote", "kind": "quantity", "statement": "It voted 7 to 2.", "support": ["s2"]}]}
    path = tmp_path / "cases" / "corpus-event.yaml"
    path.parent.mkdir()
    path.write_text(dump(data), encoding="utf-8")
    return path, corpus


def test_cases_without_their_corpus_text_are_named_as_skipped(
    tmp_path: Path, corpus_case: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    case, corpus = corpus_case
    empty = tmp_path / "empty"
    empty.mkdir()
    code, report = _eval(tmp_path, str(SEED), str(case), "--corpus", str(empty))
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0 and report is not None
    assert [c.id for c in report.cases] == ["hasakah"]
    assert f"skipped {case}" in err and "ev/one.txt" in err
    assert len(report.skipped) == 1 and str(case) in report.skipped[0]
    assert "Skipped" in _text(tmp_path, "report.md") and "Skipped cases" in _text(tmp_path, "report.html")
    # With the corpus the same case runs.
    code, report = _eval(tmp_path, str(SEED), str(case), "--corpus", str(corpus))
    assert code == 0 and report is not None and [c.id for c in report.cases] == ["hasakah", "corpus-event"]
    assert not report.skipped


def test_with_every_case_skipped_there_is_nothing_to_run(
    tmp_path: Path, corpus_case: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    case, _ = corpus_case
    code, report = _eval(tmp_path, str(case), "--corpus", str(tmp_path))
    assert code != 0 and report is None
    assert "no case to run" in " ".join(capsys.readouterr().err.split())


def test_format_one_cases_load_unchanged(tmp_path: Path) -> None:
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    data.update(format="summarizer-eval-case/1", id="old-format")
    data.pop("timeline")
    path = tmp_path / "old.yaml"
    path.write_text(dump(data), encoding="utf-8")
    code, report = _eval(tmp_path, str(path))
    assert code == 0 and report is not None
    [run] = report.runs
    assert run.metrics["timeline_recall"] is None  # no labels: n/a, never 0 or 1
    assert run.metrics["fact_recall"] is not None
