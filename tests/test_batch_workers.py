"""Sharing a plan between worker processes: whole events per worker, balanced, nothing lost or doubled."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from summarizer.batch.runner import BriefJob, Plan
from summarizer.batch.store import WorkItem
from summarizer.batch.workers import split
from summarizer.load import Document


def plan_of(event_sizes: list[int], loose: int, briefs: int) -> Plan:
    events: list[int | None] = [event_id for event_id, size in enumerate(event_sizes, start=1) for _ in range(size)]
    events += [None] * loose
    random.Random(len(events)).shuffle(events)
    doc = Document(title="t", text="x", origin="o")
    items = [WorkItem(n, n, 0, doc, event_id) for n, event_id in enumerate(events, start=1)]
    jobs = [BriefJob(1000 + n, (1, 2), "d") for n in range(briefs)]
    waiting = dict(Counter(item.event_id for item in items if item.event_id is not None))
    return Plan(summaries=items, briefs=jobs, waiting=waiting)


@pytest.mark.parametrize(
    ("sizes", "loose", "briefs", "shares"),
    [([10] * 100, 0, 0, 2), ([30, 1, 1, 1, 5, 9], 7, 3, 2), ([4, 4, 4], 0, 5, 3), ([2], 0, 0, 4), ([], 6, 0, 4)],
)
def test_split_keeps_events_whole_and_every_item_once(sizes: list[int], loose: int, briefs: int, shares: int) -> None:
    plan = plan_of(sizes, loose, briefs)
    parts = split(plan, shares)

    assert 1 <= len(parts) <= shares and all(parts)
    ids = [item.summary_id for part in parts for item in part.summaries]
    assert sorted(ids) == sorted(item.summary_id for item in plan.summaries)  # each exactly once
    assert sorted(job.event_id for part in parts for job in part.briefs) == sorted(j.event_id for j in plan.briefs)
    owners: dict[int, set[int]] = {}
    for n, part in enumerate(parts):
        for item in part.summaries:
            if item.event_id is not None:
                owners.setdefault(item.event_id, set()).add(n)
        assert part.waiting == dict(Counter(i.event_id for i in part.summaries if i.event_id is not None))
        positions = [plan.summaries.index(item) for item in part.summaries]
        assert positions == sorted(positions)  # first come, first served within a part
    assert all(len(found) == 1 for found in owners.values())  # an event's members stay together
    loads = [len(part.summaries) + len(part.briefs) for part in parts]
    assert max(loads) - min(loads) <= max([*sizes, 1])  # balanced up to one event


def test_split_of_a_single_share_is_the_plan() -> None:
    plan = plan_of([3, 2], 1, 1)
    (part,) = split(plan, 1)
    assert part.summaries == plan.summaries and part.briefs == plan.briefs and part.waiting == plan.waiting
