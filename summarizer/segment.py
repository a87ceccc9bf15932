"""Split an article body into sentences with stable IDs and exact character offsets.

Invariant: for every sentence, ``text[sentence.start:sentence.end] == sentence.text``.

Paragraph breaks (blank lines, or single newlines between lines) are hard boundaries; inside
a paragraph pysbd's rules handle abbreviations ("U.S."), initials, decimals and quotes. We
never trust a segmenter's offsets: each piece it returns is located in the original text
again, and anything it altered or lost is recovered from the gaps, so no character of the
body is ever outside the sentence map except whitespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from pysbd.lang.english import English
from pysbd.processor import Processor

from summarizer.load import Document
from summarizer.schemas import ArticleOut, SentenceOut

# A sentence longer than this (e.g. text with no terminal punctuation at all) is cut at
# whitespace so one "sentence" cannot swallow a whole article and make citations useless.
MAX_SENTENCE_CHARS = 600

_PARAGRAPH = re.compile(r"\S(?:.*\S)?")  # a non-blank line, trimmed
_TERMINAL = re.compile(r"[.!?…:;\"'”’)\]]\s*$")


@dataclass(frozen=True, slots=True)
class Sentence:
    id: str
    start: int
    end: int
    text: str
    citable: bool = True


CASE_FOLDS = frozenset("\u0130\u0131\u017f\u212a")
"""The characters that ``re.IGNORECASE`` matches to an ASCII letter (İ ı ſ K)."""


class _Abbreviations(English.AbbreviationReplacer):
    """pysbd's abbreviation pass, offered only the abbreviations a paragraph can hold.

    pysbd tries each of its 188 abbreviations on every paragraph: one that is in the text at all
    ("al" in "national") costs regular-expression searches, though it can only change the text
    where it follows whitespace and precedes a period. An abbreviation of letters and digits is
    offered only when the lower-cased text has it as a whole run of word characters before a
    period: the same result, with fewer searches (numbers: ``benchmarks/README.md``). (That is exact
    while no character of ``CASE_FOLDS`` is present, so then every abbreviation is offered; so is
    any abbreviation holding a character pysbd's pattern reads as a pattern, "e.g" or "u.s".)
    """

    def __init__(self, text: str, lang: Any) -> None:
        super().__init__(text, lang)
        self.every = lang

    def search_for_abbreviations_in_string(self, text: str) -> str:
        if not CASE_FOLDS.isdisjoint(text):
            return str(super().search_for_abbreviations_in_string(text))
        self.lang = _narrowed(self.every, text.lower())
        try:
            return str(super().search_for_abbreviations_in_string(text))
        finally:
            self.lang = self.every


_BEFORE_PERIOD = re.compile(r"(\w+)\.")


@dataclass(frozen=True)
class _Index:
    abbreviations: tuple[str, ...]
    always: frozenset[int]
    """Positions of the abbreviations offered whatever the text."""
    by_word: dict[str, tuple[int, ...]]
    """Lower-case letters and digits -> positions of the abbreviations that are those."""


@lru_cache(maxsize=4)
def _index(lang: Any) -> _Index:
    abbreviations = tuple(lang.Abbreviation.ABBREVIATIONS)
    always: set[int] = set()
    by_word: dict[str, list[int]] = {}
    for n, abbr in enumerate(abbreviations):
        word = abbr.strip()
        if word.isascii() and word.isalnum():
            by_word.setdefault(word.lower(), []).append(n)
        else:
            always.add(n)
    return _Index(abbreviations, frozenset(always), {w: tuple(ns) for w, ns in by_word.items()})


def _narrowed(lang: Any, lowered: str) -> SimpleNamespace:
    """``lang`` as pysbd's abbreviation pass reads it, offering only the abbreviations ``lowered`` may hold,
    in pysbd's order (each one's replacements see the text as the ones before it left it)."""
    index = _index(lang)
    offered = set(index.always)
    for run in _BEFORE_PERIOD.findall(lowered):
        offered.update(index.by_word.get(run, ()))
    return SimpleNamespace(
        Abbreviation=SimpleNamespace(
            ABBREVIATIONS=[index.abbreviations[n] for n in sorted(offered)],
            PREPOSITIVE_ABBREVIATIONS=lang.Abbreviation.PREPOSITIVE_ABBREVIATIONS,
            NUMBER_ABBREVIATIONS=lang.Abbreviation.NUMBER_ABBREVIATIONS,
        )
    )


class _Processor(Processor):
    def abbreviations_replacer(self) -> _Abbreviations:
        return _Abbreviations(self.text, self.lang)


def _sentences(paragraph: str) -> list[str]:
    """pysbd's sentences of ``paragraph`` (English, ``clean=False``), not yet located in it.

    pysbd's own ``segment()`` goes on to find each sentence again with a freshly compiled regex
    (a third of its time); they are located by :func:`_paragraph_spans` instead, as they must be anyway.
    """
    return list(_Processor(paragraph, English, char_span=False).process())


def _split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + MAX_SENTENCE_CHARS // 2, start + MAX_SENTENCE_CHARS)
        if cut == -1:
            cut = start + MAX_SENTENCE_CHARS
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        spans.append((start, end))
    return spans


# pysbd's time grows with the square of its input, so very long paragraphs are cut first at
# likely sentence ends (a terminal mark after a word of 4+ letters, then a capital).
MAX_SEGMENTER_CHARS = 8_000
_LIKELY_END = re.compile(r"\w{4,}[.!?][\"”’)]?\s+(?=[\"“‘(]?[A-Z])")


def _chunks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    chunks = []
    while end - start > MAX_SEGMENTER_CHARS:
        window = text[start + MAX_SEGMENTER_CHARS // 2 : start + MAX_SEGMENTER_CHARS]
        match = _LIKELY_END.search(window)
        if match:
            cut = start + MAX_SEGMENTER_CHARS // 2 + match.end()
        else:
            space = text.rfind(" ", start + MAX_SEGMENTER_CHARS // 2, start + MAX_SEGMENTER_CHARS)
            cut = space + 1 if space != -1 else start + MAX_SEGMENTER_CHARS
        chunks.append((start, cut))
        start = cut
    chunks.append((start, end))
    return chunks


def _paragraph_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans inside one paragraph, located in ``text`` exactly."""
    if end - start > MAX_SEGMENTER_CHARS:
        return [span for s, e in _chunks(text, start, end) for span in _paragraph_spans(text, s, e)]
    paragraph = text[start:end]
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in _sentences(paragraph):
        piece = piece.strip()
        if not piece:
            continue
        found = paragraph.find(piece, cursor)
        if found == -1:
            # pysbd altered the piece; leave the region to the gap recovery below.
            continue
        if found > cursor and paragraph[cursor:found].strip():
            spans.append((cursor, found))
        spans.append((found, found + len(piece)))
        cursor = found + len(piece)
    if paragraph[cursor:].strip():
        spans.append((cursor, len(paragraph)))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        # Trim whitespace the gap recovery may have included.
        while s < e and paragraph[s].isspace():
            s += 1
        while e > s and paragraph[e - 1].isspace():
            e -= 1
        if s < e:
            out.extend(_split_long(text, start + s, start + e))
    return out


def _is_furniture(line: str) -> bool:
    """Short lines with no sentence punctuation (menus, "Radio radio icon") at the end of a page."""
    return len(line) <= 40 and not _TERMINAL.search(line) and len(line.split()) <= 5


def segment(text: str) -> list[Sentence]:
    """Sentences of ``text`` in order, with IDs ``s1``, ``s2``, … that depend only on the text."""
    spans: list[tuple[int, int]] = []
    for line in _PARAGRAPH.finditer(text):
        spans.extend(_paragraph_spans(text, line.start(), line.end()))
    # Trailing page furniture stays in the map (nothing is lost) but is never offered as evidence.
    furniture_from = len(spans)
    while furniture_from > 1 and _is_furniture(text[spans[furniture_from - 1][0] : spans[furniture_from - 1][1]]):
        furniture_from -= 1
    return [
        Sentence(id=f"s{i}", start=s, end=e, text=text[s:e], citable=i - 1 < furniture_from)
        for i, (s, e) in enumerate(spans, start=1)
    ]


@dataclass(frozen=True)
class Article:
    """A document with its sentence map: the unit every later stage works on."""

    id: str
    doc: Document
    sentences: tuple[Sentence, ...]

    @property
    def text(self) -> str:
        return self.doc.text

    @property
    def title(self) -> str:
        return self.doc.title

    def sentence(self, sentence_id: str) -> Sentence | None:
        return self._index().get(sentence_id)

    def _index(self) -> dict[str, Sentence]:
        index: dict[str, Sentence] | None = self.__dict__.get("_by_id")
        if index is None:
            index = {s.id: s for s in self.sentences}
            object.__setattr__(self, "_by_id", index)
        return index

    @property
    def citable(self) -> list[Sentence]:
        return [s for s in self.sentences if s.citable]

    def to_out(self) -> ArticleOut:
        d = self.doc
        return ArticleOut(
            id=self.id,
            title=d.title,
            text=d.text,
            url=d.url,
            source=d.source,
            published=d.published,
            origin=d.origin,
            sha256=d.sha256,
            sentences=[
                SentenceOut(id=s.id, start=s.start, end=s.end, text=s.text, citable=s.citable) for s in self.sentences
            ],
        )


def prepare(docs: list[Document]) -> list[Article]:
    """Segment each document and give it an ID (``a1``, ``a2``, … in input order)."""
    return [Article(id=f"a{i}", doc=doc, sentences=tuple(segment(doc.text))) for i, doc in enumerate(docs, start=1)]
