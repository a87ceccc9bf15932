"""What a run has to do (``summarizer.batch.planning``): the pending summaries and the briefs each event asks for."""

import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from summarizer.ask import Settings
from summarizer.batch import inbox
from summarizer.batch.config import BatchConfig
from summarizer.batch.runner import Batch
from summarizer.batch.store import Store
from summarizer.templates import load_prompts
from tests.doubles.answers import answer, is_brief_request, user_text
from tests.doubles.server import Reply, ScriptedServer
from tests.doubles.synthetic import synthetic_articles
from tests.test_batch_ingest import syndicated
from tests.test_batch_runner import rows, run_batch, write_inbox


@pytest.fixture
def valid_server():  # type: ignore[no-untyped-def]
    with ScriptedServer(default=lambda request: Reply.tool(answer(request))) as server:
        yield server


def test_the_briefs_a_run_plans_are_those_each_event_asks_for(tmp_path: Path) -> None:
    # A store with every kind of event: briefed, briefed and grown since, brief failed for now (500) or
    # for good (400), one article alone, a wire copy (not a member of its own). The whole store is checked
    # in two queries; it must agree with asking event by event, with a brief limited to its latest 3 members.
    records = synthetic_articles(48, per_event=4, seed=9)  # twelve events, in order
    alone = {
        "title": "Orchard show opens",
        "text": "Growers displayed forty apple varieties at the county orchard show on Saturday.",
        "published": "2019-05-04",
        "source": "Valley Post",
        "url": "https://example.org/orchard",
    }
    records += [syndicated(records[0], "Wire"), alone]
    feed = write_inbox(tmp_path / "feed.jsonl", [r for n, r in enumerate(records) if n % 4 != 3 or n >= 24])

    def respond(request: dict[str, Any]) -> Reply:
        if is_brief_request(request):
            fate = zlib.crc32(user_text(request).encode()) % 4
            if fate == 1:
                return Reply.error(500)
            if fate == 2:
                return Reply.error(400)
        return Reply.tool(answer(request))

    store_path = tmp_path / "b.db"
    with ScriptedServer(default=respond) as server:
        run_batch(store_path, [str(feed)], server)
        write_inbox(feed, records)
        run_batch(store_path, [str(feed)], server, briefs=False)  # six events grow, and are not briefed again
    briefs = rows(store_path, "SELECT status, error_kind FROM briefs")
    statuses = Counter(r["error_kind"] or r["status"] for r in briefs)
    assert statuses["done"] and statuses["transient"] and statuses["permanent"], statuses
    sizes = Counter(r["event_id"] for r in rows(store_path, "SELECT event_id FROM articles"))
    assert 1 in sizes.values() and rows(store_path, "SELECT id FROM articles WHERE duplicate_of IS NOT NULL")

    with Store(store_path) as store:
        config = BatchConfig(max_brief_articles=3)
        batch = Batch(store, model="scripted", prompts=load_prompts(), settings=Settings(), config=config)
        events = sorted({r["event_id"] for r in rows(store_path, "SELECT event_id FROM articles")})
        one_by_one = [job for event_id in events if (job := batch.planner.brief_job(event_id)) is not None]
        assert 0 < len(one_by_one) < len(events)
        briefed = {r["event_id"] for r in rows(store_path, "SELECT event_id FROM briefs WHERE status = 'done'")}
        assert {job.event_id for job in one_by_one} & briefed  # grown since its brief
        assert batch.planner.stale_briefs() == one_by_one
        assert batch.planner.stale_briefs(skip={one_by_one[0].event_id}) == one_by_one[1:]


def test_a_different_model_or_prompt_version_is_new_work(tmp_path: Path, valid_server: ScriptedServer) -> None:
    feed = write_inbox(tmp_path / "feed.jsonl", synthetic_articles(2, per_event=2, seed=9))
    run_batch(tmp_path / "b.db", [str(feed)], valid_server)
    with Store(tmp_path / "b.db") as store:
        batch = Batch(store, model="another", prompts=load_prompts(), settings=Settings(), config=BatchConfig())
        batch.start(inbox="x")
        batch.ingest().read(inbox.read([str(feed)]))
        assert len(batch.planner.leftovers()) == 2
