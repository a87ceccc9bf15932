"""The counts a scorer collects, and the metrics computed from them.

Every metric is a ratio of counts (or a plain total), so per-article, per-case and overall
figures are all computed the same way: add the counts, then divide. A metric whose
denominator is zero is ``None`` (shown as "n/a"), never a flattering 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


class Counts(BaseModel):
    """Raw tallies; see ``METRICS`` for what each ratio means."""

    model_config = ConfigDict(extra="forbid")

    articles: int = 0
    gold_facts: int = 0
    predicted_facts: int = 0
    matched_facts: int = 0
    grounded_unlabelled_facts: int = 0
    """Predicted facts that match no label but are fully supported by the sentences they cite."""
    citation_recall_hits: int = 0
    """Matched facts whose citations include a complete gold support (one sentence, or a required set)."""
    matched_citations: int = 0
    precise_citations: int = 0
    """Citations of matched facts that are gold support sentences, or needed for a number or name."""
    citations: int = 0
    valid_citations: int = 0
    numbered_claims: int = 0
    grounded_numbered_claims: int = 0
    gold_consensus: int = 0
    predicted_consensus: int = 0
    recalled_consensus: int = 0
    gold_discrepancies: int = 0
    predicted_discrepancies: int = 0
    recalled_discrepancies: int = 0
    answers: int = 0
    """Structured answers asked of the model: one per article, one for the brief."""
    valid_answers: int = 0
    calls: int = 0
    reasks: int = 0
    dropped_claims: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0

    def __add__(self, other: Counts) -> Counts:
        data = {name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields}
        data["model_seconds"] = round(data["model_seconds"], 3)
        return Counts(**data)


def total(counts: Iterable[Counts]) -> Counts:
    result = Counts()
    for c in counts:
        result = result + c
    return result


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    higher_is_better: bool = True
    rate: bool = True
    """A share in [0, 1] (drawn in the chart); otherwise a total."""
    gated: bool = True
    """Checked by the ``--compare`` gate unless ``--gate NAME=off``."""


METRICS: tuple[Metric, ...] = (
    Metric("fact_recall", "fact recall", "gold facts matched by a predicted fact"),
    Metric("fact_precision", "fact precision", "predicted facts that match a gold fact"),
    Metric(
        "fact_precision_grounded",
        "fact precision (grounded)",
        "predicted facts that match a gold fact or are unlabelled but fully supported by their citations",
        gated=False,
    ),
    Metric("citation_recall", "citation recall", "matched facts whose citations cover a gold support"),
    Metric("citation_precision", "citation precision", "citations of matched facts that are gold or needed"),
    Metric("citation_validity", "citation validity", "citations whose offsets and text resolve in the article"),
    Metric(
        "number_grounding", "number grounding", "claims with numbers whose numbers all appear in the cited sentences"
    ),
    Metric("consensus_recall", "consensus recall", "gold consensus items a brief consensus point recalls"),
    Metric("discrepancy_recall", "discrepancy recall", "gold discrepancies a brief discrepancy recalls"),
    Metric("schema_valid_rate", "schema-valid rate", "model answers accepted by validation without salvage"),
    Metric("reasks", "re-asks", "requests re-asked after a validation error", False, False, False),
    Metric("dropped_claims", "dropped claims", "claims removed for failing grounding or schema", False, False, False),
    Metric("prompt_tokens", "tokens in", "prompt tokens, all calls", False, False, False),
    Metric("completion_tokens", "tokens out", "completion tokens, all calls", False, False, False),
    Metric("seconds_per_article", "seconds / article", "model time per article (brief included)", False, False, False),
)
BY_NAME = {m.name: m for m in METRICS}


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def compute(c: Counts) -> dict[str, float | None]:
    return {
        "fact_recall": _ratio(c.matched_facts, c.gold_facts),
        "fact_precision": _ratio(c.matched_facts, c.predicted_facts),
        "fact_precision_grounded": _ratio(c.matched_facts + c.grounded_unlabelled_facts, c.predicted_facts),
        "citation_recall": _ratio(c.citation_recall_hits, c.matched_facts),
        "citation_precision": _ratio(c.precise_citations, c.matched_citations),
        "citation_validity": _ratio(c.valid_citations, c.citations),
        "number_grounding": _ratio(c.grounded_numbered_claims, c.numbered_claims),
        "consensus_recall": _ratio(c.recalled_consensus, c.gold_consensus),
        "discrepancy_recall": _ratio(c.recalled_discrepancies, c.gold_discrepancies),
        "schema_valid_rate": _ratio(c.valid_answers, c.answers),
        # Model costs are n/a, not 0, for an engine that asks no model (the extractive baseline).
        "reasks": float(c.reasks) if c.answers else None,
        "dropped_claims": float(c.dropped_claims),
        "prompt_tokens": float(c.prompt_tokens) if c.answers else None,
        "completion_tokens": float(c.completion_tokens) if c.answers else None,
        "seconds_per_article": _ratio(c.model_seconds, c.articles) if c.answers else None,
    }


def show(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    if BY_NAME[name].rate:
        return f"{value:.3f}"
    if name == "seconds_per_article":
        return f"{value:.1f}"
    return f"{value:,.0f}"
