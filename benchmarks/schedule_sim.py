"""Simulate a batch run's schedule: which order of summaries and briefs ends a run soonest.

    python benchmarks/schedule_sim.py                    # batch_bench.py's run: 1,000 articles, 10 per event
    python benchmarks/schedule_sim.py --articles 3000 --room 16

A model of ``batch_bench.py``'s run, not a measurement: each worker process has ``slots`` request slots
(the server holds a request ``latency`` seconds), ``tasks`` tasks, and one CPU that does the jobs' CPU work
first come first served (its event loop). A summary needs CPU before its request (segmenting) and after
(validating, grounding); a brief needs its event's summaries, then CPU (its analysis) before its request.
Summaries are handed out in inbox order, in chunks of 16, to the worker with fewer open jobs; a brief to
the worker with fewer open jobs once its event's last summary is done. Policies:

- ``briefs``: a task takes a due brief before a waiting summary (round 13);
- ``summaries``: a task takes summaries first and a brief's analysis waits with it (round 12's order);
- ``prepared``: summaries first, each brief analysed as soon as it is due while fewer than ``room`` are
  prepared, a prepared brief sent first when more are due and there is no room (``batch/ordering.py``).

It prints each policy's run time against the ideal ``calls x latency / (workers x slots)``.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
from collections import deque
from typing import cast


def simulate(
    policy: str, *, articles: int, per_event: int, workers: int, slots: int, tasks: int, room: int,
    latency: float, cpu: dict[str, float], seed: int = 1,
) -> float:  # fmt: skip
    rng = random.Random(seed)
    order = itertools.count()
    events: list[tuple[float, int, tuple[str, int, object]]] = []

    def at(when: float, what: str, worker: int, job: object) -> None:
        heapq.heappush(events, (when, next(order), (what, worker, job)))

    summaries: list[deque[int]] = [deque() for _ in range(workers)]
    due: list[deque[int]] = [deque() for _ in range(workers)]  # briefs due, not prepared
    ready: list[deque[int]] = [deque() for _ in range(workers)]  # briefs prepared
    preparing = [0] * workers
    open_jobs = [0] * workers
    for start in range(0, articles, 16):
        w = min(range(workers), key=lambda n: open_jobs[n])
        chunk = range(start, min(articles, start + 16))
        summaries[w].extend(chunk)
        open_jobs[w] += len(chunk)
    free_tasks, free_slots = [tasks] * workers, [slots] * workers
    gate: list[deque[tuple[str, int]]] = [deque() for _ in range(workers)]
    cpu_free = [0.0] * workers
    left = [per_event] * (articles // per_event)

    def work(w: int, now: float, seconds: float, then: str, job: object) -> None:
        cpu_free[w] = max(now, cpu_free[w]) + seconds * (1 + 0.3 * rng.random())
        at(cpu_free[w], then, w, job)

    def prepare(w: int, now: float) -> None:
        while policy == "prepared" and due[w] and len(ready[w]) + preparing[w] < room and not preparing[w]:
            preparing[w] += 1
            work(w, now, cpu["analysis"], "prepared", due[w].popleft())

    def take(w: int, now: float) -> None:
        while free_tasks[w]:
            if policy == "prepared":
                blocked = bool(due[w]) and len(ready[w]) + preparing[w] >= room
                if ready[w] and (blocked or not summaries[w]):
                    job: tuple[str, int] = ("brief", ready[w].popleft())
                    prepare(w, now)
                    free_tasks[w] -= 1
                    at(now, "queued", w, job)
                    continue
            elif due[w] and (policy == "briefs" or not summaries[w]):
                free_tasks[w] -= 1
                work(w, now, cpu["analysis"], "queued", ("brief", due[w].popleft()))
                continue
            if not summaries[w]:
                return
            free_tasks[w] -= 1
            work(w, now, cpu["before"], "queued", ("summary", summaries[w].popleft()))

    def send(w: int, now: float) -> None:
        while free_slots[w] and gate[w]:
            free_slots[w] -= 1
            at(now + latency, "answered", w, gate[w].popleft())

    for w in range(workers):
        take(w, 0.0)
    end = 0.0
    while events:
        now, _, (what, w, job) = heapq.heappop(events)
        if what == "prepared":
            preparing[w] -= 1
            ready[w].append(cast(int, job))
            prepare(w, now)
            take(w, now)
        elif what == "queued":
            gate[w].append(cast(tuple[str, int], job))
            send(w, now)
        elif what == "answered":
            free_slots[w] += 1
            send(w, now)
            work(w, now, cpu["after"], "done", job)
        else:  # done
            kind, ident = cast(tuple[str, int], job)
            free_tasks[w] += 1
            open_jobs[w] -= 1
            end = now
            if kind == "summary":
                event = ident // per_event
                left[event] -= 1
                if left[event] == 0:
                    target = min(range(workers), key=lambda n: open_jobs[n])
                    open_jobs[target] += 1
                    due[target].append(event)
                    prepare(target, now)
                    take(target, now)
            take(w, now)
    return end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--per-event", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slots", type=int, default=16, help="request slots per worker")
    parser.add_argument("--tasks", type=int, default=24, help="tasks per worker")
    parser.add_argument("--room", type=int, default=32, help="briefs kept prepared per worker (prepared policy)")
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    # CPU seconds per job, as measured in a worker in a normal spell (benchmarks/README.md, round 14).
    cpu = {"before": 0.0015, "after": 0.0022, "analysis": 0.011}
    calls = args.articles + args.articles // args.per_event
    ideal = calls * args.latency / (args.workers * args.slots)
    for policy in ("briefs", "summaries", "prepared"):
        runs = [
            simulate(
                policy, articles=args.articles, per_event=args.per_event, workers=args.workers, slots=args.slots,
                tasks=args.tasks, room=args.room, latency=args.latency, cpu=cpu, seed=seed,
            )
            for seed in range(3)
        ]  # fmt: skip
        print(f"{policy:10s} " + "  ".join(f"{run / ideal:.3f}x" for run in runs))


if __name__ == "__main__":
    main()
