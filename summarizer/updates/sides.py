"""One brief as a diff reads it: its article IDs mapped to content hashes and to the diff's own IDs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from summarizer.schemas import Brief, Citation

SentenceKey = tuple[str, int, int]
"""A cited sentence across briefs: (article sha256, start, end)."""


@dataclass(frozen=True)
class Side:
    """One brief as the diff reads it: its article IDs mapped to hashes and to this diff's IDs."""

    brief: Brief
    sha: dict[str, str]
    ids: dict[str, str]

    def keys(self, citations: Iterable[Citation]) -> frozenset[SentenceKey]:
        return frozenset((self.sha[c.article_id], c.start, c.end) for c in citations if c.article_id in self.sha)

    def cite(self, citations: Iterable[Citation]) -> list[Citation]:
        """The citations renamed into the diff's article namespace."""
        return [c.model_copy(update={"article_id": self.ids.get(c.article_id, c.article_id)}) for c in citations]

    def sources(self, citations: Iterable[Citation]) -> frozenset[str]:
        return frozenset(self.sha[c.article_id] for c in citations if c.article_id in self.sha)
