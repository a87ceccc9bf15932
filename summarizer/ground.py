"""Check every claim against the sentences it cites, and resolve citations to exact spans.

The same checks serve twice: inside instructor's validation (``errors``), where each problem
becomes a line of the re-ask message, and after the last attempt (``resolve``), where each
claim that still fails is moved to ``dropped`` with its reason instead of being shipped.

Over 400 lines: article and brief grounding share every check and the span resolution.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from summarizer.claims import Unsupported, fold, numbers, unsupported
from summarizer.schemas import (
    ArticleExtraction,
    ArticleSummary,
    BriefClaim,
    BriefExtraction,
    BriefPoint,
    CallStats,
    Citation,
    CitedSentence,
    Claim,
    Discrepancy,
    DiscrepancyOut,
    Dropped,
    Entity,
    ExtractedEntity,
    ExtractedFact,
    Fact,
    Mention,
    Review,
    SideOut,
    TimelineEntry,
    TimelineItem,
)
from summarizer.segment import Article, Sentence

_DATE_WORD = re.compile(
    r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|"
    r"today|yesterday|tonight|morning|evening|night|week|month|year|decade|century|spring|summer|autumn|winter)",
    re.I,
)
_SENTENCE_REF = re.compile(r"^\[?\s*(?:(a\d+)[.:])?s?(\d+)\s*\]?$", re.I)
_FACT_REF = re.compile(r"^\[?\s*(a\d+)[.:]?f(\d+)\s*\]?$", re.I)
_APOSTROPHE = re.compile("['’]")
_ESCAPED_DASH = re.compile(r"\\?[\-–—]")


def cite(article_id: str, s: Sentence) -> Citation:
    """The citation of sentence ``s`` of article ``article_id``: its ID, exact offsets and text."""
    return Citation(article_id=article_id, sentence_id=s.id, start=s.start, end=s.end, text=s.text)


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _list_ids(ids: Sequence[str]) -> str:
    return ", ".join(ids) if len(ids) <= 6 else ", ".join(ids[:5]) + f", … ({len(ids)} in all)"


def _id_range(ids: Sequence[str]) -> str:
    return ", ".join(ids) if len(ids) <= 6 else f"{ids[0]} to {ids[-1]}"


@dataclass
class Checked:
    """The outcome of checking one claim: its resolved citations or the reason it fails."""

    citations: list[Citation]
    reason: str | None = None


class ArticleGrounding:
    """Grounding rules for the answer about one article. Callable: answer -> list of errors."""

    def __init__(self, article: Article) -> None:
        self.article = article
        self._citable = {s.id: s for s in article.citable}
        self._all_text = article.title + "\n" + "\n".join(s.text for s in article.citable)

    # -- single claims -------------------------------------------------------------------
    def sentence_id(self, raw: str) -> str | None:
        match = _SENTENCE_REF.match(str(raw).strip())
        if not match or (match.group(1) and match.group(1).lower() != self.article.id):
            return None
        sid = f"s{int(match.group(2))}"
        return sid if sid in self._citable else None

    def check(self, text: str, cites: Iterable[str]) -> Checked:
        cites = list(cites)
        if not cites:
            return Checked([], "cites no sentence; every claim needs at least one citation")
        sentences: list[Sentence] = []
        for raw in cites:
            sid = self.sentence_id(raw)
            if sid is None:
                valid = list(self._citable)
                return Checked([], f"cites {raw!r}, which is not a sentence ID of this article ({_id_range(valid)})")
            if self._citable[sid] not in sentences:
                sentences.append(self._citable[sid])
        evidence = "\n".join(s.text for s in sentences)
        problems = unsupported(text, evidence)
        if problems:
            where = ", ".join(s.id for s in sentences)
            return Checked(
                [], f"{'; '.join(map(str, problems))} not in the cited sentence(s) {where}{self._hint(problems)}"
            )
        return Checked([self._citation(s) for s in sentences])

    def _hint(self, problems: Sequence[Unsupported]) -> str:
        """Where the missing items do occur, so a re-ask can fix the citation rather than guess."""
        hints = []
        for problem in problems[:4]:
            found = [s.id for s in self._citable.values() if problem.found_in(s.text)]
            hints.append(
                f"{problem.value!r} is in {_list_ids(found)}"
                if found
                else f"{problem.value!r} is nowhere in the article"
            )
        return " (" + "; ".join(hints) + ")"

    def _citation(self, s: Sentence) -> Citation:
        return cite(self.article.id, s)

    @staticmethod
    def fact_text(fact: ExtractedFact) -> str:
        parts = [fact.statement]
        if fact.value and fact.value.strip() not in fact.statement:
            parts.append(fact.value)
        if fact.speaker and fact.speaker.strip() not in fact.statement:
            parts.append(fact.speaker)
        return " ".join(parts)

    def check_fact(self, fact: ExtractedFact) -> Checked:
        if fact.kind == "quote" and not (fact.speaker or "").strip():
            return Checked([], "a quote needs its speaker")
        return self.check(self.fact_text(fact), fact.cites)

    def entity_mentions(self, entity: ExtractedEntity) -> tuple[list[Mention], list[str], list[str]]:
        """Mentions of the entity in the body, the aliases found, and the aliases not found."""
        mentions: list[Mention] = []
        kept: list[str] = []
        missing: list[str] = []
        seen_names = {fold(entity.name)}
        for i, name in enumerate([entity.name, *entity.aliases]):
            if i > 0:
                if fold(name) in seen_names:
                    continue  # an alias that repeats the name (or another alias) adds nothing
                seen_names.add(fold(name))
            found = _find_all(self.article.text, name)
            if i > 0:
                (kept if found else missing).append(name)
            mentions.extend(found)
        unique = {(m.start, m.end): m for m in mentions}
        return sorted(unique.values(), key=lambda m: (m.start, m.end)), kept, missing

    # -- whole answers -------------------------------------------------------------------
    def __call__(self, answer: ArticleExtraction) -> list[str]:
        errors = []
        for i, item in enumerate(answer.summary):
            checked = self.check(item.text, item.cites)
            if checked.reason:
                errors.append(f"summary[{i}] {_short(item.text)!r}: {checked.reason}")
        for i, fact in enumerate(answer.facts):
            checked = self.check_fact(fact)
            if checked.reason:
                errors.append(f"facts[{i}] {_short(fact.statement)!r}: {checked.reason}")
        return errors

    def summary(self, answer: ArticleExtraction, stats: CallStats, dropped: Sequence[Dropped] = ()) -> ArticleSummary:
        """The shippable summary of ``answer``: ``resolve`` packaged with the call's stats."""
        headline, summary, facts, entities, more = self.resolve(answer)
        return ArticleSummary(
            article_id=self.article.id,
            headline=headline,
            summary=summary,
            facts=facts,
            entities=entities,
            dropped=[*dropped, *more],
            stats=stats,
        )

    def resolve(self, answer: ArticleExtraction) -> tuple[str, list[Claim], list[Fact], list[Entity], list[Dropped]]:
        """The shippable parts of ``answer``; everything else goes to the dropped list with its reason."""
        aid = self.article.id
        dropped: list[Dropped] = []
        headline = answer.headline.strip()
        if not headline:
            headline = self.article.title
        elif problems := unsupported(headline, self._all_text):
            dropped.append(
                Dropped(
                    where=f"{aid}.headline",
                    claim=headline,
                    reason=f"{'; '.join(map(str, problems))} not in the article; used the article's title",
                )
            )
            headline = self.article.title
        summary: list[Claim] = []
        seen: set[str] = set()
        for i, item in enumerate(answer.summary):
            checked = self.check(item.text, item.cites)
            where = f"{aid}.summary[{i}]"
            if reason := checked.reason or _duplicate(item.text, seen):
                dropped.append(Dropped(where=where, claim=item.text, reason=reason, cited=list(item.cites)))
            else:
                summary.append(Claim(text=item.text.strip(), citations=checked.citations))
        facts: list[Fact] = []
        seen = set()
        for i, fact in enumerate(answer.facts):
            checked = self.check_fact(fact)
            where = f"{aid}.facts[{i}]"
            if reason := checked.reason or _duplicate(fact.statement, seen):
                dropped.append(Dropped(where=where, claim=fact.statement, reason=reason, cited=list(fact.cites)))
                continue
            facts.append(
                Fact(
                    id=f"{aid}.f{len(facts) + 1}",
                    kind=fact.kind,
                    text=fact.statement.strip(),
                    value=(fact.value or "").strip() or None,
                    speaker=(fact.speaker or "").strip() or None,
                    citations=checked.citations,
                )
            )
        entities: list[Entity] = []
        seen = set()
        for i, entity in enumerate(answer.entities):
            where = f"{aid}.entities[{i}]"
            mentions, aliases, missing = self.entity_mentions(entity)
            if not _find_all(self.article.text, entity.name):
                dropped.append(Dropped(where=where, claim=entity.name, reason="name does not occur in the article"))
                continue
            if reason := _duplicate(entity.name, seen):
                dropped.append(Dropped(where=where, claim=entity.name, reason=reason))
                continue
            dropped.extend(
                Dropped(
                    where=where,
                    claim=f"{entity.name} (alias {alias})",
                    reason="alias does not occur in the article",
                )
                for alias in missing
            )
            entities.append(Entity(name=entity.name.strip(), type=entity.type, aliases=aliases, mentions=mentions))
        return headline, summary, facts, entities, dropped


def _duplicate(text: str, seen: set[str]) -> str | None:
    key = " ".join(fold(text).split())
    if key in seen:
        return "duplicate of an earlier item"
    seen.add(key)
    return None


def _find_all(text: str, name: str) -> list[Mention]:
    name = name.strip()
    if len(name) < 2:
        return []
    return [
        Mention(start=match.start(), end=match.end(), text=match.group(0))
        for match in _name_pattern(name).finditer(text)
    ]


@lru_cache(maxsize=1024)
def _name_pattern(name: str) -> re.Pattern[str]:
    """``name`` as a whole word, in any case and any apostrophe or dash style."""
    pattern = _APOSTROPHE.sub("['’]", re.escape(name))
    pattern = _ESCAPED_DASH.sub("[-–—]", pattern)
    return re.compile(rf"(?<!\w){pattern}(?!\w)", re.IGNORECASE)


# -- salvage -------------------------------------------------------------------------------
Rejected = tuple[str, int, Any, str]
"""A list item that failed structural validation: (field, index, item, reason)."""


def lenient(
    model: type[BaseModel],
    payload: dict[str, Any] | None,
    lists: dict[str, type[BaseModel]],
    context: dict[str, Any] | None = None,
) -> tuple[BaseModel | None, list[Rejected]]:
    """Build ``model`` from ``payload`` item by item, keeping the valid list items.

    Used after the last attempt: one malformed fact must not cost the article its other
    facts. List bounds are not enforced here; string scalars that are missing become "".
    Grounding is not checked (the caller resolves every kept item afterwards).
    """
    if not isinstance(payload, dict):
        return None, []
    rejected: list[Rejected] = []
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        value = payload.get(name)
        if name in lists:
            kept = []
            for i, item in enumerate(value if isinstance(value, list) else []):
                try:
                    # Item-level context only (copy mode's texts): grounding is resolved by the caller.
                    item_context = {k: v for k, v in (context or {}).items() if k != "grounding"}
                    kept.append(lists[name].model_validate(item, context=item_context))
                except ValidationError as exc:
                    rejected.append((name, i, item, _pydantic_reason(exc)))
            fields[name] = kept
        elif field.annotation is str:
            fields[name] = value.strip() if isinstance(value, str) else ""
    return model.model_construct(**fields), rejected


def _pydantic_reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    return f"{loc}: {first['msg']}" if loc else first["msg"]


def rejected_as_dropped(prefix: str, rejected: Iterable[Rejected]) -> list[Dropped]:
    out = []
    for name, i, item, reason in rejected:
        text = ""
        if isinstance(item, dict):
            text = str(item.get("text") or item.get("statement") or item.get("topic") or item.get("name") or "")
        out.append(Dropped(where=f"{prefix}.{name}[{i}]", claim=text or str(item)[:200], reason=f"malformed: {reason}"))
    return out


ARTICLE_LISTS: dict[str, type[BaseModel]] = {
    "summary": CitedSentence,
    "facts": ExtractedFact,
    "entities": ExtractedEntity,
}
BRIEF_LISTS: dict[str, type[BaseModel]] = {
    "overview": BriefPoint, "consensus": BriefPoint, "discrepancies": Discrepancy, "timeline": TimelineItem,
    "reviews": Review,
}  # fmt: skip


def best_attempt(
    model: type[BaseModel],
    payloads: Sequence[dict[str, Any] | None],
    lists: dict[str, type[BaseModel]],
    score: Any,
    context: dict[str, Any] | None = None,
) -> tuple[BaseModel | None, list[Rejected]]:
    """Of all attempts, the salvageable one that ``score`` rates highest (ties: the latest)."""
    best: tuple[Any, BaseModel | None, list[Rejected]] = (None, None, [])
    for payload in payloads:
        value, rejected = lenient(model, payload, lists, context)
        if value is None:
            continue
        rating = score(value)
        if best[0] is None or rating >= best[0]:
            best = (rating, value, rejected)
    return best[1], best[2]


# -- the brief -----------------------------------------------------------------------------
class BriefGrounding:
    """Grounding rules for the cross-article brief: claims cite facts, facts cite sentences."""

    def __init__(self, facts: Sequence[Fact]) -> None:
        self.facts = {f.id: f for f in facts}

    def fact_id(self, raw: str) -> str | None:
        match = _FACT_REF.match(str(raw).strip())
        if not match:
            return None
        fid = f"{match.group(1).lower()}.f{int(match.group(2))}"
        return fid if fid in self.facts else None

    def check(self, text: str, cites: Iterable[str], *, min_articles: int = 1) -> tuple[BriefClaim | None, str | None]:
        ids: list[str] = []
        for raw in cites:
            fid = self.fact_id(raw)
            if fid is None:
                return None, f"cites {raw!r}, which is not a fact ID shown ({_id_range(list(self.facts))})"
            if fid not in ids:
                ids.append(fid)
        if not ids:
            return None, "cites no fact; every claim needs at least one citation"
        citations: list[Citation] = []
        for fid in ids:
            for c in self.facts[fid].citations:
                if c not in citations:
                    citations.append(c)
        articles = sorted({c.article_id for c in citations})
        if len(articles) < min_articles:
            return None, f"needs facts from {min_articles} or more articles, cites only {', '.join(articles)}"
        if min_articles > 1:
            # Consensus means each article says it: check the claim against every article's own sentences.
            supporting = [
                a for a in articles if not unsupported(text, "\n".join(c.text for c in citations if c.article_id == a))
            ]
            if len(supporting) < min_articles:
                lacking = [a for a in articles if a not in supporting]
                return None, (
                    f"is not supported by the cited facts of {', '.join(lacking)} on their own; consensus needs "
                    f"{min_articles} or more articles that each state it"
                )
        evidence = "\n".join(c.text for c in citations)
        problems = unsupported(text, evidence)
        if problems:
            return None, f"{'; '.join(map(str, problems))} not in the sentences behind {', '.join(ids)}"
        return BriefClaim(text=text.strip(), citations=citations, facts=ids), None

    def _discrepancy(self, item: Discrepancy) -> tuple[DiscrepancyOut | None, str | None]:
        sides: list[SideOut] = []
        for j, side in enumerate(item.sides):
            claim, reason = self.check(side.text, side.cites)
            if claim is None:
                return None, f"side {j + 1}: {reason}"
            sides.append(SideOut(**claim.model_dump(), article_ids=sorted({c.article_id for c in claim.citations})))
        if len({frozenset(s.facts) for s in sides}) < len(sides):
            return None, "two sides cite the same facts; a discrepancy needs each version's own evidence"
        if len(sides) < 2:
            return None, "a discrepancy needs at least two sides"
        topic_problems = unsupported(item.topic, "\n".join(c.text for s in sides for c in s.citations))
        if topic_problems:
            return None, f"topic: {'; '.join(map(str, topic_problems))} not in the cited sentences"
        return DiscrepancyOut(topic=item.topic.strip(), sides=sides), None

    def _timeline(self, item: TimelineItem) -> tuple[TimelineEntry | None, str | None]:
        if not numbers(item.date) and not _DATE_WORD.search(item.date):
            return None, f"date {item.date!r} names no day, month, year or time"
        claim, reason = self.check(f"{item.date}: {item.event}", item.cites)
        if claim is None:
            return None, reason
        return TimelineEntry(**{**claim.model_dump(), "text": item.event.strip()}, date=item.date.strip()), None

    def __call__(self, answer: BriefExtraction) -> list[str]:
        return [f"{where} {_short(text)!r}: {reason}" for where, text, _, _, reason in self._walk(answer) if reason]

    def _walk(self, answer: BriefExtraction) -> Iterable[tuple[str, str, list[str], Any, str | None]]:
        """Each item of the answer checked once: (where, text, cited IDs, resolved item or None, reason)."""
        for i, p in enumerate(answer.overview):
            yield (f"overview[{i}]", p.text, p.cites, *self.check(p.text, p.cites))
        for i, p in enumerate(answer.consensus):
            yield (f"consensus[{i}]", p.text, p.cites, *self.check(p.text, p.cites, min_articles=2))
        for i, d in enumerate(answer.discrepancies):
            yield (f"discrepancies[{i}]", d.topic, [c for side in d.sides for c in side.cites], *self._discrepancy(d))
        for i, t in enumerate(answer.timeline):
            yield (f"timeline[{i}]", f"{t.date}: {t.event}", t.cites, *self._timeline(t))

    def resolve(
        self, answer: BriefExtraction
    ) -> tuple[list[BriefClaim], list[BriefClaim], list[DiscrepancyOut], list[TimelineEntry], list[Dropped]]:
        kept: dict[str, list[Any]] = {"overview": [], "consensus": [], "discrepancies": [], "timeline": []}
        dropped: list[Dropped] = []
        seen: set[str] = set()
        for where, text, cited, result, reason in self._walk(answer):
            section = where.split("[")[0]
            reason = reason or _duplicate(f"{section}:{text}", seen)
            if result is None or reason:
                dropped.append(Dropped(where=f"brief.{where}", claim=text, reason=reason or "invalid", cited=cited))
            else:
                kept[section].append(result)
        return kept["overview"], kept["consensus"], kept["discrepancies"], kept["timeline"], dropped
