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
matches two or more of its sides with different predicted sides. Both are one-to-one.

**Answers.** One structured answer per article and one for the brief. It counts as
schema-valid when the model's answer was accepted by validation (schema and grounding) on some
attempt, that is, nothing was salvaged: the article did not fail, and no claim was dropped as
malformed or ungrounded (duplicates, headlines and entities are dropped from valid answers too,
so they do not count against it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from summarizer.claims import numbers, unsupported
from summarizer.errors import InputError
from summarizer.evaluate.gold import GoldClaim, GoldDiscrepancy, GoldFact, LoadedCase
from summarizer.evaluate.matching import assign, similarity, states_all
from summarizer.evaluate.metrics import Counts, compute, total
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
    recalled_by: str | None = None
    """The text (or topic) of the predicted item that recalled it."""


class CaseScore(_Out):
    case_id: str
    counts: Counts
    metrics: dict[str, float | None]
    articles: list[ArticleScore]
    brief: Counts
    """What the cross-article part (brief answer and brief claims) contributed to ``counts``."""
    consensus: list[ItemOutcome]
    discrepancies: list[ItemOutcome]


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


def _consensus(brief: Brief, case: LoadedCase, sentences: _Sentences) -> tuple[list[ItemOutcome], int]:
    gold = case.case.consensus
    candidates: dict[tuple[int, int], float] = {}
    for i, claim in enumerate(brief.consensus):
        for j, item in enumerate(gold):
            if not states_all(item.value_groups(), claim.text):
                continue
            backed = backing_articles(claim.citations, item, sentences)
            if len(backed) >= min(2, len(item.support)):
                candidates[(i, j)] = len(backed) + similarity(claim.text, item.statement) / 10
    return _recalled(candidates, [(item.id, item.statement) for item in gold], [c.text for c in brief.consensus])


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


def _discrepancies(brief: Brief, case: LoadedCase, sentences: _Sentences) -> tuple[list[ItemOutcome], int]:
    gold = case.case.discrepancies
    candidates: dict[tuple[int, int], float] = {}
    for i, predicted in enumerate(brief.discrepancies):
        for j, item in enumerate(gold):
            k = sides_matched(predicted, item, sentences)
            if k >= 2:
                candidates[(i, j)] = k + similarity(predicted.topic, item.topic) / 10
    return _recalled(candidates, [(item.id, item.topic) for item in gold], [d.topic for d in brief.discrepancies])


def _recalled(
    candidates: dict[tuple[int, int], float], gold: Sequence[tuple[str, str]], predicted: Sequence[str]
) -> tuple[list[ItemOutcome], int]:
    """Each gold item (id, statement) with the prediction assigned to it one-to-one, if any; and how many were."""
    by_gold = {p.gold: p.pred for p in assign(candidates)}
    outcomes = [
        ItemOutcome(gold=gold_id, statement=statement, recalled_by=predicted[by_gold[j]] if j in by_gold else None)
        for j, (gold_id, statement) in enumerate(gold)
    ]
    return outcomes, len(by_gold)


def _brief_counts(brief: Brief, case: LoadedCase, sentences: _Sentences, consensus: int, discrepancies: int) -> Counts:
    stats, parts = brief.stats, [s.stats for s in brief.summaries]
    calls = stats.calls - sum(p.calls for p in parts)
    dropped = [d for d in brief.dropped if d.where.startswith("brief.")]
    asked = brief.run.engine == "llm" and calls > 0
    valid = asked and bool(brief.overview) and all(d.reason == _DUPLICATE for d in dropped)
    claims: list[Claim] = [*brief.overview, *brief.consensus]
    shipped: list[tuple[str, Sequence[Citation]]] = [(c.text, c.citations) for c in claims]
    shipped += [(side.text, side.citations) for d in brief.discrepancies for side in d.sides]
    shipped += [(f"{t.date}: {t.text}", t.citations) for t in brief.timeline]
    counts = Counts(
        gold_consensus=len(case.case.consensus),
        predicted_consensus=len(brief.consensus),
        recalled_consensus=consensus,
        gold_discrepancies=len(case.case.discrepancies),
        predicted_discrepancies=len(brief.discrepancies),
        recalled_discrepancies=discrepancies,
        answers=int(asked),
        valid_answers=int(valid),
        calls=max(calls, 0),
        reasks=max(stats.reasks - sum(p.reasks for p in parts), 0),
        dropped_claims=len(dropped),
        prompt_tokens=max(stats.prompt_tokens - sum(p.prompt_tokens for p in parts), 0),
        completion_tokens=max(stats.completion_tokens - sum(p.completion_tokens for p in parts), 0),
        model_seconds=max(round(stats.seconds - sum(p.seconds for p in parts), 3), 0.0),
    )
    return counts + _grounding_counts(shipped, sentences)


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
    consensus, recalled_consensus = _consensus(brief, case, sentences)
    discrepancies, recalled_discrepancies = _discrepancies(brief, case, sentences)
    brief_counts = _brief_counts(brief, case, sentences, recalled_consensus, recalled_discrepancies)
    counts = total([a.counts for a in articles]) + brief_counts
    return CaseScore(
        case_id=case.id,
        counts=counts,
        metrics=compute(counts),
        articles=articles,
        brief=brief_counts,
        consensus=consensus,
        discrepancies=discrepancies,
    )
