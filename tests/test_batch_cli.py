"""``summarizer batch``, ``batch status`` and ``batch export`` through the real command line parser."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from summarizer.cli import build_parser, main, with_default_action
from tests.doubles.answers import answer
from tests.doubles.server import Reply, ScriptedServer
from tests.doubles.synthetic import synthetic_articles
from tests.test_providers import refused_base_url


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    with ScriptedServer(default=lambda request: Reply.tool(answer(request))) as s:
        yield s


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in synthetic_articles(6, per_event=3, seed=21)))
    return path


def batch(feed: Path, store: Path, server: ScriptedServer, *extra: str) -> int:
    argv = ["batch", str(feed), "--store", str(store), "--base-url", server.base_url, "--model", "scripted", *extra]
    return main(argv)


def test_batch_run_status_and_export(tmp_path: Path, feed: Path, server: ScriptedServer, capsys) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "b.db"
    assert batch(feed, store, server) == 0
    assert "6 new" in capsys.readouterr().err

    assert main(["batch", "status", "--store", str(store), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["states"] == {"done": 6} and status["pending"] == 0
    assert (status["events"], status["briefed_events"]) == (2, 2)
    assert status["runs"][0]["status"] == "completed"

    assert main(["batch", "export", "--store", str(store), "--format", "jsonl"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    articles = [r for r in records if r["type"] == "article"]
    events = [r for r in records if r["type"] == "event"]
    assert len(articles) == 6 and all(a["status"] == "done" and a["summary"] for a in articles)
    assert len(events) == 2 and all(e["brief"] and e["brief"]["overview"] for e in events)
    for event in events:  # every brief claim cites exact sentences of the event's articles
        texts = {a["id"]: a["text"] for a in event["brief"]["articles"]}
        for claim in event["brief"]["overview"]:
            for c in claim["citations"]:
                assert c["article_id"] in event["articles"]
                assert texts[c["article_id"]][c["start"] : c["end"]] == c["text"]

    out = tmp_path / "report.md"
    assert main(["batch", "export", "--store", str(store), "--format", "md", "-o", str(out)]) == 0
    report = out.read_text(encoding="utf-8")
    assert report.count("\n## Event ") == 2 and report.count("\n#### a") == 6


def test_run_may_be_named_explicitly(tmp_path: Path, feed: Path, server: ScriptedServer) -> None:
    store = tmp_path / "b.db"
    argv = ["batch", "run", str(feed), "--store", str(store), "--base-url", server.base_url, "--model", "m", "-q"]
    assert main(argv) == 0
    assert main(["batch", "status", "--store", str(store)]) == 0


def test_a_rerun_reports_everything_as_already_summarised(
    tmp_path: Path, feed: Path, server: ScriptedServer, capsys
) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "b.db"
    batch(feed, store, server)
    calls = len(server.requests)
    capsys.readouterr()
    assert batch(feed, store, server) == 0
    assert len(server.requests) == calls
    assert "6 already summarised" in capsys.readouterr().err


def test_pending_work_is_shown_with_the_command_that_resumes_it(tmp_path: Path, feed: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "b.db"
    with ScriptedServer(default=lambda r: Reply.error(401, message="bad key")) as refusing:
        assert batch(feed, store, refusing, "-q") == 4
    assert "HTTP 401" in capsys.readouterr().err
    assert main(["batch", "status", "--store", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "6 article(s) pending" in shown and f"summarizer batch {feed} --store {store}" in shown


def test_user_errors_are_one_line(tmp_path: Path, server: ScriptedServer, capsys) -> None:  # type: ignore[no-untyped-def]
    assert batch(tmp_path / "missing", tmp_path / "b.db", server) == 3
    assert " ".join(capsys.readouterr().err.split()).endswith("missing: no such file or directory")
    assert main(["batch", "status", "--store", str(tmp_path / "none.db")]) == 6
    assert "no such store" in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "none.db").exists()


def test_batch_alone_shows_its_own_usage(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["batch"]) == 2
    assert "summarizer batch status --store PATH" in capsys.readouterr().err


def test_every_batch_action_has_help_text() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    batch_parser = sub.choices["batch"]  # type: ignore[index]
    assert batch_parser.description
    actions = next(a for a in batch_parser._actions if a.dest == "batch_action")
    helps = {choice.dest: choice.help for choice in actions._choices_actions}
    assert set(helps) == {"run", "status", "export", "updates"} and all(helps.values())


def test_each_action_has_its_own_usage_line(capsys) -> None:  # type: ignore[no-untyped-def]
    for action in ("run", "status", "export", "updates"):
        with pytest.raises(SystemExit):
            main(["batch", action, "--help"])
        out = capsys.readouterr().out
        assert out.startswith(f"usage: summarizer batch {action} [-h] --store PATH"), out[:200]


@pytest.mark.parametrize(
    ("argv", "spelled_out"),
    [
        (["batch", "in/", "--store", "s"], ["batch", "run", "in/", "--store", "s"]),
        (["-v", "batch", "--store", "s", "in/"], ["-v", "batch", "run", "--store", "s", "in/"]),
        (["batch", "run", "in/"], ["batch", "run", "in/"]),
        (["batch", "status", "--store", "s"], ["batch", "status", "--store", "s"]),
        (["batch", "--help"], ["batch", "--help"]),
        (["batch"], ["batch"]),
        (["brief", "batch"], ["brief", "batch"]),  # an article folder named "batch"
    ],
)
def test_run_is_the_default_batch_action(argv: list[str], spelled_out: list[str]) -> None:
    assert with_default_action(argv) == spelled_out


def test_a_server_refusing_connections_stops_the_batch_at_once(tmp_path: Path, feed: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with refused_base_url() as base_url:
        started = time.monotonic()
        code = main(["batch", str(feed), "--store", str(tmp_path / "b.db"), "--base-url", base_url, "-m", "m", "-q"])
        elapsed = time.monotonic() - started
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 4 and len(lines) == 1 and "connection refused" in lines[0] and base_url in lines[0]
    assert elapsed < 2.0, f"took {elapsed:.1f}s"


def test_a_rerun_with_nothing_new_loads_no_model_client(tmp_path: Path, feed: Path, server: ScriptedServer) -> None:
    """An hourly job mostly finds nothing new: that run reads the store and stops, without importing the
    model clients and the segmenter (about a second of start-up), so a cached re-run stays quick."""
    store = tmp_path / "b.db"
    assert batch(feed, store, server) == 0
    calls = len(server.requests)
    heavy = ("openai", "httpx", "aiohttp", "pysbd", "summarizer.ask", "summarizer.transport")
    script = (
        "import sys\n"
        "from summarizer.cli import main\n"
        f"code = main(['batch', {str(feed)!r}, '--store', {str(store)!r}, '--base-url', {server.base_url!r},"
        " '--model', 'scripted', '--quiet'])\n"
        f"print(sorted(name for name in {heavy!r} if name in sys.modules))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert len(server.requests) == calls  # and nothing was asked of the model
    # The check can fail: a run with work does load them.
    fresh = script.replace(str(store), str(tmp_path / "new.db"))
    done = subprocess.run([sys.executable, "-c", fresh], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "openai" in done.stdout


TINY_INBOX = {
    "bridge-post.txt": (
        "Harlow Street bridge closed after cracks found\n"
        "2024-03-04\n"
        "The Harlow Street bridge in Riverside was closed on Monday after engineers found cracks in two of its "
        "supports, the city council said. About 12,000 vehicles cross the bridge each day. Council engineer Maria "
        "Delgado said repairs could take six weeks. Buses will use the Elm Road crossing until the bridge reopens.\n"
    ),
    "bridge-herald.txt": (
        "Cracks shut Riverside's Harlow Street bridge\n"
        "2024-03-05\n"
        "Riverside's Harlow Street bridge stayed closed on Tuesday after cracks were found in its supports. "
        "The council said about 14,000 vehicles cross the bridge each day. Maria Delgado, the council engineer, "
        "said the repairs to the bridge supports could take six weeks.\n"
    ),
    "lantern-post.txt": (
        "Lantern festival draws crowds to Riverside harbour\n"
        "2024-03-09\n"
        "More than 8,000 people watched the lantern festival at Riverside harbour on Saturday, organisers said. "
        "Festival director Tom Okafor said 600 lanterns were released over the water. The harbour festival "
        "returns next March.\n"
    ),
    "lantern-herald.txt": (
        "Harbour lantern festival lights up Riverside\n"
        "2024-03-10\n"
        "Crowds filled Riverside harbour on Saturday for the lantern festival, where 600 lanterns were released. "
        "Organisers said more than 9,000 people attended. Tom Okafor, the festival director, said the harbour "
        "festival would return next March.\n"
    ),
}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_extractive_engine_needs_no_model_and_keeps_its_results_apart(
    tmp_path: Path, workers: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    import summarizer.providers

    box = tmp_path / "inbox"
    box.mkdir()
    for name, text in TINY_INBOX.items():
        (box / name).write_text(text, encoding="utf-8")
    store = tmp_path / "b.db"

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the extractive engine resolved or started a model")

    with monkeypatch.context() as patched:
        for name in ("resolve", "running", "first_served_model"):
            patched.setattr(summarizer.providers, name, no_model)
        argv = ["batch", str(box), "--store", str(store), "--engine", "extractive", "--workers", workers]
        assert main(argv) == 0
    assert "4 summarised, 0 failed · 2 event brief(s) · 0 model call(s)" in capsys.readouterr().err

    assert main(["batch", "export", "--store", str(store)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    articles = [r for r in records if r["type"] == "article"]
    events = [r for r in records if r["type"] == "event"]
    assert {(a["model"], a["prompt_version"], a["status"]) for a in articles} == {("extractive", "none", "done")}
    assert len(events) == 2 and all(len(e["articles"]) == 2 for e in events)
    origin = {a["id"]: a["origin"] for a in articles}

    def sections(brief: dict[str, Any]) -> dict[str, list[str]]:
        names = ("overview", "consensus", "discrepancies", "timeline")
        return {name: sorted(str(item.get("text") or item.get("topic")) for item in brief[name]) for name in names}

    for event in events:  # what `summarizer brief --engine extractive` makes of the same articles
        brief = event["brief"]
        assert brief["run"]["engine"] == "extractive" and len(brief["overview"]) == 2 and brief["consensus"]
        texts = {a["id"]: a["text"] for a in brief["articles"]}
        for c in (c for claim in [*brief["overview"], *brief["consensus"]] for c in claim["citations"]):
            assert texts[c["article_id"]][c["start"] : c["end"]] == c["text"]
        assert main(["brief", *(origin[a] for a in event["articles"]), "--engine", "extractive", "-f", "json"]) == 0
        assert sections(brief) == sections(json.loads(capsys.readouterr().out))

    # A model's run over the same store is other work, and leaves the extractive results as they are.
    with ScriptedServer(default=lambda request: Reply.tool(answer(request))) as server:
        assert batch(box, store, server, "-q", "--workers", workers) == 0
        assert len(server.requests) == 4 + 2
    assert main(["batch", "status", "--store", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "scripted"
    assert main(["batch", "export", "--store", str(store), "--model", "extractive", "--prompt-version", "none"]) == 0
    again = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r for r in again if r["type"] == "article"] == articles
