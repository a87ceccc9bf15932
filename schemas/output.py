"""What the tool outputs.

Every claim carries `citations`, each an object with exactly the keys
``article_id, sentence_id, start, end, text`` where ``articles[i].text[start:end] == text``.
Claims that failed grounding are not in the claim lists: they are in ``dropped`` with a reason.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from summarizer.schemas.llm import EntityType, FactKind

SCHEMA_VERSION = "1"


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Citation(_Out):
    article_id: str
    sentence_id: str
    start: int
    """Character offset into the article's ``text`` where the sentence begins."""
    end: int
    """Character offset where it ends (exclusive): ``text[start:end]`` is the sentence."""
    text: str


class SentenceOut(_Out):
    id: str
    start: int
    end: int
    text: str
    citable: bool = True
    """False for page furniture (menus, repeated bylines) that is kept but never shown to the model."""


class ArticleOut(_Out):
    id: str
    title: str
    text: str
    """The article body; every citation's offsets index into it."""
    url: str | None = None
    source: str | None = None
    published: str | None = None
    origin: str | None = None
    """Where it was read from: a path, a URL or "<stdin>"."""
    sha256: str
    """Hash of ``title`` and ``text``: the article's identity for caches and stores."""
    sentences: list[SentenceOut]


class Claim(_Out):
    text: str
    citations: list[Citation] = Field(min_length=1)


class Fact(Claim):
    id: str
    """Stable within the brief: ``a1.f3`` is the third kept fact of article a1."""
    kind: FactKind
    value: str | None = None
    speaker: str | None = None


class Mention(_Out):
    start: int
    end: int
    text: str


class Entity(_Out):
    name: str
    type: EntityType
    aliases: list[str] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    """Every place the name or an alias occurs in the article body (found by the tool, not the model)."""


class Dropped(_Out):
    where: str
    """Which part of the output the claim was meant for, e.g. ``a2.facts[3]`` or ``brief.consensus[0]``."""
    claim: str
    reason: str
    cited: list[str] = Field(default_factory=list)
    """The IDs the model cited, as it wrote them."""


class CallStats(_Out):
    calls: int = 0
    """Model requests made (first asks plus re-asks)."""
    reasks: int = 0
    """Requests that were re-asks after a validation or grounding error."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cached: bool = False

    def add(self, other: CallStats) -> CallStats:
        return CallStats(
            calls=self.calls + other.calls,
            reasks=self.reasks + other.reasks,
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            seconds=round(self.seconds + other.seconds, 3),
            cached=self.cached and other.cached,
        )


class ArticleSummary(_Out):
    article_id: str
    status: Literal["ok", "failed"] = "ok"
    error: str | None = None
    """Why the article could not be summarised at all (status "failed")."""
    headline: str
    summary: list[Claim] = Field(default_factory=list)
    facts: list[Fact] = Field(default_factory=list)
    entities: list[Entity] = Field(default_factory=list)
    dropped: list[Dropped] = Field(default_factory=list)
    stats: CallStats = Field(default_factory=CallStats)


Origin = Literal["analysis", "model", "both"]
"""Where a brief item came from: the cross-source analysis, the model, or the model confirming the analysis."""
DiscrepancyKind = Literal["figure", "arithmetic", "date", "spelling", "name", "outcome", "attribution", "other"]
Resolution = Literal["explicit", "relative", "year-inferred", "unresolved"]
"""How a date was placed on the calendar: written out in full, counted from the article's publication date
("on Thursday"), a day and month whose year came from the publication date (or the event's dated articles),
or not at all."""


class BriefClaim(Claim):
    facts: list[str] = Field(default_factory=list)
    """The fact IDs the claim was built from."""
    origin: Origin | None = None


class SideOut(BriefClaim):
    article_ids: list[str]
    value: str | None = None
    """The value this side gives, as compared: "322", "2022-01-20 (Thursday)", "Geweran"."""


class DiscrepancyOut(_Out):
    topic: str
    kind: DiscrepancyKind = "other"
    sides: list[SideOut] = Field(min_length=2)
    note: str | None = None
    """What the analysis noticed about it, e.g. that a later report revises an earlier count."""
    origin: Origin | None = None


class TimelineEntry(BriefClaim):
    date: str
    """The date in the source's words ("on Thursday", "January 21st")."""
    iso: str | None = None
    """The date resolved to the calendar: an ISO day (2022-01-20) or range (2022-01-22/2022-01-30)."""
    resolution: Resolution | None = None


class RunInfo(_Out):
    provider: str
    model: str
    prompt_version: str
    engine: Literal["llm", "extractive"] = "llm"
    temperature: float | None = None
    seed: int | None = None
    max_tokens: int | None = None
    max_attempts: int | None = None
    token_budget: int | None = None


class Brief(_Out):
    schema_version: str = SCHEMA_VERSION
    run: RunInfo
    articles: list[ArticleOut]
    summaries: list[ArticleSummary]
    overview: list[BriefClaim] = Field(default_factory=list)
    consensus: list[BriefClaim] = Field(default_factory=list)
    discrepancies: list[DiscrepancyOut] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    single_source: list[Fact] = Field(default_factory=list)
    """Kept facts that no consensus point uses: reported by one article only."""
    dropped: list[Dropped] = Field(default_factory=list)
    """Every claim removed anywhere in the run (summaries and brief), with its reason."""
    stats: CallStats = Field(default_factory=CallStats)

    def claims(self) -> list[Claim]:
        """Every shipped claim: summary sentences, facts, and each section of the brief."""
        found: list[Claim] = [c for s in self.summaries for c in (*s.summary, *s.facts)]
        found += [*self.overview, *self.consensus, *self.timeline, *self.single_source]
        found += [side for d in self.discrepancies for side in d.sides]
        return found
