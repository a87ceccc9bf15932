"""Each sentence as the detectors read it (content stems, names, dates, figures, speaker), and how two are paired.

Sentences are paired through an index of shared content stems, so the work grows with the sentences that share
words, not with the square of all of them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from summarizer.analysis.dates import DateMention
from summarizer.analysis.model import Finding, Ref, Side
from summarizer.analysis.names import name_key, speaker, variants
from summarizer.analysis.quantities import Quantity
from summarizer.analysis.text import stems
from summarizer.claims import names

EVENT_CLASSES = {
    "violence": "attack assault shooting shooter shot shots gunman gunfire fired bomb explosion break jailbreak escape "
    "riot siege clash fighting",
    "vote": "vote voted votes voting override overrode ballot elected election primary caucus",
    "legal": "indicted indictment arrested arrest charged charges plead pleaded plea sentenced sentencing court "
    "hearing trial",
    "resign": "resign resigned resignation resigning retire retirement",
    "deal": "deal agreement agreed signed sign shutdown reopen",
    "disaster": "capsized capsizing sank sinking crashed crash collapsed collapse derailed flooding earthquake",
}


EVENT_STEMS = {word[:5]: cls for cls, words in EVENT_CLASSES.items() for word in words.split()}


@dataclass
class SentenceInfo:
    ref: Ref
    text: str
    order: int
    published: str | None
    stems: frozenset[str]
    names: frozenset[str]
    dates: list[DateMention] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    speaker: str | None = None

    @property
    def article_id(self) -> str:
        return self.ref.article_id


def sentence_info(ref: Ref, text: str, order: int, published: str | None) -> SentenceInfo:
    return SentenceInfo(
        ref=ref,
        text=text,
        order=order,
        published=published,
        stems=stems(text),
        names=frozenset(name_key(n) for n in names(text)),
        speaker=speaker(text),
    )


def shared_stem_pairs(
    sentences: Sequence[SentenceInfo], min_shared: int, skip_common: bool = True
) -> list[tuple[SentenceInfo, SentenceInfo, int]]:
    """Pairs of sentences from different articles sharing at least ``min_shared`` content stems, with the
    count, in sentence order. Found through an index of the stems, so the work grows with the sentences that
    share words, not with the square of all of them; a stem in a third of the sentences is no evidence."""
    postings: dict[str, list[int]] = {}
    for i, info in enumerate(sentences):
        for stem in info.stems:
            postings.setdefault(stem, []).append(i)
    shared: dict[tuple[int, int], int] = {}
    common = len(sentences) // 3 + 2 if skip_common else len(sentences)
    for members in postings.values():
        if len(members) > common:
            continue
        for i, j in itertools.combinations(members, 2):
            if sentences[i].article_id != sentences[j].article_id:
                shared[(i, j)] = shared.get((i, j), 0) + 1
    return [(sentences[i], sentences[j], n) for (i, j), n in sorted(shared.items()) if n >= min_shared]


def event_kinds(info: SentenceInfo) -> set[str]:
    return {EVENT_STEMS[s] for s in info.stems if s in EVENT_STEMS}


EVENT_WINDOW = 80
"""Characters either side of a date within which the event it dates is named."""


_EVENT_WORD = re.compile(r"[A-Za-z]+")


def date_window(info: SentenceInfo, mention: DateMention) -> frozenset[str]:
    lo, hi = max(mention.start - EVENT_WINDOW, 0), mention.start + len(mention.text) + EVENT_WINDOW
    return stems(info.text[lo:hi])


def dated_event_kinds(info: SentenceInfo, mention: DateMention) -> set[str]:
    """The kinds of event named near a date: "attack ... on Friday" dates the attack, not the campaign."""
    lo, hi = max(mention.start - EVENT_WINDOW, 0), mention.start + len(mention.text) + EVENT_WINDOW
    words = _EVENT_WORD.findall(info.text[lo:hi].lower())
    return {EVENT_STEMS[w[:5]] for w in words if w[:5] in EVENT_STEMS}


def shared_names(a: SentenceInfo, b: SentenceInfo) -> bool:
    return bool(a.names & b.names) or any(variants(x, y) for x in a.names for y in b.names)


def spread_refs(refs: Sequence[Ref], per_article: int = 2, limit: int = 4) -> list[Ref]:
    """Up to ``per_article`` refs from each article, ``limit`` in all, in article order."""
    out: list[Ref] = []
    counts: dict[str, int] = {}
    for ref in refs:
        if counts.get(ref.article_id, 0) < per_article and len(out) < limit:
            out.append(ref)
            counts[ref.article_id] = counts.get(ref.article_id, 0) + 1
    return out


def published_later(a: SentenceInfo, b: SentenceInfo) -> SentenceInfo | None:
    if a.published and b.published and a.published != b.published:
        return a if a.published > b.published else b
    return None


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per set of cited sentences and kind, in the order given."""
    out: list[Finding] = []
    seen: set[tuple[str, frozenset[Ref]]] = set()
    for f in findings:
        key = (f.kind, frozenset(r for side in f.sides for r in side.refs))
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


PAIRWISE = {"figure": "How many ({unit}): ", "date": "When it happened: "}
"""Kinds found pair by pair, and the topic a merged finding gets."""


def merge_pairs(findings: Sequence[Finding]) -> list[Finding]:
    """Pairwise findings of one kind (and one unit) that share a side, as one finding with a side per value:
    "about 140 (a1, a2) vs 160 (a3)" instead of two pairs telling the same disagreement twice."""
    out: list[Finding] = []
    merged: dict[int, list[Finding]] = {}
    shared: dict[tuple[str, str, Ref, str], int] = {}  # (kind, unit, sentence, value) -> the first group holding it
    for f in findings:
        if f.kind not in PAIRWISE:
            out.append(f)
            continue
        unit = f.key.split(":")[1] if f.kind == "figure" else ""
        points = [(f.kind, unit, r, side.value) for side in f.sides for r in side.refs]
        at = min((shared[p] for p in points if p in shared), default=None)
        if at is None:
            at = len(out)
            merged[at] = [f]
            out.append(f)
        else:
            merged[at].append(f)
        for p in points:
            shared[p] = min(shared.get(p, at), at)
    for i, group in merged.items():
        if len(group) > 1:
            out[i] = _merged(group)
    return out


def _merged(group: Sequence[Finding]) -> Finding:
    values: dict[str, list[Ref]] = {}
    words: dict[str, str] = {}
    for f in group:
        for side in f.sides:
            refs = values.setdefault(side.value, [])
            refs += [r for r in side.refs if r not in refs]
            words.setdefault(side.value, side.words)
    sides = tuple(Side(value=v, refs=tuple(spread_refs(refs)), words=words[v]) for v, refs in values.items())
    first = group[0]
    unit = first.key.split(":")[1] if first.kind == "figure" else ""
    topic = PAIRWISE[first.kind].format(unit=unit) + " vs ".join(side.value for side in sides)
    note = next((f.note for f in group if f.note), None)
    key = f"{first.kind}:{unit}:" + "/".join(sorted(str(r) for side in sides for r in side.refs))
    return Finding(first.kind, topic, sides, note, key)


def folded_names(sentences: Sequence[SentenceInfo]) -> dict[str, frozenset[str]]:
    by_article: dict[str, set[str]] = {}
    for s in sentences:
        by_article.setdefault(s.article_id, set()).update(s.names)
    return {k: frozenset(v) for k, v in by_article.items()}
