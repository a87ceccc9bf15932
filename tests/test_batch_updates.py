"""Versioned event briefs in a real store: ``batch updates``, ``export --history``, and kill -9 mid re-brief.

The ferry story (examples/ferry) arrives in three runs; the expected changes are read off its texts by hand
(see tests/test_updates.py for the diff itself).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from summarizer.cli import main
from tests.doubles.answers import is_brief_request
from tests.doubles.server import Reply, ScriptedServer, responder

ROOT = Path(__file__).resolve().parents[1]
FERRY = ROOT / "examples" / "ferry"
SCHEMA = json.loads((ROOT / "schemas" / "updates.schema.json").read_text())


def batch(store: Path, run: int, *extra: str) -> None:
    argv = ["batch", str(FERRY / str(run)), "--store", str(store), "--min-event-articles", "1", "-q", *extra]
    assert main(argv) == 0


def updates(store: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["batch", "updates", "--store", str(store), "--format", "json", *extra]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, SCHEMA)
    return data


def versions(store: Path) -> list[tuple[int, int, str]]:
    db = sqlite3.connect(store)
    try:
        rows = db.execute("SELECT event_id, version, result FROM briefs WHERE status = 'done' ORDER BY id")
        return [(int(e), int(v), str(r)) for e, v, r in rows]
    finally:
        db.close()


def figures(diff: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["quantity"], f["old"], f["new"]) for f in diff["figures"]}


def discrepancies(diff: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((d["change"], d["kind"]) for d in diff["discrepancies"])


def test_three_runs_make_three_versions_and_two_diffs_then_no_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "batch.db"
    batch(store, 1, "--engine", "extractive")
    first = updates(store, capsys)
    assert [e["diff"]["old"]["label"] for e in first["events"]] == ["no brief yet"]

    batch(store, 2, "--engine", "extractive")
    second = updates(store, capsys)["events"][0]["diff"]
    assert (second["old"]["version"], second["new"]["version"]) == (1, 2)
    assert figures(second) == {("dead", "At least 12", "19")}
    assert discrepancies(second) == [("appeared", "spelling")]
    assert [a["source"] for a in second["articles"] if a["status"] == "joined"] == ["Island Daily"]

    time.sleep(1.1)  # the store keeps times to the second: a --since between runs 2 and 3 needs one apart
    between = datetime.now(timezone.utc).isoformat(timespec="seconds")
    time.sleep(1.1)
    batch(store, 3, "--engine", "extractive")
    third = updates(store, capsys)["events"][0]["diff"]
    assert (third["old"]["version"], third["new"]["version"]) == (2, 3)
    assert figures(third) == {("dead", "19", "23"), ("passenger", "about 140", "160")}
    assert discrepancies(third) == [("appeared", "date"), ("changed", "spelling")]
    assert [e for e, v, _ in versions(store)] == [1, 1, 1] and [v for _, v, _ in versions(store)] == [1, 2, 3]

    batch(store, 3, "--engine", "extractive")  # the same articles again: no new version
    again = updates(store, capsys)
    assert again["events"] == [] and again["unchanged"] == 1
    assert main(["batch", "updates", "--store", str(store)]) == 0
    assert "No changes in the latest run" in capsys.readouterr().out
    assert len(versions(store)) == 3

    since_first = updates(store, capsys, "--version", "1")["events"][0]["diff"]
    assert (since_first["old"]["version"], since_first["new"]["version"]) == (1, 3)
    assert figures(since_first) == {("dead", "At least 12", "23"), ("passenger", "about 140", "160")}
    since_two = updates(store, capsys, "--since", between)["events"][0]["diff"]
    assert (since_two["old"]["version"], since_two["new"]["version"]) == (2, 3)


def test_export_history_holds_every_version_and_its_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "batch.db"
    for run in (1, 2, 3):
        batch(store, run, "--engine", "extractive")
    capsys.readouterr()
    assert main(["batch", "export", "--store", str(store), "--history"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (event,) = [r for r in records if r["type"] == "event"]
    history = event["history"]
    assert [v["version"] for v in history] == [1, 2, 3]
    assert [len(v["articles"]) for v in history] == [1, 2, 3]
    assert history[0]["changes"] is None
    assert {(f["old"], f["new"]) for f in history[2]["changes"]["figures"]} == {("19", "23"), ("about 140", "160")}
    assert main(["batch", "export", "--store", str(store), "--format", "md", "--history"]) == 0
    md = capsys.readouterr().out
    assert "### History" in md and "**Version 3**" in md and "19 → 23" in md
    assert main(["batch", "export", "--store", str(store)]) == 0
    assert "history" not in capsys.readouterr().out  # only when asked


def test_updates_of_an_unknown_event_or_a_bad_time_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "batch.db"
    batch(store, 1, "--engine", "extractive")
    capsys.readouterr()
    assert main(["batch", "updates", "--store", str(store), "--event", "99"]) == 6
    assert "event 99 has no brief" in capsys.readouterr().err
    assert main(["batch", "updates", "--store", str(store), "--since", "the day after never"]) == 2
    assert "--since: cannot read" in capsys.readouterr().err


def _start(store: Path, run: int, server: ScriptedServer) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "summarizer", "batch", str(FERRY / str(run)), "--store", str(store),
        "--base-url", server.base_url, "--model", "scripted", "--min-event-articles", "1", "--quiet",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_during_a_rebrief_keeps_earlier_versions_and_the_next_run_completes_it(tmp_path: Path) -> None:
    store = tmp_path / "batch.db"
    with ScriptedServer(default=responder()) as server:
        for run in (1, 2):
            process = _start(store, run, server)
            assert process.wait(timeout=60) == 0, process.communicate()
    before = versions(store)
    assert [v for _, v, _ in before] == [1, 2]

    def hang_briefs(request: dict[str, Any]) -> Reply:
        return Reply.hang(60) if is_brief_request(request) else responder()(request)

    with ScriptedServer(default=hang_briefs) as server:
        process = _start(store, 3, server)
        deadline = time.monotonic() + 60
        while not any(is_brief_request(r) for r in server.requests):
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert versions(store) == before  # the earlier versions, byte for byte; nothing half-written

    with ScriptedServer(default=responder()) as server:
        process = _start(store, 3, server)
        assert process.wait(timeout=60) == 0, process.communicate()
    after = versions(store)
    assert after[:2] == before and [v for _, v, _ in after] == [1, 2, 3]
