"""The store's rows as the pipeline's objects (documents, articles with their sentence maps, pending work)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from summarizer.load import Document

if TYPE_CHECKING:  # the segmenter (pysbd) is imported where an article is segmented
    from summarizer.schemas import ArticleSummary
    from summarizer.segment import Article, Sentence


@dataclass(frozen=True)
class WorkItem:
    """A pending summary: the row to finish and the article to summarise."""

    summary_id: int
    article_id: int
    document: Document
    event_id: int | None


@dataclass(frozen=True)
class SummaryJob:
    """A pending summary known by its ID: a worker reads its article when it starts on it, so an inbox handed
    out at once is held as IDs, not as texts."""

    summary_id: int


def document_of(row: sqlite3.Row) -> Document:
    return Document(
        title=row["title"],
        text=row["body"],
        origin=row["origin"],
        url=row["url"],
        source=row["source"],
        published=row["published"],
    )


def sentence_spans(sentences: tuple[Sentence, ...]) -> str:
    """An article's sentence map as stored with it: JSON ``[[start, end, citable], ...]``."""
    return json.dumps([[s.start, s.end, int(s.citable)] for s in sentences])


def article_of(row: sqlite3.Row) -> Article:
    """The stored article with its sentence map (as segmented when it was summarised, else segmented now)."""
    from summarizer.segment import Article, Sentence, segment

    doc = document_of(row)
    if row["sentences"]:
        spans = json.loads(row["sentences"])
        sentences = tuple(
            Sentence(id=f"s{i}", start=s, end=e, text=doc.text[s:e], citable=bool(c))
            for i, (s, e, c) in enumerate(spans, start=1)
        )
    else:
        sentences = tuple(segment(doc.text))
    return Article(id=f"a{int(row['id'])}", doc=doc, sentences=sentences)


def members_of(rows: Sequence[sqlite3.Row]) -> tuple[list[Article], list[ArticleSummary]]:
    """Stored articles with their summary (``summary``) as a brief's input: the articles with their sentence
    maps, and the summaries."""
    from summarizer.schemas import ArticleSummary

    return [article_of(r) for r in rows], [ArticleSummary.model_validate_json(r["summary"]) for r in rows]
