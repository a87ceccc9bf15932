"""What changed between two briefs of one event: the claim-level diff a notifier or an analyst reads.

Citations keep the brief's contract (``articles[i].text[start:end] == text``) against this diff's own
``articles`` list, which holds every article either brief cites: an article both briefs hold keeps the newer
brief's ID, one only the older brief held is renamed ``old-<id>`` so the two namespaces cannot collide.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from summarizer.schemas.output import Citation, DiscrepancyKind, DiscrepancyOut, TimelineEntry

SCHEMA_VERSION = "1"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class BriefVersion(_Out):
    """One side of the diff: a stored version of an event's brief, or a brief read from a file."""

    label: str
    """How the side is named to people: "version 2", or the file it came from."""
    version: int | None = None
    created_at: str | None = None
    event_id: int | None = None
    model: str
    prompt_version: str
    articles: int


class DiffArticle(_Out):
    id: str
    sha256: str
    title: str
    text: str
    """The article body; citations index into it."""
    source: str | None = None
    published: str | None = None
    url: str | None = None
    status: Literal["kept", "joined", "left"]
    """In both briefs, only in the newer (a source that joined), or only in the older."""


class FigureValue(_Out):
    value: str
    """As the article wrote it: "at least 19 people"."""
    article_id: str
    published: str | None = None
    citations: list[Citation] = Field(min_length=1)


class FigureRevision(_Out):
    """The same quantity with a new value: each value in publication order, each cited."""

    quantity: str
    """What is counted ("dead", "seats", "$")."""
    old: str
    """The latest value the older brief had."""
    new: str
    """The latest value now."""
    history: list[FigureValue] = Field(min_length=2)
    discrepancy: str | None = None
    """The newer brief's discrepancy over these figures, if it lists one: the sources disagree, not only update."""


class DiscrepancyChange(_Out):
    change: Literal["appeared", "resolved", "changed"]
    """New in the newer brief, gone from it, or the same discrepancy with sides added or removed."""
    kind: DiscrepancyKind
    topic: str
    old: DiscrepancyOut | None = None
    new: DiscrepancyOut | None = None
    values_added: list[str] = Field(default_factory=list)
    values_removed: list[str] = Field(default_factory=list)
    articles_added: list[str] = Field(default_factory=list)
    """Articles that now take a side (IDs in this diff's ``articles``)."""


class DateChange(_Out):
    change: Literal["new", "gone", "moved"]
    """A dated event only the newer brief has, one only the older had, or one placed on another date."""
    old: TimelineEntry | None = None
    new: TimelineEntry | None = None


class ClaimChange(_Out):
    section: Literal["overview", "consensus", "fact"]
    change: Literal["new", "gone", "widened", "narrowed"]
    """For consensus: "widened" when more sources now agree, "narrowed" when fewer do."""
    text: str
    citations: list[Citation] = Field(min_length=1)
    was: list[Citation] = Field(default_factory=list)
    """For a widened or narrowed point, the citations it had before."""
    note: str | None = None
    """Why it is gone when nothing it cites was withdrawn: the brief now lists other points in its place."""


class BriefDiff(_Out):
    schema_version: str = SCHEMA_VERSION
    old: BriefVersion
    new: BriefVersion
    changed: bool
    """False when nothing below differs: "no changes"."""
    articles: list[DiffArticle]
    figures: list[FigureRevision] = Field(default_factory=list)
    discrepancies: list[DiscrepancyChange] = Field(default_factory=list)
    timeline: list[DateChange] = Field(default_factory=list)
    claims: list[ClaimChange] = Field(default_factory=list)
    unchanged: dict[str, int] = Field(default_factory=dict)
    """Items matched in both briefs with nothing changed, per section."""


class EventUpdates(_Out):
    """One event's entry in ``batch updates``: its label and the diff, or why there is none."""

    event_id: int
    label: str
    versions: int
    diff: BriefDiff | None = None
    note: str | None = None
    """Why there is no diff: the event's first brief, say."""


class Updates(_Out):
    """``batch updates``: each event that changed, with its diff, or why it has none."""

    schema_version: str = SCHEMA_VERSION
    store: str
    since: str | None = None
    """What the diffs are against: a time, "version N", or "run N" (the changes the latest run made)."""
    events: list[EventUpdates] = Field(default_factory=list)
    unchanged: int = 0
    """Events with a brief and nothing new in it."""
