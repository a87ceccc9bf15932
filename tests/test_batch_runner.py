"""Whole runs (``Batch.run``, one process unless said) against a local OpenAI-compatible server: incremental
runs, duplicates, events, faults."""

import json
import os
import shutil
import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from summarizer.ask import Settings
from summarizer.batch import BatchError, inbox
from summarizer.batch.config import BatchConfig
from summarizer.batch.executing import REJECTED_IN_A_ROW
from summarizer.batch.retry import RetryPolicy
from summarizer.batch.runner import Batch
from summarizer.batch.store import Store
from summarizer.errors import ProviderError
from summarizer.providers import Provider, resolve
from summarizer.templates import load_prompts
from tests.doubles.answers import answer, is_brief_request, user_text
from tests.doubles.clock import FakeTime
from tests.doubles.server import FAULTS, Reply, ScriptedServer, faulty
from tests.doubles.synthetic import synthetic_articles

FAST_RETRY = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, jitter=0.01)


def write_inbox(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run_batch(
    store_path: Path,
    specs: list[str],
    server: ScriptedServer,
    *,
    timeout: float = 10.0,
    fake_time: Any = None,
    ready: Callable[[], Provider] | None = None,
    **config: Any,
) -> Batch:
    """One run as ``summarizer batch`` does it: ingest, plan, execute, finish. ``ready`` (default:
    the provider of ``server``) is what the batch calls once it has work."""
    with Store(store_path) as store:
        store.lock()
        batch = Batch(
            store,
            model="scripted",
            prompts=load_prompts(),
            settings=Settings(),
            config=BatchConfig(**{"retry": FAST_RETRY, "concurrency": 4, **config}),
            **({"sleep": fake_time.sleep, "clock": fake_time.clock} if fake_time else {}),
        )
        batch.start(inbox=" ".join(specs))
        try:
            batch.run(
                inbox.read(specs),
                ready or (lambda: resolve(base_url=server.base_url, model="scripted", timeout=timeout)),
            )
        except BaseException:
            batch.finish("failed")
            raise
        batch.finish("completed")
        return batch


def rows(store_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with Store(store_path) as store:
        return [dict(r) for r in store.query(sql, params)]


def summary_requests(server: ScriptedServer, titles: list[str]) -> Counter[str]:
    """How many summary requests the server received for each of ``titles``."""
    return summary_requests_in(server.requests, titles)


def summary_requests_in(requests: list[dict[str, Any]], titles: list[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    for request in requests:
        if is_brief_request(request):
            continue
        found.update(title for title in titles if title in user_text(request))
    return found


@pytest.fixture
def valid_server():  # type: ignore[no-untyped-def]
    with ScriptedServer(default=lambda request: Reply.tool(answer(request))) as server:
        yield server


def test_a_rerun_over_the_same_inbox_makes_no_model_calls(tmp_path: Path, valid_server: ScriptedServer) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(6, per_event=3, seed=1))
    first = run_batch(tmp_path / "b.db", [str(feed)], valid_server)
    assert (first.counters.summarized, first.counters.failed, first.counters.briefs) == (6, 0, 2)
    assert len(valid_server.requests) == 6 + 2
    again = run_batch(tmp_path / "b.db", [str(feed)], valid_server)
    assert len(valid_server.requests) == 8
    assert (again.counters.new, again.counters.skipped, again.counters.calls) == (0, 6, 0)


def test_a_new_article_is_summarised_alone_and_refreshes_its_events_brief(
    tmp_path: Path, valid_server: ScriptedServer
) -> None:
    records = synthetic_articles(8, per_event=4, seed=2)
    feed = write_inbox(tmp_path / "feed.jsonl", records[:3] + records[4:8])
    run_batch(tmp_path / "b.db", [str(feed)], valid_server)
    events_before = rows(tmp_path / "b.db", "SELECT event_id, COUNT(*) AS n FROM articles GROUP BY event_id")
    assert sorted(r["n"] for r in events_before) == [3, 4]
    before = len(valid_server.requests)

    write_inbox(tmp_path / "feed.jsonl", records)  # the feed now has the fourth article of the first event
    run_batch(tmp_path / "b.db", [str(feed)], valid_server)
    new_requests = valid_server.requests[before:]
    assert len(new_requests) == 2  # one summary, one refreshed brief
    assert sum(is_brief_request(r) for r in new_requests) == 1
    assert summary_requests_in(new_requests, [r["title"] for r in records]) == Counter({records[3]["title"]: 1})
    briefs = rows(tmp_path / "b.db", "SELECT event_id, members FROM briefs WHERE status = 'done' ORDER BY id")
    by_event: dict[int, list[list[int]]] = {}
    for b in briefs:
        by_event.setdefault(b["event_id"], []).append(json.loads(b["members"]))
    grown = [history for history in by_event.values() if len(history) == 2]
    assert len(grown) == 1 and len(grown[0][1]) == len(grown[0][0]) + 1
    assert set(grown[0][0]) < set(grown[0][1])


def test_exact_and_near_duplicate_copies_are_linked_not_summarised_again(
    tmp_path: Path, seeds_dir: Path, valid_server: ScriptedServer
) -> None:
    box = tmp_path / "inbox"
    shutil.copytree(seeds_dir, box)
    original = next(iter(sorted(box.iterdir())))
    shutil.copy(original, box / "exact-copy.txt")
    lines = original.read_text(encoding="utf-8").split("\n")
    body = "\n".join(lines[3:])
    (box / "syndicated.txt").write_text(f"Iraq tightens prison security\n\nReuters - {body}\n\n(c) Reuters 2022\n")
    batch = run_batch(tmp_path / "b.db", [str(box)], valid_server)
    assert (batch.counters.seen, batch.counters.new, batch.counters.duplicates) == (5, 4, 1)
    titles = [line.split("\n", 1)[0] for line in (p.read_text(encoding="utf-8") for p in sorted(seeds_dir.iterdir()))]
    assert summary_requests(valid_server, titles) == Counter({t: 1 for t in titles})
    articles = rows(tmp_path / "b.db", "SELECT id, duplicate_of, similarity FROM articles ORDER BY id")
    assert [(a["id"], a["duplicate_of"]) for a in articles] == [(1, None), (2, None), (3, None), (4, 1)]
    assert articles[3]["similarity"] >= 0.8
    origins = rows(tmp_path / "b.db", "SELECT origin FROM sightings WHERE article_id = 1")
    assert {Path(o["origin"]).name for o in origins} == {original.name, "exact-copy.txt"}
    # The three reports are one event, and the copy joins it without a summary of its own.
    assert len({a["event_id"] for a in rows(tmp_path / "b.db", "SELECT event_id FROM articles")}) == 1


def test_brief_requests_wait_for_the_waiting_summaries(tmp_path: Path, valid_server: ScriptedServer) -> None:
    """With one request at a time, an earlier run's event due for its brief from the start and two new events:
    every summary goes before any brief (the last brief needs the last summary anyway), and all three briefs
    are sent."""
    records = synthetic_articles(9, per_event=3, seed=15)
    run_batch(tmp_path / "b.db", [str(write_inbox(tmp_path / "1.jsonl", records[:3]))], valid_server, briefs=False)
    before = len(valid_server.requests)
    batch = run_batch(tmp_path / "b.db", [str(write_inbox(tmp_path / "2.jsonl", records))], valid_server, concurrency=1)
    kinds = ["brief" if is_brief_request(r) else "summary" for r in valid_server.requests[before:]]
    assert batch.counters.briefs == 3
    assert kinds == ["summary"] * 6 + ["brief"] * 3


def test_briefs_prepared_beyond_the_room_go_ahead_of_summaries(tmp_path: Path, valid_server: ScriptedServer) -> None:
    """One request at a time keeps two briefs prepared: with two earlier events due from the start, a third event
    falling due sends one of them ahead of the summaries still waiting, rather than holding a third analysis."""
    records = synthetic_articles(12, per_event=3, seed=15)
    run_batch(tmp_path / "b.db", [str(write_inbox(tmp_path / "1.jsonl", records[:6]))], valid_server, briefs=False)
    before = len(valid_server.requests)
    batch = run_batch(tmp_path / "b.db", [str(write_inbox(tmp_path / "2.jsonl", records))], valid_server, concurrency=1)
    asked = valid_server.requests[before:]
    kinds = ["brief" if is_brief_request(r) else "summary" for r in asked]
    assert batch.counters.briefs == 4
    titles = [r["title"] for r in records]
    summarised = [next(i for i, t in enumerate(titles) if t in user_text(r)) for r in asked if not is_brief_request(r)]
    assert sorted(summarised) == list(range(6, 12))
    first_brief = kinds.index("brief")
    assert {6, 7, 8} <= set(summarised[:first_brief])  # the third event had fallen due
    assert "summary" in kinds[first_brief:]  # ahead of the fourth event's last summaries


@pytest.mark.parametrize("workers", [1, 2])
def test_under_injected_faults_every_article_ends_in_the_store_exactly_once(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    forked: list[int] = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(1) or real_fork())
    records = synthetic_articles(30, per_event=3, seed=3)
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    rates = {fault: 0.08 for fault in FAULTS}
    respond = faulty(rates, seed=11, hang=0.6, retry_after=0.02)
    injected: Counter[str] = Counter()

    def counting(request: dict[str, Any]) -> Reply:
        reply = respond(request)
        injected[reply.kind if reply.kind != "status" else str(reply.status)] += 1
        return reply

    with ScriptedServer(default=counting) as server:
        batch = run_batch(tmp_path / "b.db", [str(feed)], server, timeout=0.3, concurrency=8, workers=workers)
    assert {"429", "500", "hang", "malformed", "drop"} <= set(injected), injected
    assert len(forked) == (workers if workers > 1 else 0)
    summaries = rows(tmp_path / "b.db", "SELECT article_id, status, error, attempts FROM summaries")
    assert sorted(s["article_id"] for s in summaries) == list(range(1, 31))  # each exactly once
    assert {s["status"] for s in summaries} <= {"done", "failed"}
    assert all(s["error"] for s in summaries if s["status"] == "failed")
    assert all(s["attempts"] >= 1 for s in summaries)
    assert batch.counters.retries > 0
    assert batch.counters.summarized == sum(1 for s in summaries if s["status"] == "done") > 20
    assert batch.counters.summarized + batch.counters.failed == 30
    (run,) = rows(tmp_path / "b.db", "SELECT summarized, failed, calls, status FROM runs")
    assert (run["summarized"], run["failed"], run["status"]) == (
        batch.counters.summarized,
        batch.counters.failed,
        "completed",
    )
    briefed = rows(tmp_path / "b.db", "SELECT event_id, COUNT(*) AS n FROM briefs GROUP BY event_id")
    assert all(b["n"] == 1 for b in briefed)  # each event briefed once, by the worker that finished it


def test_an_article_that_keeps_failing_is_recorded_with_its_reason_and_the_batch_goes_on(tmp_path: Path) -> None:
    records = synthetic_articles(4, per_event=4, seed=4)
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    doomed = records[1]["title"]

    def respond(request: dict[str, Any]) -> Reply:
        if doomed in request["messages"][-1]["content"]:
            return Reply.error(500, message="this one always fails")
        return Reply.tool(answer(request))

    with ScriptedServer(default=respond) as server:
        batch = run_batch(tmp_path / "b.db", [str(feed)], server)
        assert (batch.counters.summarized, batch.counters.failed, batch.counters.briefs) == (3, 1, 1)
        failed = rows(
            tmp_path / "b.db", "SELECT article_id, attempts, error, error_kind FROM summaries WHERE status = 'failed'"
        )
        assert [(f["article_id"], f["attempts"], f["error_kind"]) for f in failed] == [(2, 4, "transient")]
        assert "gave up after 4 attempt(s)" in failed[0]["error"] and "HTTP 500" in failed[0]["error"]
        assert summary_requests(server, [doomed])[doomed] == 4
        # A transient failure is tried again by the next run; the others are not.
        again = run_batch(tmp_path / "b.db", [str(feed)], server)
        assert summary_requests(server, [doomed])[doomed] == 8 and again.counters.skipped == 3
    assert rows(tmp_path / "b.db", "SELECT attempts FROM summaries WHERE article_id = 2")[0]["attempts"] == 8


def test_retry_after_is_honoured(tmp_path: Path, valid_server: ScriptedServer) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(1, seed=5))
    valid_server.enqueue(Reply.error(429, retry_after=7), Reply.error(503, retry_after=2.5))
    fake = FakeTime()
    batch = run_batch(tmp_path / "b.db", [str(feed)], valid_server, fake_time=fake)
    assert fake.sleeps == [7.0, 2.5]
    assert (batch.counters.summarized, batch.counters.retries) == (1, 2)


def test_concurrency_bounds_the_requests_in_flight_not_the_articles_in_progress(tmp_path: Path) -> None:
    # The batch prepares and finishes articles outside its request slots, so it runs more tasks
    # than requests; the server must still never hold more than `concurrency` of them.
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(24, per_event=4, seed=11))
    with ScriptedServer(default=lambda request: Reply.tool(answer(request), delay=0.05)) as server:
        batch = run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=3)
        assert server.most_in_flight == 3
    assert batch.counters.summarized == 24 and batch.counters.in_flight == 0


def test_a_refused_key_stops_the_batch_and_leaves_the_articles_pending(tmp_path: Path) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(3, seed=6))
    with ScriptedServer(default=lambda r: Reply.error(401, message="bad key")) as server:
        with pytest.raises(ProviderError, match="HTTP 401"):
            run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=1)
        assert len(server.requests) == 1
    statuses = rows(tmp_path / "b.db", "SELECT status FROM summaries")
    assert [s["status"] for s in statuses] == ["pending"] * 3


def test_a_refusal_during_a_re_ask_stops_the_batch_with_its_reason(tmp_path: Path) -> None:
    """A 403 on a re-ask stops the batch with its reason, instead of reporting itself complete with the
    other articles never tried; the next request gets the same refusal without being sent. The article
    being re-asked is not salvaged into a final answer: it stays pending with the others for the next run."""
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(6, seed=6))
    with ScriptedServer(default=lambda r: Reply.tool(answer(r))) as server:
        server.enqueue(Reply.tool({"headline": 7}), Reply.error(403, message="forbidden"))
        with pytest.raises(ProviderError, match="HTTP 403"):
            run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=1)
        assert len(server.requests) == 2
    statuses = Counter(s["status"] for s in rows(tmp_path / "b.db", "SELECT status FROM summaries"))
    assert statuses == {"pending": 6}


def test_a_request_rejected_with_400_fails_its_article_and_the_batch_goes_on(tmp_path: Path) -> None:
    """A 400 for one article (too long for the model, say) is that article's failure, with the server's
    reason; stopping the batch instead would stop every later run at the same article."""
    records = synthetic_articles(6, per_event=3, seed=7)
    feed = write_inbox(tmp_path / "feed.jsonl", records)
    too_long = records[2]["title"]

    def respond(request: dict[str, Any]) -> Reply:
        if not is_brief_request(request) and too_long in user_text(request):
            return Reply.error(400, message="maximum context length exceeded")
        return Reply.tool(answer(request))

    with ScriptedServer(default=respond) as server:
        batch = run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=2)
    assert (batch.counters.summarized, batch.counters.failed) == (5, 1)
    (failed,) = rows(tmp_path / "b.db", "SELECT attempts, error, error_kind FROM summaries WHERE status = 'failed'")
    assert failed["attempts"] == 1 and failed["error_kind"] == "permanent"
    assert "HTTP 400" in failed["error"] and "maximum context length exceeded" in failed["error"]


def test_every_request_rejected_with_400_stops_the_batch_after_a_few(tmp_path: Path) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(20, seed=8))
    with ScriptedServer(default=lambda r: Reply.error(400, message="unsupported parameter: tools")) as server:
        with pytest.raises(ProviderError, match=f"rejected {REJECTED_IN_A_ROW} requests in a row.*unsupported"):
            run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=1, workers=1)
        # The request waiting for the slot may already be out when the last rejection is read.
        assert REJECTED_IN_A_ROW <= len(server.requests) <= REJECTED_IN_A_ROW + 1
    statuses = Counter(s["status"] for s in rows(tmp_path / "b.db", "SELECT status FROM summaries"))
    assert statuses == {"failed": REJECTED_IN_A_ROW - 1, "pending": 20 - REJECTED_IN_A_ROW + 1}


def test_a_refused_key_in_one_worker_stops_every_worker(tmp_path: Path) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(12, per_event=2, seed=6))
    with ScriptedServer(default=lambda r: Reply.error(401, message="bad key")) as server:
        with pytest.raises(ProviderError, match="HTTP 401"):
            run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=2, workers=2)
        assert len(server.requests) <= 2  # one refused request per worker, then every worker stopped
    assert {s["status"] for s in rows(tmp_path / "b.db", "SELECT status FROM summaries")} == {"pending"}


def test_an_unusable_answer_fails_for_good_without_transport_retries(tmp_path: Path) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(2, seed=7))
    with ScriptedServer(default=lambda r: Reply.tool("this is not JSON")) as server:
        batch = run_batch(tmp_path / "b.db", [str(feed)], server)
        assert batch.counters.failed == 2 and batch.counters.retries == 0
        assert len(server.requests) == 2 * Settings().max_attempts  # instructor's re-asks only
        run_batch(tmp_path / "b.db", [str(feed)], server)
        assert len(server.requests) == 2 * Settings().max_attempts  # not retried by the next run
        run_batch(tmp_path / "b.db", [str(feed)], server, retry_failed=True)
        assert len(server.requests) == 4 * Settings().max_attempts  # unless asked
    failed = rows(tmp_path / "b.db", "SELECT error, error_kind FROM summaries")
    assert all(f["error_kind"] == "permanent" and "no usable answer" in f["error"] for f in failed)


def test_a_brief_the_model_cannot_give_ships_the_analysis_alone_and_says_so(tmp_path: Path) -> None:
    """As ``summarizer brief`` does: the event still gets a brief version (the cross-source analysis), noted."""
    ferry = Path(__file__).resolve().parent.parent / "examples" / "ferry"

    def reply(request: dict[str, Any]) -> Reply:
        return Reply.tool("this is not JSON") if is_brief_request(request) else Reply.tool(answer(request))

    with ScriptedServer(default=reply) as server:
        batch = run_batch(tmp_path / "b.db", [str(ferry / "1"), str(ferry / "2")], server)
    assert (batch.counters.summarized, batch.counters.briefs, batch.counters.briefs_failed) == (2, 1, 0)
    (brief,) = rows(tmp_path / "b.db", "SELECT status, error, version, result FROM briefs")
    assert (brief["status"], brief["version"]) == ("done", 1)
    assert brief["error"] == f"no usable brief after {Settings().max_attempts} call(s)"
    parts = json.loads(brief["result"])
    assert parts["overview"] == []  # the model's own part
    assert [(d["kind"], d["topic"]) for d in parts["discrepancies"]] == [
        ("spelling", "Spelling of one name: Keldan / Keldon")
    ]
    notes = [d for d in parts["dropped"] if d["where"] == "brief"]
    assert [n["reason"] for n in notes] == [f"{brief['error']}; this is the analysis alone"]


def test_input_errors_are_recorded_and_the_rest_is_processed(tmp_path: Path, valid_server: ScriptedServer) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(synthetic_articles(1, seed=8)[0]) + "\n{broken\n", encoding="utf-8")
    batch = run_batch(tmp_path / "b.db", [str(feed)], valid_server)
    assert (batch.counters.summarized, batch.counters.input_errors) == (1, 1)
    errors = rows(tmp_path / "b.db", "SELECT origin, error FROM input_errors")
    assert errors[0]["origin"] == f"{feed}:2" and "invalid JSON" in errors[0]["error"]


def test_a_worker_killed_from_outside_fails_the_run_loudly_and_a_rerun_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(24, per_event=3, seed=8))
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def slow_then_kill(request: dict[str, Any]) -> Reply:
        if len(server.requests) == 3 and children:
            os.kill(children[0], signal.SIGKILL)  # as the OOM killer would
        return Reply.tool(answer(request), delay=0.2)

    with ScriptedServer(default=slow_then_kill) as server:
        with pytest.raises(BatchError, match="killed by SIGKILL"):
            run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=2, workers=2)
        statuses = Counter(s["status"] for s in rows(tmp_path / "b.db", "SELECT status FROM summaries"))
        # The dead worker's share is left to do, and the part of the inbox not read yet when it died.
        assert statuses["pending"] > 0 and sum(statuses.values()) <= 24
        monkeypatch.setattr(os, "fork", real_fork)
        again = run_batch(tmp_path / "b.db", [str(feed)], server, concurrency=2, workers=2)
    summaries = rows(tmp_path / "b.db", "SELECT article_id, status FROM summaries")
    assert sorted(s["article_id"] for s in summaries) == list(range(1, 25))
    assert {s["status"] for s in summaries} == {"done"}
    assert again.counters.summarized == 24 - statuses["done"]
