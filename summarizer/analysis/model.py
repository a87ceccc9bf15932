"""What the cross-source analysis finds: typed discrepancies, dated events and consensus, each tied to sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from summarizer.analysis.dates import Context, Resolution

Kind = Literal["figure", "arithmetic", "date", "spelling", "name", "outcome", "attribution"]


class Ref(NamedTuple):
    """A sentence of an article: what every finding cites (a tuple: it is hashed and compared in every
    detector's inner loop)."""

    article_id: str
    sentence_id: str

    def __str__(self) -> str:
        return f"{self.article_id}.{self.sentence_id}"


@dataclass(frozen=True)
class Side:
    """One version of a disputed value, with the sentences that give it."""

    value: str
    """The compared value as shown to a reader: "322", "2022-01-20 (on Thursday)", "Geweran"."""
    refs: tuple[Ref, ...]
    words: str = ""
    """The source's own words for the value, found in the cited sentences (grounding checks them)."""


@dataclass(frozen=True)
class Finding:
    """A discrepancy: two or more sides that cannot all be right, or a total its own parts contradict."""

    kind: Kind
    topic: str
    sides: tuple[Side, ...]
    note: str | None = None
    key: str = ""
    """Identity for de-duplication and for matching the same finding in a later brief."""


@dataclass(frozen=True)
class Dated:
    """A dated event for the timeline."""

    ref: Ref
    words: str
    """The date as the source writes it."""
    iso: str | None
    resolution: Resolution
    how: str
    sort_key: str
    context: Context = ""
    """As :attr:`DateMention.context`: "date" or "year" when it was resolved from the text before its sentence."""


@dataclass(frozen=True)
class Agreement:
    """A point two or more articles make, one sentence from each."""

    refs: tuple[Ref, ...]
    values: tuple[str, ...]
    """The numbers and names the sentences share."""
    score: float


@dataclass
class Analysis:
    discrepancies: list[Finding] = field(default_factory=list)
    timeline: list[Dated] = field(default_factory=list)
    consensus: list[Agreement] = field(default_factory=list)
    seconds: float = 0.0
