"""Score a Brief against a case's labels. Deterministic, offline, no model involved.

Rules (also in ``evals/README.md``):

**Facts.** A predicted fact and a gold fact are a candidate pair when the prediction (its
statement, value and speaker) states every gold value (any listed variant; see ``matching``)
and its statement is similar to the gold statement or to one of the gold support sentences
(``similarity >= FACT_SIMILARITY``). Pairs are then made one-to-one (``matching.assign``).
Fact recall = matched / gold facts; fact precision = matched / predicted facts; the grounded
variant also counts unmatched predictions that are fully supported by their citations (every
number and name in them is in the cited sentences) as correct.

**Citations** (ALCE-style, over matched facts). Recall: the fact's citations include one
complete gold support (a sentence, or every sentence of a required set). Precision: a citation
is precise when it is a gold support sentence, or when the citations together support every
number and name of the fact and this one is needed for that (ALCE: a citation is irrelevant
when the others do as well without it). Validity, over every citation shipped: the article exists,
the sentence ID is in its sentence map with the same offsets, and ``text[start:end]`` equals the
citation's text.

**Number grounding**, over every shipped claim that contains a number (summary sentences,
facts, and the brief's overview, consensus, discrepancy sides and timeline): every number in
the claim occurs in its validly cited sentences.

**Consensus and discrepancies.** An article *backs* a gold item for a predicted claim when the
claim cites one of the item's support sentences in that article, or (if the item lists values)
a sentence of that article that states all of them. A gold consensus item is recalled by a
predicted consensus point that states its values and is backed by two or more articles. A gold
discrepancy side is matched by a predicted side that states the side's values and is backed by
one of the side's articles; a gold discrepancy is recalled by a predicted discrepancy that
matches two or more of its sides with different predicted sides. Recall is one-to-one, and per
kind too (gold ``name`` counts as ``spelling``). Precision counts a prediction correct when it
could recall *some* gold item, so a duplicate is not a false alarm; a predicted discrepancy that
matches none is a false alarm, reported by name.

**Timeline.** A predicted entry matches a gold dated event when it validly cites one of the
event's support sentences; pairs are one-to-one, preferring pairs whose dates agree. Date
accuracy, over matched events: the entry's ``iso`` is the label's day or range (absent = wrong).

**Answers.** One structured answer per article and one for the brief. It counts as
schema-valid when the model's answer was accepted by validation (schema and grounding) on some
attempt, that is, nothing was salvaged: the article did not fail, and no claim was dropped as
malformed or ungrounded (duplicates, headlines and entities are dropped from valid answers too,
so they do not count against it).

Over 500 lines: every metric's rule in one place, in the order evals/README.md documents them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from summarizer.claims import numbers, unsupported
from summarizer.errors import InputError
from summarizer.evaluate.gold import GoldClaim, GoldDiscrepancy, GoldFact, LoadedCase, parse_iso_range
from summarizer.evaluate.matching import assign, similarity, states_all
from summarizer.evaluate.metrics import KIND_BUCKET, Counts, compute, total
from summarizer.schemas import ArticleSummary, Brief, Citation, Claim, DiscrepancyOut, Fact

FACT_SIMILARITY = 0.6
"""Least statement similarity (``matching.similarity``) for a predicted fact to match a gold fact.

Calibrated on the seed labels: 33 hand-written paraphrases of gold facts scored 0.63-1.0 against
them, while copies of *other* sentences that state the same values scored at most 0.56.
"""

_DUPLICATE = "duplicate of an earlier item"
_CLAIM_SLOT = re.compile(r"\.(summary|facts)\[\d+\]$")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactMatch(_Out):
    gold: str
    predicted: str
    text: str
    similarity: float
    citation_recall: bool
    citations: int
    precise_citations: int


class UnmatchedFact(_Out):
    predicted: str
    text: str
    grounded: bool


class ArticleScore(_Out):
    article_id: str
    counts: Counts
    metrics: dict[str, float | None]
    matched: list[FactMatch]
    missed: list[str]
    """Gold fact IDs no prediction matched."""
    unmatched: list[UnmatchedFact]


class ItemOutcome(_Out):
    gold: str
    statement: str
    kind: str | None = None
    """A discrepancy's gold kind (figure, date, spelling, name, outcome, attribution)."""
    recalled_by: str | None = None
    """The text (or topic) of the predicted item that recalled it."""
    cited: list[str] = Field(default_factory=list)
    """The recalling prediction's citations, as ``a1.s3``."""


class PredictedSide(_Out):
    text: str
    value: str | None = None
    cited: list[str]


class FalseAlarm(_Out):
    """A predicted discrepancy that matches no labelled one: named in the reports."""

    topic: str
    kind: str
    sides: list[PredictedSide]


class TimelineOutcome(_Out):
    """A gold dated event beside the predicted timeline entry that matched it, if any."""

    gold: str
    date: str
    """The label's ISO day or range."""
    relative: bool
    statement: str
    predicted: str | None = None
    predicted_date: str | None = None
    """The date in the source's words, as the prediction gives it."""
    predicted_iso: str | None = None
    date_correct: bool = False
    cited: list[str] = Field(default_factory=list)


class UnmatchedEntry(_Out):
    """A predicted timeline entry or consensus point that matches no label."""

    text: str
    date: str | None = None
    iso: str | None = None
    cited: list[str] = Field(default_factory=list)


class CaseScore(_Out):
    case_id: str
    counts: Counts
    metrics: dict[str, float | None]
    articles: list[ArticleScore]
    brief: Counts
    """What the cross-article part (brief answer and brief claims) contributed to ``counts``."""
    consensus: list[ItemOutcome]
    discrepancies: list[ItemOutcome]
    false_alarms: list[FalseAlarm] = Field(default_factory=list)
    """Predicted discrepancies that match no gold discrepancy."""
    unmatched_consensus: list[UnmatchedEntry] = Field(default_factory=list)
    timeline: list[TimelineOutcome] = Field(default_factory=list)
    unmatched_timeline: list[UnmatchedEntry] = Field(default_factory=list)
    repeat: int = 0
    """Which run of a repeated (``--repeat N``) stochastic run this is, from 0."""


class _Sentences:
    """Resolves citations against the case's own articles, never trusting the citation's copy."""

    def __init__(self, case: LoadedCase) -> None:
        self.case = case
        self._articles = {a.id: a for a in case.articles}

    def text(self, c: Citation) -> str | None:
        """The cited sentence if the citation is valid, else None."""
        article = self._articles.get(c.article_id)
        if article is None:
            return None
        sentence = article.sentence(c.sentence_id)
        if sentence is None or (sentence.start, sentence.end) != (c.start, c.end):
            return None
        return c.text if article.text[c.start : c.end] == c.text else None

    def evidence(self, citations: Sequence[Citation]) -> str:
        return "\n".join(t for c in citations if (t := self.text(c)) is not None)

    def article_states(self, c: Citation, groups: list[list[str]]) -> bool:
        text = self.text(c)
        return text is not None and states_all(groups, text)


def fact_text(fact: Fact) -> str:
    """What a fact asserts: its statement plus value and speaker where the statement omits them."""
    parts = [fact.text]
    for extra in (fact.value, fact.speaker):
        if extra and extra.strip() not in fact.text:
            parts.append(extra)
    return " ".join(parts)


def _grounding_counts(claims: Sequence[tuple[str, Sequence[Citation]]], sentences: _Sentences) -> Counts:
    """Citation validity and number grounding over shipped claims ``(text, citations)``."""
    cited = valid = numbered = grounded = 0
    for text, citations in claims:
        cited += len(citations)
        valid += sum(1 for c in citations if sentences.text(c) is not None)
        claimed = numbers(text)
        if claimed:
            numbered += 1
            grounded += claimed <= numbers(sentences.evidence(citations))
    return Counts(citations=cited, valid_citations=valid, numbered_claims=numbered, grounded_numbered_claims=grounded)


# -- facts ---------------------------------------------------------------------------------------
def _fact_similarity(fact: Fact, gold: GoldFact, case: LoadedCase, aid: str) -> float:
    article = case.article(aid)
    references = [gold.statement]
    references += [s.text for sid in sorted(gold.support_ids()) if (s := article.sentence(sid)) is not None]
    return max(similarity(fact.text, ref) for ref in references)


def _precise(fact: Fact, gold: GoldFact, aid: str, sentences: _Sentences) -> int:
    """Citations of a matched fact that are gold support, or needed by a citation set that supports the fact."""
    text = fact_text(fact)
    supported = not unsupported(text, sentences.evidence(fact.citations))
    precise = 0
    for i, c in enumerate(fact.citations):
        if sentences.text(c) is None:
            continue
        if c.article_id == aid and c.sentence_id in gold.support_ids():
            precise += 1
        elif supported and unsupported(text, sentences.evidence([x for j, x in enumerate(fact.citations) if j != i])):
            precise += 1  # needed: without it a number or name of the fact loses its support
    return precise


def _salvaged(summary: ArticleSummary) -> bool:
    for d in summary.dropped:
        if d.reason.startswith("malformed") or (_CLAIM_SLOT.search(d.where) and d.reason != _DUPLICATE):
            return True
    return False


def score_article(case: LoadedCase, summary: ArticleSummary, brief: Brief, sentences: _Sentences) -> ArticleScore:
    aid = summary.article_id
    gold = case.facts(aid)
    predicted = summary.facts
    candidates: dict[tuple[int, int], float] = {}
    for i, fact in enumerate(predicted):
        text = fact_text(fact)
        for j, g in enumerate(gold):
            if states_all(g.value_groups(), text):
                sim = _fact_similarity(fact, g, case, aid)
                if sim >= FACT_SIMILARITY:
                    candidates[(i, j)] = sim
    pairs = assign(candidates)
    matched: list[FactMatch] = []
    hits = precise_total = cited_total = 0
    for pair in pairs:
        fact, g = predicted[pair.pred], gold[pair.gold]
        cited = {c.sentence_id for c in fact.citations if c.article_id == aid and sentences.text(c) is not None}
        recall_hit = any(group <= cited for group in g.support_groups())
        precise = _precise(fact, g, aid, sentences)
        hits += recall_hit
        precise_total += precise
        cited_total += len(fact.citations)
        matched.append(
            FactMatch(
                gold=g.id,
                predicted=fact.id,
                text=fact.text,
                similarity=round(pair.score, 3),
                citation_recall=recall_hit,
                citations=len(fact.citations),
                precise_citations=precise,
            )
        )
    paired = {p.pred for p in pairs}
    unmatched = []
    for i, fact in enumerate(predicted):
        if i in paired:
            continue
        grounded = bool(fact.citations) and all(sentences.text(c) is not None for c in fact.citations)
        grounded = grounded and not unsupported(fact_text(fact), sentences.evidence(fact.citations))
        unmatched.append(UnmatchedFact(predicted=fact.id, text=fact.text, grounded=grounded))
    llm = brief.run.engine == "llm"
    stats = summary.stats
    counts = Counts(
        articles=1,
        gold_facts=len(gold),
        predicted_facts=len(predicted),
        matched_facts=len(pairs),
        grounded_unlabelled_facts=sum(u.grounded for u in unmatched),
        citation_recall_hits=hits,
        matched_citations=cited_total,
        precise_citations=precise_total,
        answers=int(llm),
        valid_answers=int(llm and summary.status == "ok" and not _salvaged(summary)),
        calls=stats.calls,
        reasks=stats.reasks,
        dropped_claims=len(summary.dropped),
        prompt_tokens=stats.prompt_tokens,
        completion_tokens=stats.completion_tokens,
        model_seconds=stats.seconds,
    )
    shipped: list[tuple[str, Sequence[Citation]]] = [(c.text, c.citations) for c in summary.summary]
    shipped += [(fact_text(f), f.citations) for f in predicted]
    counts = counts + _grounding_counts(shipped, sentences)
    return ArticleScore(
        article_id=aid,
        counts=counts,
        metrics=compute(counts),
        matched=matched,
        missed=[g.id for j, g in enumerate(gold) if j not in {p.gold for p in pairs}],
        unmatched=unmatched,
    )


# -- consensus and discrepancies -----------------------------------------------------------------
def backing_articles(citations: Sequence[Citation], item: GoldClaim, sentences: _Sentences) -> set[str]:
    """The item's articles that back a predicted claim with these citations (see the module rules)."""
    groups = item.value_groups()
    backed = set()
    for aid, sids in item.support.items():
        here = [c for c in citations if c.article_id == aid and sentences.text(c) is not None]
        if any(c.sentence_id in sids for c in here) or (
            groups and any(sentences.article_states(c, groups) for c in here)
        ):
            backed.add(aid)
    return backed


def _cited(citations: Sequence[Citation]) -> list[str]:
    return [f"{c.article_id}.{c.sentence_id}" for c in citations]


@dataclass
class _Items:
    """Gold items of one kind against the predictions: outcomes, how many were recalled, which predictions fit."""

    outcomes: list[ItemOutcome]
    recalled: int
    correct: set[int]
    """Indices of predictions that could recall some gold item (duplicates included)."""


def _consensus(brief: Brief, case: LoadedCase, sentences: _Sentences) -> _Items:
    gold = case.case.consensus
    candidates: dict[tuple[int, int], float] = {}
    for i, claim in enumerate(brief.consensus):
        for j, item in enumerate(gold):
            if not states_all(item.value_groups(), claim.text):
                continue
            backed = backing_articles(claim.citations, item, sentences)
            if len(backed) >= min(2, len(item.support)):
                candidates[(i, j)] = len(backed) + similarity(claim.text, item.statement) / 10
    labels = [(item.id, item.statement, None) for item in gold]
    return _recalled(candidates, labels, [(c.text, c.citations) for c in brief.consensus])


def sides_matched(predicted: DiscrepancyOut, gold: GoldDiscrepancy, sentences: _Sentences) -> int:
    """How many gold sides distinct predicted sides match (one-to-one)."""
    candidates: dict[tuple[int, int], float] = {}
    for i, side in enumerate(predicted.sides):
        for j, gold_side in enumerate(gold.sides):
            if states_all(gold_side.value_groups(), side.text) and backing_articles(
                side.citations, gold_side, sentences
            ):
                candidates[(i, j)] = similarity(side.text, gold_side.statement)
    return len(assign(candidates))


def _discrepancies(brief: Brief, case: LoadedCase, sentences: _Sentences) -> _Items:
    gold = case.case.discrepancies
    candidates: dict[tuple[int, int], float] = {}
    for i, predicted in enumerate(brief.discrepancies):
        for j, item in enumerate(gold):
            k = sides_matched(predicted, item, sentences)
            if k >= 2:
                candidates[(i, j)] = k + similarity(predicted.topic, item.topic) / 10
    labels = [(item.id, item.topic, item.kind) for item in gold]
    predicted = [(d.topic, [c for side in d.sides for c in side.citations]) for d in brief.discrepancies]
    return _recalled(candidates, labels, predicted)


def _recalled(
    candidates: dict[tuple[int, int], float],
    gold: Sequence[tuple[str, str, str | None]],
    predicted: Sequence[tuple[str, Sequence[Citation]]],
) -> _Items:
    """Each gold item (id, statement, kind) with the prediction (text, citations) assigned to it one-to-one."""
    by_gold = {p.gold: p.pred for p in assign(candidates)}
    outcomes = []
    for j, (gold_id, statement, kind) in enumerate(gold):
        hit = predicted[by_gold[j]] if j in by_gold else None
        outcomes.append(
            ItemOutcome(
                gold=gold_id,
                statement=statement,
                kind=kind,
                recalled_by=hit[0] if hit else None,
                cited=_cited(hit[1]) if hit else [],
            )
        )
    return _Items(outcomes, len(by_gold), {i for i, _ in candidates})


def _false_alarms(brief: Brief, correct: set[int]) -> list[FalseAlarm]:
    return [
        FalseAlarm(
            topic=d.topic,
            kind=d.kind,
            sides=[PredictedSide(text=s.text, value=s.value, cited=_cited(s.citations)) for s in d.sides],
        )
        for i, d in enumerate(brief.discrepancies)
        if i not in correct
    ]


def same_date(predicted: str | None, gold: str) -> bool:
    """Whether a predicted ISO day or range is the label's (``2022-01-20`` = ``2022-01-20/2022-01-20``)."""
    if not predicted:
        return False
    try:
        return parse_iso_range(predicted.strip()) == parse_iso_range(gold)
    except ValueError:
        return False


def _timeline(brief: Brief, case: LoadedCase, sentences: _Sentences) -> tuple[list[TimelineOutcome], list[int]]:
    """Gold events with the entry matched to each (one-to-one, preferring agreeing dates); unmatched entry indices."""
    gold = case.case.timeline
    candidates: dict[tuple[int, int], float] = {}
    for i, entry in enumerate(brief.timeline):
        cited = {(c.article_id, c.sentence_id) for c in entry.citations if sentences.text(c) is not None}
        for j, event in enumerate(gold):
            if cited & event.cited_keys():
                agree = same_date(entry.iso, event.date)
                candidates[(i, j)] = 1 + agree + similarity(entry.text, event.statement) / 10
    by_gold = {p.gold: p.pred for p in assign(candidates)}
    outcomes = []
    for j, event in enumerate(gold):
        outcome = TimelineOutcome(gold=event.id, date=event.date, relative=event.relative, statement=event.statement)
        if j in by_gold:
            hit = brief.timeline[by_gold[j]]
            outcome = outcome.model_copy(
                update={
                    "predicted": hit.text,
                    "predicted_date": hit.date,
                    "predicted_iso": hit.iso,
                    "date_correct": same_date(hit.iso, event.date),
                    "cited": _cited(hit.citations),
                }
            )
        outcomes.append(outcome)
    matched = set(by_gold.values())
    return outcomes, [i for i in range(len(brief.timeline)) if i not in matched]


def _kind_counts(outcomes: Sequence[ItemOutcome]) -> Counts:
    tally: dict[str, int] = {}
    for o in outcomes:
        bucket = KIND_BUCKET.get(o.kind or "")
        if bucket is None:
            continue  # a kind without its own recall still counts in the overall discrepancy recall
        tally[f"gold_discrepancies_{bucket}"] = tally.get(f"gold_discrepancies_{bucket}", 0) + 1
        if o.recalled_by is not None:
            key = f"recalled_discrepancies_{bucket}"
            tally[key] = tally.get(key, 0) + 1
    return Counts(**tally)


def _brief_counts(
    brief: Brief,
    case: LoadedCase,
    sentences: _Sentences,
    consensus: _Items,
    discrepancies: _Items,
    timeline: Sequence[TimelineOutcome],
) -> Counts:
    stats, parts = brief.stats, [s.stats for s in brief.summaries]
    calls = stats.calls - sum(p.calls for p in parts)
    dropped = [d for d in brief.dropped if d.where.startswith("brief.")]
    asked = brief.run.engine == "llm" and calls > 0
    valid = asked and bool(brief.overview) and all(d.reason == _DUPLICATE for d in dropped)
    claims: list[Claim] = [*brief.overview, *brief.consensus]
    shipped: list[tuple[str, Sequence[Citation]]] = [(c.text, c.citations) for c in claims]
    shipped += [(side.text, side.citations) for d in brief.discrepancies for side in d.sides]
    shipped += [(f"{t.date}: {t.text}", t.citations) for t in brief.timeline]  # the source's words, not the ISO date
    matched = [t for t in timeline if t.predicted is not None]
    counts = Counts(
        gold_consensus=len(case.case.consensus),
        predicted_consensus=len(brief.consensus),
        recalled_consensus=consensus.recalled,
        correct_consensus=len(consensus.correct),
        gold_discrepancies=len(case.case.discrepancies),
        predicted_discrepancies=len(brief.discrepancies),
        recalled_discrepancies=discrepancies.recalled,
        correct_discrepancies=len(discrepancies.correct),
        gold_timeline=len(case.case.timeline),
        predicted_timeline=len(brief.timeline),
        matched_timeline=len(matched),
        dated_timeline=sum(t.date_correct for t in matched),
        answers=int(asked),
        valid_answers=int(valid),
        calls=max(calls, 0),
        reasks=max(stats.reasks - sum(p.reasks for p in parts), 0),
        dropped_claims=len(dropped),
        prompt_tokens=max(stats.prompt_tokens - sum(p.prompt_tokens for p in parts), 0),
        completion_tokens=max(stats.completion_tokens - sum(p.completion_tokens for p in parts), 0),
        model_seconds=max(round(stats.seconds - sum(p.seconds for p in parts), 3), 0.0),
    )
    return counts + _kind_counts(discrepancies.outcomes) + _grounding_counts(shipped, sentences)


def check_same_articles(case: LoadedCase, brief: Brief) -> None:
    ours = [(a.id, a.text) for a in case.articles]
    theirs = [(a.id, a.text) for a in brief.articles]
    if ours != theirs:
        raise InputError(f"case {case.id}: the brief was not made from this case's articles (IDs or texts differ)")


def score_case(case: LoadedCase, brief: Brief) -> CaseScore:
    """Score ``brief`` (made from ``case.articles``, in order) against the case's labels."""
    check_same_articles(case, brief)
    sentences = _Sentences(case)
    by_id = {s.article_id: s for s in brief.summaries}
    articles = []
    for article in case.articles:
        summary = by_id.get(article.id) or ArticleSummary(
            article_id=article.id, status="failed", error="no summary in the brief", headline=article.title
        )
        articles.append(score_article(case, summary, brief, sentences))
    consensus = _consensus(brief, case, sentences)
    discrepancies = _discrepancies(brief, case, sentences)
    timeline, unmatched_timeline = _timeline(brief, case, sentences)
    brief_counts = _brief_counts(brief, case, sentences, consensus, discrepancies, timeline)
    counts = total([a.counts for a in articles]) + brief_counts
    return CaseScore(
        case_id=case.id,
        counts=counts,
        metrics=compute(counts),
        articles=articles,
        brief=brief_counts,
        consensus=consensus.outcomes,
        discrepancies=discrepancies.outcomes,
        false_alarms=_false_alarms(brief, discrepancies.correct),
        unmatched_consensus=[
            UnmatchedEntry(text=c.text, cited=_cited(c.citations))
            for i, c in enumerate(brief.consensus)
            if i not in consensus.correct
        ],
        timeline=timeline,
        unmatched_timeline=[
            UnmatchedEntry(text=t.text, date=t.date, iso=t.iso, cited=_cited(t.citations))
            for t in (brief.timeline[i] for i in unmatched_timeline)
        ],
    )
