"""The terminal command, called in-process as ``main(argv)``, against a scripted loopback server."""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from summarizer import render
from summarizer.cli import main
from summarizer.templates import DEFAULT_VERSION
from tests.doubles.answers import brief_answer, copying_answer, is_brief_request
from tests.doubles.server import Reply, ScriptedServer
from tests.test_providers import refused_base_url

ROOT = Path(__file__).resolve().parent.parent


def respond(request: dict) -> Reply:  # type: ignore[type-arg]
    return Reply.tool(brief_answer(request) if is_brief_request(request) else copying_answer(request))


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with ScriptedServer(default=respond) as s:
        yield s


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_brief_json_validates_against_the_published_schema(server, seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["brief", str(seeds_dir), "--base-url", server.base_url, "--format", "json", "-q"], capsys)
    assert code == 0
    data = json.loads(out)
    schema = json.loads((ROOT / "schemas" / "brief.schema.json").read_text())
    jsonschema.validate(data, schema)
    texts = {a["id"]: a["text"] for a in data["articles"]}
    citations = [c for s in data["summaries"] for claim in s["summary"] + s["facts"] for c in claim["citations"]]
    citations += [c for claim in data["overview"] for c in claim["citations"]]
    assert citations
    for c in citations:
        assert set(c) == {"article_id", "sentence_id", "start", "end", "text"}
        assert texts[c["article_id"]][c["start"] : c["end"]] == c["text"]
    assert "dropped" in data and isinstance(data["dropped"], list)


def test_published_schema_files_match_the_models() -> None:
    for which in render.SCHEMAS:
        on_disk = (ROOT / "schemas" / f"{which}.schema.json").read_text()
        assert on_disk == render.json_schema(which), f"run: summarizer schema --write schemas ({which})"


def test_rich_output_shows_sections_markers_and_sources(server, seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["brief", str(seeds_dir), "--base-url", server.base_url, "-q"], capsys)
    assert code == 0
    for heading in ("Overview", "Consensus", "Discrepancies", "Timeline", "Sources"):
        assert heading in out
    assert "[1.1" in out  # a citation marker: article 1, sentence 1


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_markdown_and_html_written_to_a_file(server, seeds_dir, tmp_path, capsys, fmt) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / f"brief.{fmt}"
    code, _, err = run(["brief", str(seeds_dir), "--base-url", server.base_url, "-f", fmt, "-o", str(target)], capsys)
    assert code == 0 and str(target) in err
    text = target.read_text()
    if fmt == "html":
        assert text.startswith("<!doctype html>") and 'href="#a1-s1"' in text and 'id="a1-s1"' in text
        assert "<script" not in text and "http" not in text.split("<body>")[0]  # self-contained: no external assets
    else:
        assert "## Sources" in text and "](#a1-s1)" in text


def test_summarize_one_article(server, seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    path = seeds_dir / "001_5f4370996e979ae7.txt"
    code, out, _ = run(["summarize", str(path), "--base-url", server.base_url, "-f", "json", "-q"], capsys)
    data = json.loads(out)
    assert code == 0 and len(data["articles"]) == 1 and data["overview"] == []
    assert not any(is_brief_request(r) for r in server.requests)


def test_stdin_is_an_input(server, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text = "A title\n\nThe council met on Monday. It approved 12 new schools in Springfield.\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = run(["summarize", "-", "--base-url", server.base_url, "-f", "json", "-q"], capsys)
    assert code == 0 and json.loads(out)["articles"][0]["origin"] == "<stdin>"


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("summarizer: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_no_input_is_one_line_and_nonzero(capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["brief"], capsys)
    assert code != 0 and "no input" in one_error_line(err)


def test_missing_file_is_one_line_and_nonzero(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["brief", str(tmp_path / "nope.txt")], capsys)
    assert code == 3 and "no such file" in one_error_line(err)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty"), (b"\x00\x01\x02binary\x00", "binary"), ("Caf\xe9 au lait\n\nbody".encode("latin-1"), "UTF-8")],
)
def test_bad_files_are_one_clear_error_each(tmp_path, capsys, content, problem) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    code, _, err = run(["brief", str(path)], capsys)
    line = one_error_line(err)
    assert code == 3 and problem in line and str(path) in line


@pytest.mark.parametrize("command", ["brief", "summarize"])
def test_a_refused_connection_is_one_line_within_two_seconds(seeds_dir, capsys, command) -> None:  # type: ignore[no-untyped-def]
    source = seeds_dir if command == "brief" else seeds_dir / "001_5f4370996e979ae7.txt"
    with refused_base_url() as base_url:
        started = time.monotonic()
        code, _, err = run([command, str(source), "--base-url", base_url, "--model", "m", "-q"], capsys)
        elapsed = time.monotonic() - started
    line = one_error_line(err)
    assert code == 4 and "cannot reach" in line and "connection refused" in line and base_url in line
    assert elapsed < 2.0, f"took {elapsed:.1f}s"


@pytest.mark.parametrize(("command", "says"), [("brief", "any of the 3 articles"), ("summarize", "the article")])
def test_a_model_that_never_answers_usably_is_exit_5_in_one_line(seeds_dir, capsys, command, says) -> None:  # type: ignore[no-untyped-def]
    source = seeds_dir if command == "brief" else seeds_dir / "001_5f4370996e979ae7.txt"
    with ScriptedServer(default=lambda request: Reply.content("I would rather answer in prose.")) as server:
        code, out, err = run([command, str(source), "--base-url", server.base_url, "-f", "json"], capsys)
    line = one_error_line(err)
    assert code == 5 and out == ""
    assert f"model 'scripted-model' gave no usable answer for {says} (a1: no usable answer after 3 call(s)" in line
    assert not any(is_brief_request(r) for r in server.requests)


def test_a_refused_key_is_exit_4_in_one_line(seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer(default=lambda request: Reply.error(401, message="bad key")) as server:
        code, out, err = run(["brief", str(seeds_dir), "--base-url", server.base_url, "--api-key", "sk-x"], capsys)
    assert code == 4 and out == ""
    assert one_error_line(err) == "summarizer: error: the model server refused the API key (HTTP 401)"


def test_one_unusable_answer_among_good_ones_still_makes_the_brief(seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    def reply(request: dict) -> Reply:  # type: ignore[type-arg]
        unusable = not is_brief_request(request) and "Ghweran" in str(request["messages"])  # the second seed
        return Reply.content("no idea") if unusable else respond(request)

    with ScriptedServer(default=reply) as server:
        code, out, _ = run(["brief", str(seeds_dir), "--base-url", server.base_url, "-f", "json", "-q"], capsys)
    data = json.loads(out)
    assert code == 0 and [s["status"] for s in data["summaries"]] == ["ok", "failed", "ok"] and data["overview"]


def test_explicit_openai_model_without_key_is_one_line(seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["brief", str(seeds_dir), "--model", "gpt-4o"], capsys)
    assert code == 2 and "OPENAI_API_KEY" in one_error_line(err)


def test_compatible_server_model_defaults_to_the_first_listed(server, seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(["brief", str(seeds_dir), "--base-url", server.base_url, "-f", "json", "-q"], capsys)
    assert code == 0 and json.loads(out)["run"]["model"] == server.model
    assert {r["model"] for r in server.requests} == {server.model}


def parsers(parser: argparse.ArgumentParser, name: str = "summarizer") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser of the command line, with the words that reach it ("summarizer batch run")."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action.choices, dict):  # a sub-command action: its choices are the sub-parsers
            for word, child in action.choices.items():
                yield from parsers(child, f"{name} {word}")


def test_every_option_of_every_command_has_help() -> None:
    from summarizer.cli import build_parser

    found = dict(parsers(build_parser()))
    assert {"summarizer brief", "summarizer eval", "summarizer batch run", "summarizer batch export"} <= set(found)
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, parser in found.items()
        for action in parser._actions
        if not action.help and not isinstance(action, argparse._HelpAction) and not isinstance(action.choices, dict)
    ]
    assert missing == []


def test_every_command_says_what_it_does() -> None:
    from summarizer.cli import build_parser

    for name, parser in parsers(build_parser()):
        assert parser.description, f"{name} has no description"
        for action in parser._actions:
            if isinstance(action.choices, dict):
                lines = {a.dest: a.help for a in action._choices_actions}  # the one-line help of each sub-command
                assert set(lines) == set(action.choices) and all(lines.values()), f"{name}: {lines}"


def test_the_prompts_option_names_the_default_set(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["brief", "--help"])
    assert f"(default: {DEFAULT_VERSION})" in " ".join(capsys.readouterr().out.split())


def test_summarize_refuses_several_articles_before_asking_the_model(server, seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(["summarize", str(seeds_dir), "--base-url", server.base_url, "-q"], capsys)
    assert code == 3 and "holds 3 articles" in one_error_line(err)
    assert server.requests == []


def test_the_extractive_engine_needs_no_model(seeds_dir, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["brief", str(seeds_dir), "--engine", "extractive", "--model", "gpt-4o", "-f", "json", "-q"]
    code, out, _ = run(argv, capsys)  # a model that would need a key: never resolved
    data = json.loads(out)
    assert code == 0 and len(data["articles"]) == 3 and data["overview"]
    assert data["stats"]["calls"] == 0
