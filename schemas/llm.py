"""What the model must return.

These models are sent to the model as the tool/JSON schema, so every field is documented for
the model's benefit and lists are bounded (a grammar-constrained backend cannot loop forever).

Grounding is not expressed in the schema: it needs the article's sentences. The validators
below call a checker that the caller passes in the validation context (instructor's
``context=``) under the key ``"grounding"``; without it they check structure only. The
checker returns a list of error strings, one per unsupported claim, which become the
re-ask message.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

FactKind = Literal["event", "quantity", "date", "place", "actor", "claim", "quote"]
EntityType = Literal["person", "organization", "place", "group", "other"]


class GroundingChecker(Protocol):
    def __call__(self, answer: Any) -> list[str]: ...


def _run_grounding(answer: BaseModel, info: ValidationInfo) -> None:
    context = info.context or {}
    checker: GroundingChecker | None = context.get("grounding")
    if checker is None:
        return
    errors = checker(answer)
    if errors:
        raise ValueError(
            "Some claims are not supported by the sentences they cite. Fix each one: cite the "
            "sentences that contain its numbers, dates and names, or rewrite the claim using only "
            "words from those sentences.\n- " + "\n- ".join(errors)
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


class CitedSentence(_Strict):
    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the source sentences that support it, exactly as shown, e.g. ["s3"]."""
    text: str = Field(min_length=1, max_length=400)
    """One summary sentence that states only what its cited sentences say."""


class ExtractedFact(_Strict):
    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the source sentences that state this fact, e.g. ["s5"]."""
    kind: FactKind
    """event, quantity (a number of people or things), date, place, actor, claim, or quote."""
    statement: str = Field(min_length=1, max_length=300)
    """The fact in one short sentence, using the source's own numbers, dates and names."""
    value: str | None = Field(default=None, max_length=80)
    """The key value of the fact as written in the source (a number, date or name), if any."""
    speaker: str | None = Field(default=None, max_length=80)
    """For a quote or claim: who said it, as named in the source."""


class ExtractedEntity(_Strict):
    name: str = Field(min_length=1, max_length=80)
    """The name as written in the article."""
    type: EntityType
    aliases: list[str] = Field(default_factory=list, max_length=5)
    """Other spellings or names the same article uses for it (acronyms included)."""


class ArticleExtraction(_Strict):
    """A grounded summary of one news article."""

    headline: str = Field(min_length=1, max_length=200)
    """A short neutral headline using only names and numbers found in the article."""
    summary: list[CitedSentence] = Field(min_length=1, max_length=6)
    """Two to five sentences covering the most important points, each citing its sources."""
    facts: list[ExtractedFact] = Field(default_factory=list, max_length=12)
    """The key facts: casualties and quantities, dates, places, actors, claims and quotes."""
    entities: list[ExtractedEntity] = Field(default_factory=list, max_length=15)
    """People, organisations, places and groups named in the article."""

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo) -> ArticleExtraction:
        _run_grounding(self, info)
        return self


class BriefPoint(_Strict):
    cites: list[str] = Field(min_length=1, max_length=6)
    """IDs of the facts it rests on, exactly as shown, e.g. ["a1.f2", "a3.f1"]."""
    text: str = Field(min_length=1, max_length=400)
    """One sentence of the brief, stating only what its cited facts say."""


class DiscrepancySide(_Strict):
    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the facts that say it."""
    text: str = Field(min_length=1, max_length=300)
    """What this source (or group of sources) says."""


class Discrepancy(_Strict):
    topic: str = Field(min_length=1, max_length=160)
    """What the sources disagree about (a figure, a date, a name or spelling, an outcome)."""
    sides: list[DiscrepancySide] = Field(min_length=2, max_length=4)
    """Each differing version, with the facts that state it."""


class TimelineItem(_Strict):
    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the facts that state it."""
    date: str = Field(min_length=1, max_length=60)
    """When, as the source words it (e.g. "Friday, January 21st", "2019")."""
    event: str = Field(min_length=1, max_length=300)
    """What happened then."""


class BriefExtraction(_Strict):
    """A cross-article brief built from the facts extracted from each article."""

    overview: list[BriefPoint] = Field(min_length=1, max_length=5)
    """Two to four sentences: what happened, per the sources."""
    consensus: list[BriefPoint] = Field(default_factory=list, max_length=8)
    """Points that facts from two or more different articles support."""
    discrepancies: list[Discrepancy] = Field(default_factory=list, max_length=8)
    """Where the articles differ: figures, dates, names or spellings, outcomes."""
    timeline: list[TimelineItem] = Field(default_factory=list, max_length=10)
    """Dated events in order."""

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo) -> BriefExtraction:
        _run_grounding(self, info)
        return self


M = TypeVar("M", bound=BaseModel)


def _tighten(node: Any, ids: list[str]) -> None:
    """Make every object's properties required and every ``cites`` item an enum of ``ids``."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            node["required"] = list(properties)
            cites = properties.get("cites")
            if isinstance(cites, dict) and cites.get("type") == "array":
                cites["items"] = {"type": "string", "enum": list(ids)}
        for value in node.values():
            _tighten(value, ids)
    elif isinstance(node, list):
        for value in node:
            _tighten(value, ids)


def scoped(model: type[M], ids: list[str]) -> type[M]:
    """``model`` as the model should see it for one request: citations limited to ``ids``.

    Only the JSON schema sent to the model changes (a grammar-constrained backend then cannot
    emit an unknown ID, and every field is required so none is skipped); validation, and so
    the re-ask messages, stay those of ``model``.
    """
    if not ids:
        return model

    def model_json_schema(cls: type[M], *args: Any, **kwargs: Any) -> dict[str, Any]:
        schema = model.model_json_schema(*args, **kwargs)
        _tighten(schema, ids)
        return schema

    namespace = {"model_json_schema": classmethod(model_json_schema), "__doc__": model.__doc__}
    return type(model.__name__, (model,), namespace)
