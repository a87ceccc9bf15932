"""The no-LLM engine: extractive selection, through the same schemas and grounding as the model's answers.

It is the floor every eval report shows the model against, and a way to get a cited brief
with no model at all. Per article: the lead sentences as the summary; as facts, the sentences
that carry numbers, dates or attributed quotes (typed by what they carry), topped up with the
others in article order to as many facts as a model may give. Across articles: each article's
lead fact as the overview; consensus, discrepancies and the timeline come from the cross-source
analysis (``summarizer.analysis``), as for every engine.

Everything is first written as the model would write it (``ArticleExtraction``,
``BriefExtraction``) and then resolved by the same grounding code, so citations, fact IDs and
drops are made exactly as in an LLM run.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from annotated_types import MaxLen
from pydantic import BaseModel

from summarizer.brief import BriefParts, assemble, with_analysis
from summarizer.claims import names, numbers
from summarizer.ground import ArticleGrounding, BriefGrounding
from summarizer.schemas import (
    ArticleExtraction,
    ArticleSummary,
    Brief,
    BriefExtraction,
    BriefPoint,
    CallStats,
    CitedSentence,
    ExtractedFact,
    Fact,
    RunInfo,
)
from summarizer.segment import Article, Sentence

if TYPE_CHECKING:
    from summarizer.analysis import Analysis

LEAD = 3
"""Lead sentences used as the summary."""

_DATE = re.compile(
    r"\b(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
    r"|(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{1,2}(?:st|nd|rd|th)?)?"
    r"|\d{1,2}(?:st|nd|rd|th)?\s+of\s+(?:January|February|March|April|May|June|July|August|September|October"
    r"|November|December)|(?:19|20)\d{2})\b"
)
_NUMBER_TOKEN = re.compile(r"\d[\d,.]*(?:st|nd|rd|th)?|[A-Za-z]+(?:-[A-Za-z]+)?")
_QUOTE = re.compile(r"[\"“”]")
_NAME_RUN = r"(?:[A-Z][\w'’-]+\s+){0,2}[A-Z][\w'’-]+"
# "Heras told AFP", "Shami said": the name before the verb speaks. After it only for verbs that
# put the speaker last ("tweeted SDF spokesperson Farhad Shami"), never "told" (its object is the listener).
_SPEAKER_BEFORE = re.compile(rf"({_NAME_RUN})\s+(?:said|says|told|tweeted|added|warned|announced|noted)\b")
_SPEAKER_AFTER = re.compile(r"\b(?:said|says|tweeted|added|warned)\s+([^,.;:]{1,80})")
_NOT_AMOUNTS = {"one"}  # "on one hand", "one of the": rarely a quantity worth a fact


def max_items(model: type[BaseModel], field: str, default: int) -> int:
    """The list bound the model's schema sets, so the baseline answers within the same limits."""
    for item in model.model_fields[field].metadata:
        if isinstance(item, MaxLen):
            return int(item.max_length)
    return default


def _fit(text: str, limit: int) -> str:
    """``text`` cut at a word boundary to fit a schema's length limit (still a copy of the source)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > 0 else limit - 1].rstrip(" ,;:") + "…"


def _first_number(text: str) -> str | None:
    for match in _NUMBER_TOKEN.finditer(text):
        token = match.group(0)
        if token.lower() not in _NOT_AMOUNTS and any(isinstance(n, Decimal) for n in numbers(token)):
            return token.rstrip(",.")
    return None


def _speaker(text: str) -> str | None:
    before = _SPEAKER_BEFORE.search(text)
    if before and names(before.group(1)):
        return re.sub(r"^The\s+", "", before.group(1))
    after = _SPEAKER_AFTER.search(text)
    if after:
        runs = re.findall(_NAME_RUN, after.group(1))
        people = [r for r in runs if " " in r] or runs
        if people and names(people[-1]):
            return people[-1]
    return None


def sentence_fact(sentence: Sentence) -> ExtractedFact:
    """A sentence as a typed fact citing itself: date, quantity, quote, or event."""
    text = sentence.text
    statement = _fit(text, 300)
    kind, value, speaker = "event", None, None
    if date := _DATE.search(text):
        kind, value = "date", date.group(0)
    elif number := _first_number(text):
        kind, value = "quantity", number
    elif _QUOTE.search(text) and (who := _speaker(text)):
        kind, speaker = "quote", who
    return ExtractedFact.model_validate(
        {"cites": [sentence.id], "kind": kind, "statement": statement, "value": value, "speaker": speaker}
    )


def _informative(sentence: Sentence) -> bool:
    text = sentence.text
    return bool(_DATE.search(text) or _first_number(text) or (_QUOTE.search(text) and _speaker(text)))


def article_extraction(article: Article) -> ArticleExtraction:
    """What the baseline "answers" for one article, in the model's own schema."""
    citable = article.citable
    max_facts = max_items(ArticleExtraction, "facts", 10)
    max_summary = max_items(ArticleExtraction, "summary", 5)
    # The sentences with a date, figure or attributed quote, then the others in article order (the lead first),
    # up to as many facts as a model may give.
    chosen = [s for s in citable if _informative(s)][:max_facts]
    for s in citable:
        if len(chosen) >= max_facts:
            break
        if s not in chosen:
            chosen.append(s)
    chosen.sort(key=lambda s: s.start)
    summary = [CitedSentence(cites=[s.id], text=_fit(s.text, 400)) for s in citable[: min(LEAD, max_summary)]]
    return ArticleExtraction(
        headline=_fit(article.title, 200) or "Untitled",
        summary=summary,
        facts=[sentence_fact(s) for s in chosen],
        entities=[],
    )


def summarize_article(article: Article) -> ArticleSummary:
    started = time.perf_counter()
    extraction = article_extraction(article)
    return ArticleGrounding(article).summary(extraction, CallStats(seconds=round(time.perf_counter() - started, 3)))


# -- across articles ------------------------------------------------------------------------------
def _article(fact: Fact) -> str:
    return fact.id.split(".", 1)[0]


def brief_extraction(articles: Sequence[Article], facts: Sequence[Fact]) -> BriefExtraction:
    """The baseline's overview, in the model's own schema: each article's first fact (``facts`` must not be empty).

    Its consensus, discrepancies and timeline are the cross-source analysis's (``with_analysis``)."""
    leads = []
    for article in articles:
        own = [f for f in facts if _article(f) == article.id]
        if own:
            leads.append(own[0])
    overview = [BriefPoint(cites=[f.id], text=_fit(f.text, 400)) for f in leads]
    return BriefExtraction(overview=overview[: max_items(BriefExtraction, "overview", 5)])


def run_info() -> RunInfo:
    return RunInfo(provider="none", model="extractive", prompt_version="none", engine="extractive")


def brief_articles(articles: Sequence[Article], *, cross_article: bool = True) -> Brief:
    """Summaries and (if ``cross_article``) a brief across ``articles`` without any model, as a ``Brief``.

    The overview is each article's lead fact; consensus, discrepancies and timeline are the
    cross-source analysis's (``summarizer.analysis``), the same any engine starts from.
    """
    summaries = [summarize_article(a) for a in articles]
    parts = brief_parts(articles, summaries) if cross_article else BriefParts()
    return assemble(articles, summaries, parts, run_info())


def brief_parts(
    articles: Sequence[Article], summaries: Sequence[ArticleSummary], analysis: Analysis | None = None
) -> BriefParts:
    """The brief's sections across ``articles`` (segmented) from their ``summaries``, without any model
    (empty when the summaries have no facts); ``analysis`` is theirs, computed when not given."""
    facts = [f for s in summaries for f in s.facts]
    parts = BriefParts(analysis=analysis)
    if facts:
        started = time.perf_counter()
        grounding = BriefGrounding(facts)
        extraction = brief_extraction(articles, facts)
        parts.overview, _, _, _, parts.dropped = grounding.resolve(extraction)
        with_analysis(parts, articles, facts)
        parts.stats = CallStats(seconds=round(time.perf_counter() - started, 3))
    return parts
