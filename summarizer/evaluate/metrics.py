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
    correct_discrepancies: int = 0
    """Predicted discrepancies that match some gold discrepancy (a duplicate counts: it is not a false alarm)."""
    gold_discrepancies_figure: int = 0
    recalled_discrepancies_figure: int = 0
    gold_discrepancies_date: int = 0
    recalled_discrepancies_date: int = 0
    gold_discrepancies_spelling: int = 0
    """Spelling and name discrepancies together."""
    recalled_discrepancies_spelling: int = 0
    gold_discrepancies_outcome: int = 0
    recalled_discrepancies_outcome: int = 0
    gold_discrepancies_attribution: int = 0
    recalled_discrepancies_attribution: int = 0
    correct_consensus: int = 0
    """Predicted consensus points that recall some gold item (a duplicate counts)."""
    gold_timeline: int = 0
    predicted_timeline: int = 0
    matched_timeline: int = 0
    """Gold events matched one-to-one by a predicted timeline entry (so also the matched predictions)."""
    dated_timeline: int = 0
    """Matched events whose predicted ISO date equals the label's."""
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


DISCREPANCY_KINDS: tuple[str, ...] = ("figure", "date", "spelling", "outcome", "attribution")
"""The kinds discrepancy recall is reported for; a gold ``name`` discrepancy counts as ``spelling``."""
KIND_BUCKET = {"figure": "figure", "date": "date", "spelling": "spelling", "name": "spelling", "outcome": "outcome",
               "attribution": "attribution"}  # fmt: skip


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
    Metric("consensus_precision", "consensus precision", "brief consensus points that recall some gold item"),
    Metric("discrepancy_recall", "discrepancy recall", "gold discrepancies a brief discrepancy recalls"),
    Metric(
        "discrepancy_precision",
        "discrepancy precision",
        "brief discrepancies that match some gold discrepancy (the rest are false alarms)",
    ),
    *(
        Metric(
            f"discrepancy_recall_{kind}",
            f"discrepancy recall: {kind}",
            f"gold {kind}{' and name' if kind == 'spelling' else ''} discrepancies a brief discrepancy recalls",
            gated=False,
        )
        for kind in DISCREPANCY_KINDS
    ),
    Metric("timeline_recall", "timeline recall", "gold dated events a brief timeline entry cites"),
    Metric("timeline_precision", "timeline precision", "brief timeline entries that match a gold dated event"),
    Metric(
        "timeline_date_accuracy",
        "timeline date accuracy",
        "matched timeline entries whose ISO date equals the label's",
    ),
    Metric("schema_valid_rate", "schema-valid rate", "model answers accepted by validation without salvage"),
    Metric("reasks", "re-asks", "requests re-asked after a validation error", False, False, False),
    Metric("dropped_claims", "dropped claims", "claims removed for failing grounding or schema", False, False, False),
    Metric("prompt_tokens", "tokens in", "prompt tokens, all calls", False, False, False),
    Metric("completion_tokens", "tokens out", "completion tokens, all calls", False, False, False),
    Metric("seconds_per_article", "seconds / article", "model time per article (brief included)", False, False, False),
)
BY_NAME = {m.name: m for m in METRICS}

RATIOS: dict[str, tuple[tuple[str, ...], str]] = {
    "fact_recall": (("matched_facts",), "gold_facts"),
    "fact_precision": (("matched_facts",), "predicted_facts"),
    "fact_precision_grounded": (("matched_facts", "grounded_unlabelled_facts"), "predicted_facts"),
    "citation_recall": (("citation_recall_hits",), "matched_facts"),
    "citation_precision": (("precise_citations",), "matched_citations"),
    "citation_validity": (("valid_citations",), "citations"),
    "number_grounding": (("grounded_numbered_claims",), "numbered_claims"),
    "consensus_recall": (("recalled_consensus",), "gold_consensus"),
    "consensus_precision": (("correct_consensus",), "predicted_consensus"),
    "discrepancy_recall": (("recalled_discrepancies",), "gold_discrepancies"),
    "discrepancy_precision": (("correct_discrepancies",), "predicted_discrepancies"),
    **{
        f"discrepancy_recall_{kind}": ((f"recalled_discrepancies_{kind}",), f"gold_discrepancies_{kind}")
        for kind in DISCREPANCY_KINDS
    },
    "timeline_recall": (("matched_timeline",), "gold_timeline"),
    "timeline_precision": (("matched_timeline",), "predicted_timeline"),
    "timeline_date_accuracy": (("dated_timeline",), "matched_timeline"),
    "schema_valid_rate": (("valid_answers",), "answers"),
}
"""Each rate metric as (numerator count fields, denominator count field): the same items for every aggregation."""


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def fraction(name: str, c: Counts) -> tuple[int, int]:
    """A rate metric's (numerator, denominator) in ``c``."""
    numerators, denominator = RATIOS[name]
    return sum(getattr(c, f) for f in numerators), getattr(c, denominator)


def compute(c: Counts) -> dict[str, float | None]:
    rates = {name: _ratio(*fraction(name, c)) for name in RATIOS}
    return {
        **rates,
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
