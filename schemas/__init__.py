"""Pydantic schemas: what the model must return (`llm`) and what the tool outputs (`output`).

This directory ships inside the package as `summarizer.schemas`; the JSON Schema files beside
it are generated from the models (`summarizer schema --write`) and a test keeps them in sync.
"""

from summarizer.schemas.llm import (
    ArticleExtraction,
    BriefExtraction,
    BriefPoint,
    CitedSentence,
    Discrepancy,
    DiscrepancySide,
    ExtractedEntity,
    ExtractedFact,
    Review,
    TimelineItem,
)
from summarizer.schemas.output import (
    ArticleOut,
    ArticleSummary,
    Brief,
    BriefClaim,
    CallStats,
    Citation,
    Claim,
    DiscrepancyOut,
    Dropped,
    Entity,
    Fact,
    Mention,
    RunInfo,
    SentenceOut,
    SideOut,
    TimelineEntry,
)

__all__ = [
    "ArticleExtraction",
    "ArticleOut",
    "ArticleSummary",
    "Brief",
    "BriefClaim",
    "BriefExtraction",
    "BriefPoint",
    "CallStats",
    "Citation",
    "CitedSentence",
    "Claim",
    "Discrepancy",
    "DiscrepancyOut",
    "DiscrepancySide",
    "Dropped",
    "Entity",
    "ExtractedEntity",
    "ExtractedFact",
    "Fact",
    "Mention",
    "Review",
    "RunInfo",
    "SentenceOut",
    "SideOut",
    "TimelineEntry",
    "TimelineItem",
]
