"""What the model must return.

These models are sent to the model as the tool/JSON schema, so every field is documented for
the model's benefit and lists are bounded (a grammar-constrained backend cannot loop forever).

Grounding is not expressed in the schema: it needs the article's sentences. The validators
below call a checker that the caller passes in the validation context (instructor's
``context=``) under the key ``"grounding"``; without it they check structure only. The
checker returns a list of error strings, one per unsupported claim, which become the
re-ask message.

Over 400 lines: every model the LLM answers in, in one place, since together they are the published schema.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

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


class _AnswerPart(BaseModel):
    """Base of what the model returns: keys it adds beyond the schema are ignored, not errors; the
    attribute docstrings are the field descriptions the model reads."""

    model_config = ConfigDict(extra="ignore", use_attribute_docstrings=True)


def _copied(data: Any, info: ValidationInfo, field: str) -> Any:
    """Copy mode: the model names IDs and the tool supplies the text of the first one cited, which is then the only
    one cited: the text is that sentence's (or fact's), so the others would be citations it does not rest on."""
    texts = (info.context or {}).get("copy_text")
    if texts and isinstance(data, dict) and not data.get(field):
        cites = data.get("cites")
        if isinstance(cites, list) and cites and cites[0] in texts:
            return {**data, field: texts[cites[0]], "cites": cites[:1]}
    return data


class CitedSentence(_AnswerPart):
    @model_validator(mode="before")
    @classmethod
    def _copy(cls, data: Any, info: ValidationInfo) -> Any:
        return _copied(data, info, "text")

    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the source sentences that support it, exactly as shown, e.g. ["s3"]."""
    text: str = Field(min_length=1, max_length=600)
    """One summary sentence that states only what its cited sentences say."""


class ExtractedFact(_AnswerPart):
    @model_validator(mode="before")
    @classmethod
    def _copy(cls, data: Any, info: ValidationInfo) -> Any:
        return _copied(data, info, "statement")

    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the source sentences that state this fact, e.g. ["s5"]."""
    kind: FactKind
    """event, quantity (a number of people or things), date, place, actor, claim, or quote."""
    statement: str = Field(min_length=1, max_length=600)
    """The fact in one short sentence, using the source's own numbers, dates and names."""
    value: str | None = Field(default=None, max_length=80)
    """The key value of the fact as written in the source (a number, date or name), if any."""
    speaker: str | None = Field(default=None, max_length=80)
    """For a quote or claim: who said it, as named in the source."""


class ExtractedEntity(_AnswerPart):
    name: str = Field(min_length=1, max_length=80)
    """The name as written in the article."""
    type: EntityType
    aliases: list[str] = Field(default_factory=list, max_length=5)
    """Other spellings or names the same article uses for it (acronyms included)."""


class ArticleExtraction(_AnswerPart):
    """A grounded summary of one news article."""

    headline: str = Field(min_length=1, max_length=200)
    """A short neutral headline using only names and numbers found in the article."""
    summary: list[CitedSentence] = Field(min_length=1, max_length=5)
    """Two to five sentences covering the most important points, each citing its sources."""
    facts: list[ExtractedFact] = Field(default_factory=list, max_length=10)
    """The key facts: casualties and quantities, dates, places, actors, claims and quotes."""
    entities: list[ExtractedEntity] = Field(default_factory=list, max_length=10)
    """People, organisations, places and groups named in the article."""

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo) -> ArticleExtraction:
        _run_grounding(self, info)
        return self


class BriefPoint(_AnswerPart):
    @model_validator(mode="before")
    @classmethod
    def _copy(cls, data: Any, info: ValidationInfo) -> Any:
        return _copied(data, info, "text")

    cites: list[str] = Field(min_length=1, max_length=6)
    """IDs of the facts it rests on, exactly as shown, e.g. ["a1.f2", "a3.f1"]."""
    text: str = Field(min_length=1, max_length=400)
    """One sentence of the brief, stating only what its cited facts say."""


class DiscrepancySide(_AnswerPart):
    @model_validator(mode="before")
    @classmethod
    def _copy(cls, data: Any, info: ValidationInfo) -> Any:
        return _copied(data, info, "text")

    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the facts that say it."""
    text: str = Field(min_length=1, max_length=300)
    """What this source (or group of sources) says."""


class Discrepancy(_AnswerPart):
    topic: str = Field(min_length=1, max_length=160)
    """What the sources disagree about (a figure, a date, a name or spelling, an outcome)."""
    sides: list[DiscrepancySide] = Field(min_length=2, max_length=4)
    """Each differing version, with the facts that state it."""


class TimelineItem(_AnswerPart):
    @model_validator(mode="before")
    @classmethod
    def _copy(cls, data: Any, info: ValidationInfo) -> Any:
        return _copied(data, info, "event")

    cites: list[str] = Field(min_length=1, max_length=4)
    """IDs of the facts that state it."""
    date: str = Field(min_length=1, max_length=60)
    """When, as the source words it (e.g. "Friday, January 21st", "2019")."""
    event: str = Field(min_length=1, max_length=300)
    """What happened then."""


class Review(_AnswerPart):
    candidate: str = Field(min_length=1, max_length=8)
    """The ID of a candidate from the analysis, exactly as shown, e.g. "d2"."""
    verdict: Literal["confirm", "reject"]
    """confirm: the facts bear it out; reject: the facts show it is wrong (two different events or things)."""
    reason: str | None = Field(default=None, max_length=200)
    """For a rejection: why, in a few words."""


class BriefExtraction(_AnswerPart):
    """A cross-article brief built from the facts extracted from each article."""

    overview: list[BriefPoint] = Field(min_length=1, max_length=5)
    """Two to four sentences: what happened, per the sources."""
    consensus: list[BriefPoint] = Field(default_factory=list, max_length=8)
    """Points that facts from two or more different articles support."""
    discrepancies: list[Discrepancy] = Field(default_factory=list, max_length=8)
    """Where the articles differ: figures, dates, names or spellings, outcomes."""
    timeline: list[TimelineItem] = Field(default_factory=list, max_length=10)
    """Dated events in order."""
    reviews: list[Review] = Field(default_factory=list, max_length=30)
    """A verdict on each candidate the analysis offered (none when it offered none)."""

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo) -> BriefExtraction:
        _run_grounding(self, info)
        return self


M = TypeVar("M", bound=BaseModel)


def _restrict(prop: dict[str, Any], allowed: list[str]) -> None:
    """Limit a string, optional-string or list-of-strings property to ``allowed`` values."""
    if prop.get("type") == "string":
        prop["enum"] = allowed
    elif prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        prop["items"] = {"type": "string", "enum": allowed}
    elif isinstance(prop.get("anyOf"), list):
        for branch in prop["anyOf"]:
            if isinstance(branch, dict) and branch.get("type") == "string":
                branch["enum"] = allowed


def _tighten(node: Any, ids: list[str], choices: dict[str, list[str]]) -> None:
    """Make every object's properties required, ``cites`` an enum of ``ids``, and apply ``choices``."""
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            node["required"] = list(properties)
            for name, prop in properties.items():
                if not isinstance(prop, dict):
                    continue
                if name == "cites":
                    _restrict(prop, ids)
                elif choices.get(name):
                    _restrict(prop, choices[name])
        for value in node.values():
            _tighten(value, ids, choices)
    elif isinstance(node, list):
        for value in node:
            _tighten(value, ids, choices)


def _paired(definition: dict[str, Any], text_field: str, pairs: list[CopyChoice]) -> dict[str, Any]:
    """One alternative per source sentence: ``cites`` is exactly its ID, ``text_field`` its text,
    and the optional ``value``/``speaker`` fields one of the numbers or names in that sentence."""
    alternatives = []
    for choice in pairs:
        properties = dict(definition["properties"])
        properties["cites"] = {"type": "array", "items": {"const": choice.id}, "minItems": 1, "maxItems": 1}
        # The text is not generated at all: the tool fills it from the cited sentence (see _copied).
        properties.pop(text_field, None)
        for name, allowed in (("value", choice.values), ("speaker", choice.names)):
            if name in properties:
                properties[name] = (
                    {"anyOf": [{"type": "string", "enum": allowed}, {"type": "null"}]} if allowed else {"type": "null"}
                )
        alternatives.append({"type": "object", "properties": properties, "required": list(properties)})
    return {"anyOf": alternatives}


@dataclass(frozen=True)
class CopyChoice:
    """One source sentence offered in copy mode, with the values and names it contains."""

    id: str
    values: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


# Item definitions whose text field is paired with its citation in copy mode.
# The text field of each item type that copy mode leaves to the tool.
COPIED_FIELDS = {
    "CitedSentence": "text",
    "ExtractedFact": "statement",
    "BriefPoint": "text",
    "DiscrepancySide": "text",
    "TimelineItem": "event",
}


@dataclass(frozen=True, eq=False)
class Scoped(Generic[M]):
    """A response model as one request shows it to the model (see :func:`scoped`).

    Validation is ``model``'s. The schema the model sees is ``template``'s, a subclass whose
    schema holds placeholders where this request's values go (the citable IDs, copy mode's
    choices and alternatives); :meth:`fill` puts them in. Templates depend only on the shape of
    the scope, so a batch builds a handful of them, not one pydantic class per article.
    """

    model: type[M]
    template: type[M]
    values: dict[str, Any]
    """Placeholder -> the JSON value that replaces a one-item list holding it."""

    def fill(self, node: Any) -> Any:
        """A copy of ``node`` (a JSON-like value built from the template's schema) with the values in."""
        if isinstance(node, dict):
            return {key: self.fill(value) for key, value in node.items()}
        if isinstance(node, list):
            if len(node) == 1 and isinstance(node[0], str) and node[0] in self.values:
                return list(self.values[node[0]])
            return [self.fill(value) for value in node]
        return node

    def fill_shared(self, shape: dict[str, Any]) -> dict[str, Any]:
        """:meth:`fill` for a ``shape`` that is kept and never changed (a request's shape, built once per
        template): the result and its top-level lists (``messages``: instructor's re-asks append to
        it) are new, and so are the containers on the way to a placeholder; the rest is ``shape``'s
        own, not copied for each request. Whoever sends the result may replace or extend its top-level
        items but must not change anything below them."""
        holders = _holders(shape)
        return {
            key: list(value) if isinstance(value, list) and id(value) not in holders else value
            for key, value in self._fill_shared(shape, holders).items()
        }

    def _fill_shared(self, node: Any, holders: frozenset[int]) -> Any:
        if id(node) not in holders:
            return node
        if isinstance(node, dict):
            return {key: self._fill_shared(value, holders) for key, value in node.items()}
        if len(node) == 1 and isinstance(node[0], str) and node[0] in self.values:
            return list(self.values[node[0]])
        return [self._fill_shared(value, holders) for value in node]

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema this request shows the model."""
        return self.fill(self.template.model_json_schema())

    def concrete(self) -> type[M]:
        """A subclass of ``model`` whose JSON schema is :meth:`json_schema` (for modes that write the
        schema into the conversation as text, where placeholders cannot be filled afterwards)."""
        if not self.values:
            return self.template
        key = (self.template, json.dumps(self.values, sort_keys=True))
        return _subclass(self.model, key, lambda: self.json_schema())


def scoped(
    model: type[M],
    ids: list[str],
    choices: dict[str, list[str]] | None = None,
    pairs: list[CopyChoice] | None = None,
    limits: dict[str, int] | None = None,
    copy: bool = False,
) -> Scoped[M]:
    """``model`` as the model should see it for one request: citations limited to ``ids``.

    Only the JSON schema sent to the model changes (a grammar-constrained backend then cannot
    emit an unknown ID, and every field is required so none is skipped); validation, and so
    the re-ask messages, stay those of ``model``.

    Copy mode, for tiny models that cannot paraphrase without inventing: ``choices`` limits
    named string fields to given values (names found in the article), ``copy`` leaves every
    item's text out of the schema (the tool fills it in from the first cited ID, using the
    validation context's ``copy_text``), ``pairs`` goes further for article answers and offers
    each sentence as one alternative with the values and names it contains, and ``limits``
    caps list lengths (``{"facts": 6}``) so a slow model answers sooner.
    The model then selects and classifies; grounding still checks every item it returns.
    """
    if not ids:
        return Scoped(model, model, {})
    choices = {k: v for k, v in (choices or {}).items() if v}
    values: dict[str, Any] = {_IDS: list(ids)}
    values.update({_CHOICE + name: list(allowed) for name, allowed in choices.items()})
    paired: list[str] = []
    if pairs:
        tightened = _base_schema(model)
        _tighten(tightened, ids, choices)
        for name, definition in sorted(tightened.get("$defs", {}).items()):
            if name in COPIED_FIELDS:
                paired.append(name)
                values[_PAIRS + name] = _paired(definition, COPIED_FIELDS[name], pairs)["anyOf"]
    shape = (model, tuple(sorted(choices)), tuple(paired), tuple(sorted((limits or {}).items())), copy)
    return Scoped(model, _subclass(model, shape, lambda: _template_schema(model, shape)), values)


# The placeholders a template's schema holds, each as the only item of the list it stands for.
_PLACEHOLDER = "\x00"
_IDS = "\x00ids"
_CHOICE = "\x00choice:"
_PAIRS = "\x00pairs:"


_HOLDERS: OrderedDict[int, tuple[Any, frozenset[int]]] = OrderedDict()
"""id(shape) -> (shape, the ids of its dicts and lists that hold a placeholder). The shape is kept
with its entry, so no other object can have its id while the entry lives."""


def _holders(shape: Any) -> frozenset[int]:
    hit = _HOLDERS.get(id(shape))
    if hit is not None and hit[0] is shape:
        return hit[1]
    holders: set[int] = set()

    def walk(node: Any) -> bool:
        if isinstance(node, dict):
            held = [walk(value) for value in node.values()]
        elif isinstance(node, list):
            held = [walk(value) for value in node]
            held.append(len(node) == 1 and isinstance(node[0], str) and node[0].startswith(_PLACEHOLDER))
        else:
            return False
        if any(held):
            holders.add(id(node))
        return any(held)

    walk(shape)
    _HOLDERS[id(shape)] = (shape, frozenset(holders))
    if len(_HOLDERS) > 256:
        _HOLDERS.popitem(last=False)
    return frozenset(holders)


def _template_schema(model: type[BaseModel], shape: tuple[Any, ...]) -> dict[str, Any]:
    _, choice_names, paired, limits, copy = shape
    schema = _base_schema(model)
    _tighten(schema, [_IDS], {name: [_CHOICE + name] for name in choice_names})
    for name, most in limits:
        prop = schema.get("properties", {}).get(name)
        if isinstance(prop, dict) and prop.get("type") == "array":
            prop["maxItems"] = min(int(prop.get("maxItems", most)), most)
    definitions = schema.get("$defs", {})
    for name, text_field in COPIED_FIELDS.items():
        if name not in definitions:
            continue
        if name in paired:
            definitions[name] = {"anyOf": [_PAIRS + name]}
        elif copy:
            definitions[name]["properties"].pop(text_field, None)
            definitions[name]["required"] = list(definitions[name]["properties"])
    return schema


def wrappable(model: type[M]) -> type[M]:
    """``model`` with attribute docstrings switched off (same fields, validators and schema), so a library's
    subclass of it (instructor's, in tools mode) does not make pydantic search every loaded module for a
    source it cannot find."""
    if not model.model_config.get("use_attribute_docstrings"):
        return model
    return _subclass(model, ("wrappable", model), lambda: _base_schema(model))


@functools.lru_cache(maxsize=64)
def _base_schema_text(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema())


def _base_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A fresh copy of ``model``'s JSON schema (pydantic rebuilds it on every call: milliseconds)."""
    return json.loads(_base_schema_text(model))


def _subclass(model: type[M], key: tuple[Any, ...], schema: Callable[[], dict[str, Any]]) -> type[M]:
    """A subclass of ``model`` that shows ``schema()`` as its JSON schema, cached under ``key``."""
    if (hit := _SCOPED.get(key)) is not None:
        _SCOPED.move_to_end(key)
        return hit
    made_schema = schema()

    def model_json_schema(cls: type[M], *args: Any, **kwargs: Any) -> dict[str, Any]:
        return json.loads(json.dumps(made_schema))

    namespace = {
        "model_json_schema": classmethod(model_json_schema),
        "__doc__": model.__doc__,
        # The fields (and their docstring descriptions) are inherited: no source to re-read for each subclass.
        "model_config": {**model.model_config, "use_attribute_docstrings": False},
    }
    made = type(model.__name__, (model,), namespace)
    _SCOPED[key] = made
    if len(_SCOPED) > 256:
        _SCOPED.popitem(last=False)
    return made


# Building a pydantic subclass costs milliseconds: templates and concrete scopes are kept.
_SCOPED: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
