"""What a run has to do: the pending summaries (after re-queueing the failures worth retrying) and the events
whose brief is stale, and when an event's brief is due (:class:`BriefsDue`: once its last member is finished)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterable
from dataclasses import dataclass

from summarizer.batch.config import BatchConfig
from summarizer.batch.records import WorkItem
from summarizer.batch.store import Store


@dataclass(frozen=True)
class BriefJob:
    event_id: int
    members: tuple[int, ...]
    digest: str


def members_digest(members: Iterable[int]) -> str:
    return hashlib.sha256(json.dumps(sorted(members)).encode()).hexdigest()[:16]


class Planner:
    """Reads the store for the work of one model and prompt version."""

    def __init__(self, store: Store, *, model: str, prompt_version: str, config: BatchConfig) -> None:
        self.store = store
        self.model = model
        self.prompt_version = prompt_version
        self.config = config

    def leftovers(self) -> list[WorkItem]:
        """Pending summaries, after re-queueing the failures to retry."""
        self.store.requeue_failed(
            model=self.model, prompt_version=self.prompt_version, include_permanent=self.config.retry_failed
        )
        return self.pending()

    def pending(self, *, summary_ids: list[int] | None = None) -> list[WorkItem]:
        """Pending summaries of this model and prompts, with their articles (only ``summary_ids``)."""
        return self.store.pending(model=self.model, prompt_version=self.prompt_version, summary_ids=summary_ids)

    def brief_job(self, event_id: int) -> BriefJob | None:
        """The brief this event needs, if its summarised members changed since its last brief."""
        members = self.store.done_members(event_id, model=self.model, prompt_version=self.prompt_version)
        job = self._brief_over(event_id, members)
        if job is None or self.store.has_brief(
            event_id, model=self.model, prompt_version=self.prompt_version, digest=job.digest
        ):
            return None
        return job

    def stale_briefs(self, skip: Container[int] = ()) -> list[BriefJob]:
        """:meth:`brief_job` of every event in the store but those in ``skip``, in event order: two
        queries, however many events the store has kept."""
        members = self.store.done_members_by_event(model=self.model, prompt_version=self.prompt_version)
        done = self.store.brief_digests(model=self.model, prompt_version=self.prompt_version)
        jobs = []
        for event_id in sorted(members):
            if event_id in skip:
                continue
            job = self._brief_over(event_id, members[event_id])
            if job is not None and (event_id, job.digest) not in done:
                jobs.append(job)
        return jobs

    def _brief_over(self, event_id: int, members: list[int]) -> BriefJob | None:
        """The brief of ``event_id`` over its latest summarised ``members``, if there are enough of them."""
        members = members[-self.config.max_brief_articles :]
        if len(members) < max(self.config.min_event_articles, 1):
            return None
        return BriefJob(event_id, tuple(members), members_digest(members))


class BriefsDue:
    """Which events are briefed when, once every article of the run is in its event: those with no member
    left to finish at once (:meth:`start`), each other one as its last member is finished (:meth:`finished`).
    Each event is briefed at most once per run."""

    def __init__(self, planner: Planner, unfinished: dict[int, int]) -> None:
        """``unfinished``: article ID -> event ID of the run's articles handed out and not finished."""
        self.planner = planner
        self.waiting: dict[int, set[int]] = {}
        self.event_of = unfinished
        for article_id, event_id in unfinished.items():
            self.waiting.setdefault(event_id, set()).add(article_id)

    def start(self) -> list[BriefJob]:
        """The stale briefs of the events with no member left to finish."""
        return self.planner.stale_briefs(skip=self.waiting) if self.planner.config.briefs else []

    def finished(self, article_id: int) -> BriefJob | None:
        """The brief due now that ``article_id`` is finished (summarised or failed), if any."""
        event_id = self.event_of.pop(article_id, None)
        if event_id is None or event_id not in self.waiting:
            return None
        members = self.waiting[event_id]
        members.discard(article_id)
        if members:
            return None
        del self.waiting[event_id]
        return self.planner.brief_job(event_id) if self.planner.config.briefs else None
