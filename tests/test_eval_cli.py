"""``summarizer eval`` end to end against a scripted model: reports, the --compare gate, the cache."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from summarizer.cli import main
from summarizer.evaluate.gold import LoadedCase, bundled_cases_dir, load_case
from summarizer.evaluate.oracle import article_answer
from summarizer.evaluate.report import EvalReport
from summarizer.summarize import numbered_sentences
from summarizer.templates import load_prompts
from tests.doubles.server import Reply, ScriptedServer

ROOT = Path(__file__).resolve().parent.parent
WORSE = ROOT / "evals" / "prompts" / "v1-worse"


@pytest.fixture(scope="module")
def case() -> LoadedCase:
    return load_case(bundled_cases_dir() / "hasakah.yaml")


def labelled_model(case: LoadedCase, *, worse_system: str | None = None, worse_facts: int = 3) -> Any:
    """A scripted model that answers every article with its gold facts; fewer of them for the worse prompt."""

    def reply(request: dict[str, Any]) -> Reply:
        messages = request["messages"]
        tool = request["tools"][0]["function"]["name"]
        if tool == "BriefExtraction":
            first = case.facts("a1")[0]
            return Reply.tool({"overview": [{"cites": ["a1.f1"], "text": first.statement}]})
        article = next(a for a in case.articles if numbered_sentences(a) in messages[1]["content"])
        worse = worse_system is not None and messages[0]["content"] == worse_system
        return Reply.tool(article_answer(case, article.id, facts=worse_facts if worse else None))

    return reply


def run_eval(server: ScriptedServer, tmp_path: Path, *args: str) -> tuple[int, EvalReport | None]:
    out = tmp_path / "out"
    seed = str(bundled_cases_dir() / "hasakah.yaml")  # the scripted model knows the seed case's articles only
    argv = ["eval", seed, "--base-url", server.base_url, "--model", "scripted-model", "-o", str(out), "--quiet", *args]
    if "--no-cache" not in args and "--cache" not in args:
        argv += ["--cache", str(tmp_path / "cache.sqlite")]
    code = main(argv)
    report = out / "report.json"
    return code, EvalReport.model_validate_json(report.read_text()) if report.exists() else None


def test_compare_fails_the_gate_on_a_worse_prompt(
    case: LoadedCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worse_system = load_prompts(WORSE).summarize.system.strip()
    with ScriptedServer(default=labelled_model(case, worse_system=worse_system)) as server:
        code, report = run_eval(server, tmp_path, "--compare", "v1", str(WORSE))
    assert code == 1
    assert report is not None and report.comparison is not None
    assert not report.comparison.passed
    assert "fact_recall" in report.comparison.regressions
    a, b = report.runs[-2], report.runs[-1]
    assert b.metrics["fact_recall"] < a.metrics["fact_recall"]
    err = capsys.readouterr().err
    assert "gate failed" in err and "fact_recall" in err
    row = next(r for r in report.comparison.rows if r.metric == "fact_recall")
    assert row.verdict == "worse" and row.cases == 1  # one case: the point difference decides
    md = (tmp_path / "out" / "report.md").read_text()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "## Gate: B: " in md and "| fact recall |" in md
    assert "FAIL (worse)" in md and '<td class="fail">FAIL (worse)</td>' in html


def test_compare_passes_when_nothing_got_worse(
    case: LoadedCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with ScriptedServer(default=labelled_model(case)) as server:
        code, report = run_eval(server, tmp_path, "--compare", "v1", str(WORSE))
    assert code == 0
    assert report is not None and report.comparison is not None and report.comparison.passed
    assert "gate passed" in capsys.readouterr().out


def test_a_tolerance_wide_enough_lets_the_worse_prompt_through(case: LoadedCase, tmp_path: Path) -> None:
    worse_system = load_prompts(WORSE).summarize.system.strip()
    with ScriptedServer(default=labelled_model(case, worse_system=worse_system, worse_facts=9)) as server:
        strict, _ = run_eval(server, tmp_path, "--compare", "v1", str(WORSE))
        lenient, report = run_eval(server, tmp_path, "--compare", "v1", str(WORSE), "--gate", "fact_recall=0.2")
    assert (strict, lenient) == (1, 0)
    assert report is not None and report.comparison is not None
    row = next(r for r in report.comparison.rows if r.metric == "fact_recall")
    assert row.tolerance == 0.2 and row.delta is not None and -0.2 < row.delta < 0


def test_one_run_writes_all_reports_with_the_baseline_row(case: LoadedCase, tmp_path: Path) -> None:
    with ScriptedServer(default=labelled_model(case)) as server:
        code, report = run_eval(server, tmp_path)
    assert code == 0 and report is not None
    assert [r.engine for r in report.runs] == ["extractive", "llm"]
    model = report.runs[1]
    # The scripted model states the gold facts (up to the schema's ten per article).
    assert model.metrics["fact_precision"] == 1.0
    assert model.metrics["citation_validity"] == 1.0
    assert model.metrics["schema_valid_rate"] == 1.0
    assert model.counts.calls == len(case.articles) + 1
    assert model.metrics["fact_recall"] > report.runs[0].metrics["fact_recall"]
    out = tmp_path / "out"
    html = (out / "report.html").read_text()
    assert "<svg" in html and "fact recall" in html
    assert "<script" not in html and "<link" not in html and "src=" not in html  # self-contained
    md = (out / "report.md").read_text()
    assert "| fact recall |" in md and "baseline (extractive)" in md
    brief = json.loads((out / "briefs" / "baseline" / f"{case.id}.json").read_text())
    assert brief["run"]["engine"] == "extractive"


def test_a_rerun_is_answered_from_the_cache_and_no_cache_asks_again(case: LoadedCase, tmp_path: Path) -> None:
    with ScriptedServer(default=labelled_model(case)) as server:
        _, first = run_eval(server, tmp_path)
        asked = len(server.requests)
        _, second = run_eval(server, tmp_path)
        assert len(server.requests) == asked  # free: no model call
        _, third = run_eval(server, tmp_path, "--no-cache")
        assert len(server.requests) == 2 * asked
    assert first is not None and second is not None and third is not None
    assert second.runs[1].metrics == first.runs[1].metrics  # identical, time included: deterministic
    untimed = {k: v for k, v in third.runs[1].metrics.items() if k != "seconds_per_article"}
    assert untimed == {k: v for k, v in first.runs[1].metrics.items() if k != "seconds_per_article"}
    assert second.runs[1].cached_articles == len(case.articles)
    assert first.runs[1].cached_articles == third.runs[1].cached_articles == 0


def test_the_cache_never_stores_the_api_key(case: LoadedCase, tmp_path: Path) -> None:
    secret = "sk-test-5b9f0c0ffee"
    with ScriptedServer(default=labelled_model(case)) as server:
        code, _ = run_eval(server, tmp_path, "--api-key", secret)
        assert code == 0 and server.requests and all(r["_authorized"] for r in server.requests)
    raw = (tmp_path / "cache.sqlite").read_bytes()
    with sqlite3.connect(tmp_path / "cache.sqlite") as db:
        rows = db.execute("SELECT key, value FROM responses").fetchall()
    assert rows and secret.encode() not in raw
    assert all(secret not in key and secret not in value for key, value in rows)


def test_the_extractive_engine_needs_no_model(tmp_path: Path) -> None:
    code = main(["eval", "--engine", "extractive", "-o", str(tmp_path), "--quiet"])
    assert code == 0
    report = EvalReport.model_validate_json((tmp_path / "report.json").read_text())
    assert [r.engine for r in report.runs] == ["extractive"]
    assert report.runs[0].metrics["schema_valid_rate"] is None  # no model answers: n/a, not 0 or 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gate", "fact_recal=0.1"], "METRIC=TOLERANCE"),
        (["--gate", "fact_recall=lots"], "not a number"),
        (["--tolerance", "-1"], "zero or more"),
        (["--engine", "extractive", "--compare", "v1", "v1"], "needs --engine llm"),
        (["--prompts", "v1", "--compare", "v1", "v1"], "not both"),
        (["--compare", "v1", "no-such-prompts"], "no prompt set"),
        (["no-such-case.yaml"], "no such case"),
        (["--repeat", "0"], "at least 1"),
        (["--repeat", "2", "--engine", "extractive"], "deterministic"),
        (["--corpus", "/no/such/corpus"], "no such folder"),
    ],
)
def test_bad_options_are_one_clear_error(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["eval", "-o", str(tmp_path), "--no-cache", "--base-url", "http://127.0.0.1:9/v1", *args])
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines at the console width
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "report.json").exists()


def test_eval_has_help_text() -> None:
    from summarizer.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert "eval" in sub.choices  # type: ignore[operator]
    assert sub.choices["eval"].description  # type: ignore[index]


def test_repeat_runs_a_stochastic_model_n_times_and_keeps_every_run(case: LoadedCase, tmp_path: Path) -> None:
    with ScriptedServer(default=labelled_model(case)) as server:
        code, report = run_eval(server, tmp_path, "--repeat", "2", "--temperature", "0.7", "--no-baseline")
        # Each run has its own generation seed, so the second is asked, not served from the cache.
        assert len(server.requests) == 2 * (len(case.articles) + 1)
    assert code == 0 and report is not None
    [model] = report.runs
    assert model.repeats == 2 and [c.repeat for c in model.cases] == [0, 1]
    assert model.counts.gold_facts == 2 * case.case.fact_count()


def test_the_old_tolerance_gate_is_an_option(case: LoadedCase, tmp_path: Path) -> None:
    worse_system = load_prompts(WORSE).summarize.system.strip()
    with ScriptedServer(default=labelled_model(case, worse_system=worse_system)) as server:
        code, report = run_eval(server, tmp_path, "--compare", "v1", str(WORSE), "--gate-mode", "tolerance")
    assert code == 1 and report is not None and report.comparison is not None
    assert report.comparison.mode == "tolerance" and "fact_recall" in report.comparison.regressions


def test_progress_names_the_case_and_article(
    case: LoadedCase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = str(bundled_cases_dir() / "hasakah.yaml")
    with ScriptedServer(default=labelled_model(case)) as server:
        argv = ["eval", seed, "--base-url", server.base_url, "--model", "m", "-o", str(tmp_path), "--no-cache"]
        assert main([*argv, "--no-baseline"]) == 0
    err = capsys.readouterr().err
    for article in case.articles:
        assert f"hasakah {article.id} " in err  # "v1@…: hasakah a2 <title>" while that article is asked
    assert "hasakah cross-article brief" in err


def test_repeating_a_cached_temperature_zero_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["eval", "-o", str(tmp_path), "--cache", str(tmp_path / "c.sqlite"), "--base-url", "http://127.0.0.1:9/v1"]
    assert main([*argv, "--repeat", "2"]) != 0
    assert "--temperature above 0" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "c.sqlite").exists() and not (tmp_path / "report.json").exists()


def test_the_help_lists_the_new_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["eval", "--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--corpus", "--gate-mode", "--repeat", "--bootstrap-seed", "95 % interval"):
        assert option in text
