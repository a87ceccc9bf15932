"""The order an executor takes its jobs in (``JobQueue``): summaries first, briefs prepared as they fall due and
sent after the waiting summaries, at most ``room`` of them prepared at once."""

import asyncio
from typing import Any

from summarizer.analysis import Analysis
from summarizer.batch.ordering import JobQueue, PreparedBrief
from summarizer.batch.planning import BriefJob
from summarizer.batch.records import SummaryJob


def brief(event_id: int) -> BriefJob:
    return BriefJob(event_id, (event_id * 10, event_id * 10 + 1), f"digest{event_id}")


def prepared(job: BriefJob) -> PreparedBrief:
    return PreparedBrief(job, [], [], Analysis())


def label(job: Any) -> str:
    return f"b{job.job.event_id}" if isinstance(job, PreparedBrief) else f"s{job.summary_id}"


async def prepare_all(queue: JobQueue, count: int) -> None:
    for _ in range(count):
        queue.prepared(prepared(await queue.next_due()))


async def take(queue: JobQueue, count: int) -> list[str]:
    taken = []
    for _ in range(count):
        taken.append(label(await queue.get()))
        queue.done()
    return taken


def test_waiting_summaries_go_before_prepared_briefs_whatever_the_order_they_came_in() -> None:
    async def scenario() -> list[str]:
        queue = JobQueue(room=4)
        queue.put(brief(1))
        queue.put(SummaryJob(1))
        queue.put(brief(2))
        queue.put(SummaryJob(2))
        await prepare_all(queue, 2)
        return await take(queue, 4)

    assert asyncio.run(scenario()) == ["s1", "s2", "b1", "b2"]


def test_the_preparer_waits_for_room_and_a_full_room_sends_its_briefs_ahead_of_summaries() -> None:
    async def scenario() -> tuple[bool, list[str], list[str]]:
        queue = JobQueue(room=2)
        for n in (1, 2, 3):
            queue.put(brief(n))
        for n in (1, 2):
            queue.put(SummaryJob(n))
        await prepare_all(queue, 2)
        third = asyncio.create_task(queue.next_due())
        await asyncio.sleep(0)
        waited = not third.done()  # two prepared of a room of two: the third is not prepared yet
        first = await take(queue, 1)  # a third brief is due and has no room: a prepared one goes first
        queue.prepared(prepared(await third))
        rest = await take(queue, 4)  # the room is not blocking anything now: summaries first again
        return waited, first, rest

    waited, first, rest = asyncio.run(scenario())
    assert waited
    assert first == ["b1"]
    assert rest == ["s1", "s2", "b2", "b3"]


def test_join_returns_once_every_job_is_done_a_brief_counted_once() -> None:
    async def scenario() -> list[bool]:
        queue = JobQueue(room=2)
        states = []
        queue.put(SummaryJob(1))
        queue.put(brief(1))
        joined = asyncio.create_task(queue.join())
        await prepare_all(queue, 1)
        for _ in range(2):
            await queue.get()
            await asyncio.sleep(0)
            states.append(joined.done())
            queue.done()
        await asyncio.sleep(0)
        states.append(joined.done())
        return states

    assert asyncio.run(scenario()) == [False, False, True]


def test_a_task_waiting_for_work_wakes_when_a_summary_is_put() -> None:
    async def scenario() -> str:
        queue = JobQueue(room=2)
        waiting = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        assert not waiting.done()
        queue.put(SummaryJob(7))
        return label(await asyncio.wait_for(waiting, 1.0))

    assert asyncio.run(scenario()) == "s7"
