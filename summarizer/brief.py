"""Cross-article stage: build the brief from the grounded facts of each article, not from the texts.

The prompt holds one line per kept fact, so its size grows with the facts, not with the
articles' length. Brief claims cite fact IDs; each resolves to the sentences behind the facts,
and is checked against those sentences (not against the model's own fact wording).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from summarizer.ask import ModelClient, Settings, ask
from summarizer.cache import ResponseCache
from summarizer.ground import BRIEF_LISTS, BriefGrounding, best_attempt, rejected_as_dropped
from summarizer.schemas import (
    ArticleSummary,
    Brief,
    BriefClaim,
    BriefExtraction,
    CallStats,
    DiscrepancyOut,
    Dropped,
    Fact,
    RunInfo,
    TimelineEntry,
)
from summarizer.schemas.llm import scoped
from summarizer.segment import Article
from summarizer.templates import PromptSet

if TYPE_CHECKING:  # the analysis is imported where a brief is made, not when the batch CLI starts
    from summarizer.analysis import Analysis, Ref

    MaybeAnalysis = Analysis | None
else:
    MaybeAnalysis = Any  # pydantic resolves annotations at run time; it only carries the object


class BriefParts(BaseModel):
    """The brief's own sections, before they are assembled with the articles and summaries into a ``Brief``.

    The batch stores it as JSON (``model_dump_json``, read back with ``model_validate_json``);
    ``analysis`` and ``reviews`` serve the merge with the cross-source analysis and are not stored.
    """

    overview: list[BriefClaim] = Field(default_factory=list)
    consensus: list[BriefClaim] = Field(default_factory=list)
    discrepancies: list[DiscrepancyOut] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    dropped: list[Dropped] = Field(default_factory=list)
    stats: CallStats = Field(default_factory=CallStats)
    error: str | None = None
    analysis: MaybeAnalysis = Field(default=None, exclude=True, repr=False)
    """The cross-source analysis the brief was asked with (kept so it is not computed twice)."""
    reviews: dict[str, tuple[str, str | None]] = Field(default_factory=dict, exclude=True, repr=False)
    """Candidate ID -> (verdict, reason) as the model gave them."""


def fact_lines(summaries: Sequence[ArticleSummary], per_article: int | None = None) -> str:
    lines = []
    for summary in summaries:
        for fact in summary.facts[:per_article]:
            extra = "; ".join(
                x for x in (fact.value and f"value: {fact.value}", fact.speaker and f"speaker: {fact.speaker}") if x
            )
            lines.append(f"[{fact.id}] ({fact.kind}) {' '.join(fact.text.split())}" + (f" ({extra})" if extra else ""))
    return "\n".join(lines)


def article_lines(articles: Sequence[Article]) -> str:
    lines = []
    for a in articles:
        meta = ", ".join(x for x in (a.doc.source, a.doc.published) if x)
        lines.append(f"{a.id}: {' '.join(a.title.split())}" + (f" ({meta})" if meta else ""))
    return "\n".join(lines)


def brief_messages(
    articles: Sequence[Article],
    summaries: Sequence[ArticleSummary],
    prompts: PromptSet,
    candidates: Sequence[tuple[str, str]] = (),
    per_article: int | None = None,
) -> list[dict[str, str]]:
    lines = "\n".join(f"[{cid}] {text}" for cid, text in candidates) or "(none)"
    facts = fact_lines(summaries, per_article)
    return prompts.brief.messages(articles=article_lines(articles), facts=facts, candidates=lines)


def candidate_ids(analysis: Analysis) -> dict[str, tuple[str, int]]:
    """Candidate ID ("d1", "t3", "c2") -> (section, index in the analysis)."""
    ids: dict[str, tuple[str, int]] = {}
    for prefix, section, items in (
        ("d", "discrepancies", analysis.discrepancies),
        ("t", "timeline", analysis.timeline),
        ("c", "consensus", analysis.consensus),
    ):
        ids.update({f"{prefix}{i + 1}": (section, i) for i in range(len(items))})
    return ids


def candidate_lines(analysis: Analysis, articles: Sequence[Article], *, full: bool = True) -> list[tuple[str, str]]:
    """The analysis as the brief prompt shows it: one line per candidate, with the sentences it rests on.

    Not ``full`` (copy mode's tiny model, which reads a prompt slowly and can only confirm): the
    discrepancies only, citing their sentences by ID; the timeline and consensus ship as they are."""
    quotes = full
    text = {(a.id, s.id): " ".join(s.text.split()) for a in articles for s in a.citable}

    def quote(ref: Ref, limit: int = 160) -> str:
        if not quotes:
            return str(ref)
        sentence = text.get((ref.article_id, ref.sentence_id), "")
        return f'{ref} "{sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"}"'

    lines = []
    for cid, (section, i) in candidate_ids(analysis).items():
        if not full and section != "discrepancies":
            continue
        if section == "discrepancies":
            d = analysis.discrepancies[i]
            sides = " | ".join(f"{side.value}: {quote(side.refs[0])}" for side in d.sides)
            lines.append((cid, f"({d.kind}) {d.topic} — {sides}"))
        elif section == "timeline":
            t = analysis.timeline[i]
            lines.append(
                (cid, f'(dated event) {t.iso or "unresolved"} from "{t.words}" ({t.resolution}) — {quote(t.ref)}')
            )
        else:
            c = analysis.consensus[i]
            lines.append((cid, "(agreed) " + " | ".join(quote(r, 120) for r in c.refs)))
    return lines


COPY_FACTS_SHOWN = 5
COPY_LIMITS = {"overview": 3, "consensus": 0, "discrepancies": 0, "timeline": 0}
"""Copy mode asks the tiny model for an overview and its reviews of the analysis only: its own consensus,
discrepancies and timeline items measured below the analysis on every case it was tried on."""


async def build_brief(
    articles: Sequence[Article],
    summaries: Sequence[ArticleSummary],
    *,
    client: ModelClient,
    model: str,
    prompts: PromptSet,
    settings: Settings,
    cache: ResponseCache | None = None,
    analysis: Analysis | None = None,
) -> BriefParts:
    """The brief across segmented ``articles`` as every model engine ships it (``brief`` and the batch alike):
    the model's answer over the analysis's candidates (``analysis``, computed when not given), then the analysis
    merged in (:func:`with_analysis`). A provider failure propagates; a brief the model could not give has
    ``error`` set, and the analysis still."""
    parts = await _asked_brief(
        articles, summaries, client=client, model=model, prompts=prompts, settings=settings, cache=cache,
        analysis=analysis,
    )  # fmt: skip
    return analysed(parts, articles, summaries, settings)


MODEL_BRIEF = "brief"
"""Where a brief the model did not give is noted among the dropped claims."""


def analysed(
    parts: BriefParts, articles: Sequence[Article], summaries: Sequence[ArticleSummary], settings: Settings
) -> BriefParts:
    """``parts`` with the cross-source analysis merged in (:func:`with_analysis`), trusting the model's reviews
    unless it is copy mode's tiny one: what every brief across articles ships, the model's or not. A brief the
    model did not give (``error``) says so in its dropped list, so every output shows it is the analysis alone."""
    if parts.error and not any(d.where == MODEL_BRIEF for d in parts.dropped):
        parts.dropped.append(
            Dropped(where=MODEL_BRIEF, claim="the model's brief", reason=f"{parts.error}; this is the analysis alone")
        )
    return with_analysis(parts, articles, [f for s in summaries for f in s.facts], trusted=not settings.copy_mode)


async def _asked_brief(
    articles: Sequence[Article],
    summaries: Sequence[ArticleSummary],
    *,
    client: ModelClient,
    model: str,
    prompts: PromptSet,
    settings: Settings,
    cache: ResponseCache | None = None,
    analysis: Analysis | None = None,
) -> BriefParts:
    from summarizer.analysis import analyse_yielding

    facts = [f for s in summaries for f in s.facts]
    if analysis is None:
        analysis = await analyse_yielding(articles)
    if not facts:
        return BriefParts(error="no grounded facts to build a brief from", analysis=analysis)
    grounding = BriefGrounding(facts)
    context: dict[str, object] = {"grounding": grounding}
    if settings.copy_mode:
        context["copy_text"] = {f.id: f.text for f in facts}
    candidates = candidate_lines(analysis, articles, full=not settings.copy_mode)
    # Copy mode picks an overview from each article's first facts (its lead): a shorter prompt for a slow reader.
    shown = COPY_FACTS_SHOWN if settings.copy_mode else None
    # Copy mode asks for no discrepancy or timeline items of its own (COPY_LIMITS), so only the IDs need choosing.
    choices = {"candidate": [cid for cid, _ in candidates]}
    answer = await ask(
        client,
        model=model,
        messages=brief_messages(articles, summaries, prompts, candidates, shown),
        response_model=scoped(
            BriefExtraction,
            [f.id for s in summaries for f in s.facts[:shown]],
            choices,
            limits={**COPY_LIMITS, "reviews": min(len(candidates), 12)} if settings.copy_mode else None,
            copy=settings.copy_mode,
        ),
        settings=settings,
        context=context,
        cache=cache,
    )
    parts = BriefParts(stats=answer.stats, analysis=analysis)
    extraction = answer.value
    if extraction is None:

        def score(candidate: Any) -> int:
            resolved = grounding.resolve(candidate)
            return sum(len(x) for x in resolved[:4])

        salvaged, rejected = best_attempt(BriefExtraction, answer.payloads, BRIEF_LISTS, score, context)
        if salvaged is None:
            parts.error = f"no usable brief after {answer.stats.calls} call(s)"
            return parts
        extraction = salvaged
        parts.dropped.extend(rejected_as_dropped("brief", rejected))
    assert isinstance(extraction, BriefExtraction)
    parts.overview, parts.consensus, parts.discrepancies, parts.timeline, dropped = grounding.resolve(extraction)
    parts.overview = [c.model_copy(update={"origin": "model"}) for c in parts.overview]
    parts.dropped.extend(dropped)
    known = {cid for cid, _ in candidates}
    parts.reviews = {r.candidate: (r.verdict, r.reason) for r in extraction.reviews if r.candidate in known}
    return parts


def with_analysis(
    parts: BriefParts, articles: Sequence[Article], facts: Sequence[Fact], *, trusted: bool = True
) -> BriefParts:
    """Merge the cross-source analysis into ``parts`` (in place): what the model cannot improve, the analysis keeps.

    Each analysis item ships (checked against its sentences) unless a ``trusted`` model rejected it:
    a rejection is dropped visibly, with the model's reason. An item the model confirmed, or cited
    the same sentences for, ships once, as "both"; a trusted model's other items ship as "model". A
    model discrepancy whose sides give the same values is dropped, visibly. An untrusted model (copy
    mode's tiny one) can confirm but neither remove nor add: its additions are dropped, visibly.
    """
    from summarizer.analysis import analyse
    from summarizer.analysis import sections as analysed

    analysis = parts.analysis or analyse(articles)
    sentences = analysed.Sentences(articles, facts)
    confirmed: dict[str, set[int]] = {"discrepancies": set(), "timeline": set(), "consensus": set()}
    skip: dict[str, set[int]] = {"discrepancies": set(), "timeline": set(), "consensus": set()}
    for cid, (section, i) in candidate_ids(analysis).items():
        verdict, reason = parts.reviews.get(cid, ("", None))
        if verdict == "confirm":
            confirmed[section].add(i)
        elif verdict == "reject" and trusted:
            skip[section].add(i)
            parts.dropped.append(
                Dropped(
                    where=f"analysis.{section}[{i}]",
                    claim=_candidate_text(analysis, section, i),
                    reason=f"rejected by the model: {reason or 'no reason given'}",
                    cited=[cid],
                )
            )
    found, dropped = analysed.discrepancies(
        analysis, sentences, frozenset(confirmed["discrepancies"]), frozenset(skip["discrepancies"])
    )
    dated, dropped_dates = analysed.timeline(
        analysis, sentences, frozenset(confirmed["timeline"]), frozenset(skip["timeline"])
    )
    agreed, dropped_points = analysed.consensus(
        analysis, sentences, frozenset(confirmed["consensus"]), frozenset(skip["consensus"])
    )
    parts.dropped.extend([*dropped, *dropped_dates, *dropped_points])

    def cited(citations: Iterable[Any]) -> frozenset[tuple[str, str]]:
        return frozenset((c.article_id, c.sentence_id) for c in citations)

    if not trusted:
        untrusted = [
            *(("discrepancies", i, d.topic) for i, d in enumerate(parts.discrepancies)),
            *(("consensus", i, c.text) for i, c in enumerate(parts.consensus)),
            *(("timeline", i, t.text) for i, t in enumerate(parts.timeline)),
        ]
        parts.dropped += [
            Dropped(where=f"brief.{section}[{i}]", claim=text, reason=_UNTRUSTED, cited=[])
            for section, i, text in untrusted
        ]
        parts.discrepancies, parts.consensus, parts.timeline = [], [], []
    model_discrepancies = []
    for i, d in enumerate(parts.discrepancies):
        if len({" ".join(side.text.lower().split()) for side in d.sides}) < len(d.sides) or _same_values(d):
            parts.dropped.append(
                Dropped(where=f"brief.discrepancies[{i}]", claim=d.topic, reason="its sides do not differ", cited=[])
            )
            continue
        model_discrepancies.append(d)
    merged_d: list[DiscrepancyOut] = []
    claimed: set[int] = set()
    for item in found:
        keys = cited(c for side in item.sides for c in side.citations)
        twin = next(
            (
                j
                for j, d in enumerate(model_discrepancies)
                if j not in claimed and keys & cited(c for side in d.sides for c in side.citations)
            ),
            None,
        )
        if twin is not None:
            claimed.add(twin)
            item = item.model_copy(update={"origin": "both"})
        merged_d.append(item)
    merged_d += [
        d.model_copy(update={"origin": "model"}) for j, d in enumerate(model_discrepancies) if j not in claimed
    ]
    parts.discrepancies = merged_d

    taken = {cited(t.citations) for t in dated}
    model_dates = [t for t in parts.timeline if cited(t.citations) not in taken]
    dated_twice = {cited(t.citations) for t in parts.timeline} & taken
    timeline = [t.model_copy(update={"origin": "both"}) if cited(t.citations) in dated_twice else t for t in dated]
    timeline += [analysed.resolve_entry(t, sentences).model_copy(update={"origin": "model"}) for t in model_dates]
    parts.timeline = sorted(timeline, key=lambda t: (t.iso is None, t.iso or ""))

    agreed_keys = {cited(c.citations) for c in agreed}
    model_points = [c for c in parts.consensus if cited(c.citations) not in agreed_keys]
    both = {cited(c.citations) for c in parts.consensus} & agreed_keys
    parts.consensus = [c.model_copy(update={"origin": "both"}) if cited(c.citations) in both else c for c in agreed]
    parts.consensus += [c.model_copy(update={"origin": "model"}) for c in model_points]
    return parts


_UNTRUSTED = "copy mode: the embedded model's own cross-source items are not shipped, only the analysis's"


def _candidate_text(analysis: Analysis, section: str, i: int) -> str:
    if section == "discrepancies":
        return analysis.discrepancies[i].topic
    if section == "timeline":
        return f"{analysis.timeline[i].iso}: {analysis.timeline[i].words} ({analysis.timeline[i].ref})"
    return "agreed: " + ", ".join(str(r) for r in analysis.consensus[i].refs)


def _same_values(d: DiscrepancyOut) -> bool:
    """Sides that state the same numbers and names: no discrepancy, whatever the topic says."""
    from summarizer.claims import names, numbers

    keys = [(numbers(side.text), frozenset(n.lower() for n in names(side.text))) for side in d.sides]
    return len(set(keys)) < len(keys)


def assemble(
    articles: Sequence[Article], summaries: Sequence[ArticleSummary], parts: BriefParts, run: RunInfo
) -> Brief:
    """The output document: the articles, their summaries and the brief's sections, with the run's totals."""
    stats = CallStats()
    for s in summaries:
        stats = stats.add(s.stats)
    stats = stats.add(parts.stats)
    return Brief(
        run=run,
        articles=[a.to_out() for a in articles],
        summaries=list(summaries),
        overview=parts.overview,
        consensus=parts.consensus,
        discrepancies=parts.discrepancies,
        timeline=parts.timeline,
        single_source=single_source(summaries, parts.consensus),
        dropped=[d for s in summaries for d in s.dropped] + parts.dropped,
        stats=stats,
    )


def single_source(summaries: Sequence[ArticleSummary], consensus: Sequence[BriefClaim]) -> list[Fact]:
    """Kept facts that no consensus point rests on: what only one article reports."""
    used = {fid for claim in consensus for fid in claim.facts}
    return [f for s in summaries for f in s.facts if f.id not in used]
