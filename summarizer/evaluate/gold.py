"""The eval case format: articles plus hand-labelled answers, and the loader that ties labels to sentences.

A case is one YAML (or JSON) file; ``evals/README.md`` documents it for people who add cases.
Labels refer to sentences by the IDs the segmenter gives the article text ("s1" …), and each
article carries either the table of those sentences or, for third-party text that may not be
copied into the repository (format 2, ``corpus_path``), a digest of each. On load the text is
segmented again and must give exactly that table, so a segmenter change can never silently move
a label onto a different sentence.

Over 500 lines: the case format and its loader change together (a field added is a field checked on load).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from summarizer.errors import InputError
from summarizer.load import Document, read_path
from summarizer.schemas.llm import FactKind
from summarizer.segment import Article, segment

FORMAT_V1 = "summarizer-eval-case/1"
"""Articles with inline text and sentence tables; facts, consensus and discrepancies."""
FORMAT = "summarizer-eval-case/2"
"""Adds ``timeline`` labels, and articles read from a corpus folder by path, sha256 and sentence digests."""
CORPUS_ENV = "SUMMARIZER_CORPUS"
"""Environment variable naming the corpus folder when ``--corpus`` is not given."""
DIGEST_CHARS = 16
CASE_SUFFIXES = (".yaml", ".yml", ".json")

_ID = r"^[a-z0-9][a-z0-9_-]*$"
_ARTICLE_ID = re.compile(r"^a[1-9]\d*$")
_SENTENCE_ID = re.compile(r"^s[1-9]\d*$")


class CaseError(InputError):
    """An eval case file is malformed, or its labels no longer fit its articles."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


Value = str | list[str]
"""One value a prediction must state; a list gives accepted variants ("Ghweran", "Geweran")."""

Support = str | list[str]
"""A sentence ID that states the fact on its own, or a list of IDs that state it only together."""


def _groups(values: Sequence[Value]) -> list[list[str]]:
    return [[v] if isinstance(v, str) else list(v) for v in values]


class GoldFact(_Model):
    id: str = Field(pattern=_ID)
    """Short name, unique in the case; reports show it as ``a2.toll``."""
    kind: FactKind
    """Same kinds as the model's facts; reported, not used for matching."""
    statement: str = Field(min_length=1)
    """The fact in one canonical sentence, using only what its support sentences say."""
    values: list[Value] = Field(default_factory=list)
    """Values a matching prediction must all state: numbers, dates, names (each with variants)."""
    support: list[Support] = Field(min_length=1)
    """Sentences that state the fact: any one entry is enough; a list entry needs all its IDs."""
    speaker: str | None = None
    """For a quote or claim: who says it, as named in the support sentences."""
    note: str | None = None

    def value_groups(self) -> list[list[str]]:
        return _groups(self.values)

    def support_groups(self) -> list[frozenset[str]]:
        return [frozenset([s]) if isinstance(s, str) else frozenset(s) for s in self.support]

    def support_ids(self) -> set[str]:
        return {sid for group in self.support_groups() for sid in group}


class GoldClaim(_Model):
    """A statement supported by sentences of one or more articles (a consensus item or a discrepancy side)."""

    statement: str = Field(min_length=1)
    values: list[Value] = Field(default_factory=list)
    """Values a matching prediction must all state (each with variants)."""
    support: dict[str, list[str]] = Field(min_length=1)
    """Article ID → the sentences of that article that state it (any one of them is enough)."""

    def value_groups(self) -> list[list[str]]:
        return _groups(self.values)

    def cited_keys(self) -> set[tuple[str, str]]:
        return {(aid, sid) for aid, sids in self.support.items() for sid in sids}


class GoldConsensus(GoldClaim):
    id: str = Field(pattern=_ID)
    note: str | None = None

    @field_validator("support")
    @classmethod
    def _two_articles(cls, support: dict[str, list[str]]) -> dict[str, list[str]]:
        if len(support) < 2:
            raise ValueError("a consensus item needs support from two or more articles")
        return support


DiscrepancyKind = Literal["figure", "date", "spelling", "name", "outcome", "attribution"]


class GoldSide(GoldClaim):
    pass


class GoldDiscrepancy(_Model):
    id: str = Field(pattern=_ID)
    kind: DiscrepancyKind
    topic: str = Field(min_length=1)
    """What differs, in a few words."""
    sides: list[GoldSide] = Field(min_length=2)
    """Each version, with the sentences that state it; two sides may come from the same article."""
    note: str | None = None


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_range(value: str) -> tuple[dt.date, dt.date]:
    """``2022-01-20`` or ``2022-01-22/2022-01-30`` as (first, last) day; ValueError otherwise."""
    parts = value.split("/")
    if len(parts) not in (1, 2) or not all(_ISO_DATE.match(p) for p in parts):
        raise ValueError(f"dates are ISO days or ranges (2022-01-20, 2022-01-22/2022-01-30); got {value!r}")
    first, last = dt.date.fromisoformat(parts[0]), dt.date.fromisoformat(parts[-1])
    if last < first:
        raise ValueError(f"the range {value!r} ends before it starts")
    return first, last


class GoldTimelineEvent(GoldClaim):
    """A dated event: what happened, when (resolved to the calendar), and the sentences that date it."""

    id: str = Field(pattern=_ID)
    date: str
    """ISO day (``2022-01-20``) or range (``2022-01-22/2022-01-30``), resolved as a reader would."""
    relative: bool = False
    """True when the sources date it only relatively ("on Thursday", "a day earlier") and the label resolved it
    against the article's publication date."""
    note: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, dt.date):  # YAML reads an unquoted 2022-01-20 as a date
            value = value.isoformat()
        if isinstance(value, str):
            parse_iso_range(value)
        return value


def sentence_digest(text: str) -> str:
    """What a format-2 case stores for a sentence it may not quote: the start of its sha256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_CHARS]


class CaseArticle(_Model):
    id: str
    """``a1``, ``a2``, … in order: the IDs a run gives the articles."""
    path: str | None = None
    """Where the text came from; relative paths are looked up from the case file's folder upwards."""
    sha256: str | None = None
    """``Document.sha256`` of the text as labelled; checked against ``path`` when that file exists."""
    title: str = ""
    published: str | None = None
    source: str | None = None
    url: str | None = None
    text: str | None = None
    """The article body exactly as ``summarizer.load`` parses it. Without it, ``path`` is read."""
    corpus_path: str | None = None
    """Format 2: the article's path inside the corpus folder (``--corpus``); its text is never stored."""
    sentences: dict[str, str] | None = None
    """Every citable sentence ID and its text, as the segmenter gave them when the labels were made."""
    sentence_digests: dict[str, str] | None = None
    """Format 2, instead of ``sentences``: each citable sentence ID and ``sentence_digest`` of its text."""

    @model_validator(mode="after")
    def _one_table(self) -> CaseArticle:
        if (self.sentences is None) == (self.sentence_digests is None):
            raise ValueError("an article needs exactly one of sentences and sentence_digests")
        if self.corpus_path is not None:
            if self.text is not None or self.sentences is not None:
                raise ValueError("a corpus article stores no text: give sentence_digests, not text or sentences")
            if not self.sha256:
                raise ValueError("a corpus article needs the sha256 of the text its labels were made for")
        return self

    def sentence_ids(self) -> set[str]:
        return set(self.sentences or self.sentence_digests or {})

    @field_validator("id")
    @classmethod
    def _article_id(cls, value: str) -> str:
        if not _ARTICLE_ID.match(value):
            raise ValueError(f"article IDs are a1, a2, …; got {value!r}")
        return value

    @field_validator("sentences", "sentence_digests")
    @classmethod
    def _sentence_ids(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("the sentence table is empty")
        bad = [k for k in value if not _SENTENCE_ID.match(k)]
        if bad:
            raise ValueError(f"sentence IDs are s1, s2, …; got {', '.join(map(repr, bad))}")
        return value


class Case(_Model):
    format: Literal["summarizer-eval-case/1", "summarizer-eval-case/2"]
    id: str = Field(pattern=_ID)
    title: str
    notes: str = ""
    """How the labels were made, and anything a reviewer should know."""
    facts: dict[str, list[GoldFact]] = Field(default_factory=dict)
    """Article ID → the key facts of that article."""
    consensus: list[GoldConsensus] = Field(default_factory=list)
    discrepancies: list[GoldDiscrepancy] = Field(default_factory=list)
    timeline: list[GoldTimelineEvent] = Field(default_factory=list)
    """Format 2: the dated events of the story, each resolved to an ISO day or range."""
    articles: list[CaseArticle] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Case:
        expected = [f"a{i}" for i in range(1, len(self.articles) + 1)]
        got = [a.id for a in self.articles]
        if got != expected:
            raise ValueError(f"articles must be {', '.join(expected)} in that order; got {', '.join(got)}")
        if self.format == FORMAT_V1:
            if self.timeline:
                raise ValueError("timeline labels need format summarizer-eval-case/2")
            if any(a.corpus_path or a.sentence_digests for a in self.articles):
                raise ValueError("corpus articles (corpus_path, sentence_digests) need format summarizer-eval-case/2")
        tables = {a.id: a.sentence_ids() for a in self.articles}
        problems: list[str] = []
        ids: set[str] = set()

        def unique(kind: str, name: str) -> None:
            if name in ids:
                problems.append(f"{kind} id {name!r} is used twice")
            ids.add(name)

        def known(where: str, aid: str, sids: Iterable[str]) -> None:
            if aid not in tables:
                problems.append(f"{where}: no article {aid!r}")
                return
            problems.extend(f"{where}: {aid} has no citable sentence {sid!r}" for sid in sids if sid not in tables[aid])

        for aid, facts in self.facts.items():
            for fact in facts:
                unique("fact", fact.id)
                known(f"facts.{aid}.{fact.id}", aid, fact.support_ids())
        for item in self.consensus:
            unique("consensus", item.id)
            for aid, sids in item.support.items():
                known(f"consensus.{item.id}", aid, sids)
        for d in self.discrepancies:
            unique("discrepancy", d.id)
            for j, side in enumerate(d.sides):
                for aid, sids in side.support.items():
                    known(f"discrepancies.{d.id}.sides[{j}]", aid, sids)
        for event in self.timeline:
            unique("timeline", event.id)
            for aid, sids in event.support.items():
                known(f"timeline.{event.id}", aid, sids)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def fact_count(self) -> int:
        return sum(len(f) for f in self.facts.values())


@dataclass(frozen=True)
class LoadedCase:
    """A case with its articles segmented and its sentence tables verified."""

    case: Case
    origin: str
    articles: tuple[Article, ...]

    @property
    def id(self) -> str:
        return self.case.id

    def article(self, aid: str) -> Article:
        for article in self.articles:
            if article.id == aid:
                return article
        raise KeyError(aid)

    def facts(self, aid: str) -> list[GoldFact]:
        return list(self.case.facts.get(aid, []))


# -- loading -------------------------------------------------------------------------------------
def _find_relative(path: str, start: Path) -> Path | None:
    """``path`` as given if absolute, else looked up from ``start`` and each of its parents."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for folder in (start, *start.parents):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


class CaseSkipped(CaseError):
    """A format-2 case whose corpus text is not here: reported as skipped, not as a broken case."""


def _corpus_document(article: CaseArticle, corpus: Path | None, origin: str) -> Document:
    where = f"{origin}: {article.id}"
    assert article.corpus_path is not None
    if corpus is None:
        raise CaseSkipped(f"{where}: needs the corpus folder holding {article.corpus_path} (--corpus DIR)")
    found = corpus / article.corpus_path
    if not found.is_file():
        raise CaseSkipped(f"{where}: {article.corpus_path} is not in the corpus folder {corpus}")
    docs = read_path(found)
    if len(docs) != 1:
        raise CaseError(f"{where}: {found} holds {len(docs)} articles; a case article must be one")
    doc = docs[0]
    if article.sha256 != doc.sha256:
        raise CaseError(
            f"{where}: {found} is not the text the labels were made for (sha256 {doc.sha256[:12]}…, "
            f"labelled {str(article.sha256)[:12]}…)"
        )
    return doc


def _document(article: CaseArticle, case_dir: Path | None, origin: str, corpus: Path | None) -> Document:
    if article.corpus_path is not None:
        return _corpus_document(article, corpus, origin)
    where = f"{origin}: {article.id}"
    found = _find_relative(article.path, case_dir) if article.path and case_dir is not None else None
    from_file: Document | None = None
    if found is not None:
        docs = read_path(found)
        if len(docs) != 1:
            raise CaseError(f"{where}: {article.path} holds {len(docs)} articles; a case article must be one")
        from_file = docs[0]
    if article.text is None:
        if from_file is None:
            raise CaseError(f"{where}: no inline text and {article.path or 'no path'} cannot be found")
        doc = from_file
    else:
        doc = Document(
            title=article.title,
            text=article.text,
            origin=article.path or f"{origin}#{article.id}",
            url=article.url,
            source=article.source,
            published=article.published,
        )
        if from_file is not None and from_file.sha256 != doc.sha256:
            raise CaseError(
                f"{where}: the inline copy differs from {article.path}; copy the file's text into the case "
                "again (python -m summarizer.evaluate.scaffold) and re-check every label of this article"
            )
    if article.sha256 and article.sha256 != doc.sha256:
        raise CaseError(f"{where}: the text's sha256 is not the one the labels were made for ({article.sha256[:12]}…)")
    return doc


def _check_sentences(article: Article, item: CaseArticle, origin: str) -> None:
    if item.sentences is not None:
        now, table = {s.id: s.text for s in article.citable}, item.sentences
        shown = {**now}
    else:
        assert item.sentence_digests is not None
        now = {s.id: sentence_digest(s.text) for s in article.citable}
        table = item.sentence_digests
        shown = {s.id: s.text for s in article.citable}
    if now == table:
        return
    lines = []
    for sid in sorted(set(now) | set(table), key=lambda s: int(s[1:])):
        if now.get(sid) != table.get(sid):
            was = table.get(sid, "(none)") if item.sentences is not None else f"digest {table.get(sid, '(none)')}"
            lines.append(f"  {sid}: labelled {was[:70]!r}, now {shown.get(sid, '(none)')[:70]!r}")
    raise CaseError(
        f"{origin}: {article.id}: the segmenter no longer gives the sentences the labels were made against; "
        "re-check the labels against the new sentence IDs and update the table:\n" + "\n".join(lines[:6])
    )


def parse_case(data: Any, origin: str, case_dir: Path | None = None, corpus: Path | None = None) -> LoadedCase:
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "case"
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CaseError(f"{origin}: {where}: {message}{more}") from None
    articles = []
    for item in case.articles:
        doc = _document(item, case_dir, origin, corpus)
        article = Article(id=item.id, doc=doc, sentences=tuple(segment(doc.text)))
        _check_sentences(article, item, origin)
        articles.append(article)
    return LoadedCase(case=case, origin=origin, articles=tuple(articles))


def load_case(path: str | Path, corpus: Path | None = None) -> LoadedCase:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseError(f"{path}: no such case file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"{path}: cannot read ({exc})") from None
    try:
        data = yaml.safe_load(raw)  # JSON is YAML too
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: invalid YAML: {exc}") from None
    return parse_case(data, str(path), path.resolve().parent, corpus)


def bundled_cases_dir() -> Path:
    """The seed cases: ``evals/cases`` in a checkout, ``summarizer/evals/cases`` in an installed package."""
    try:
        shipped = Path(str(resources.files("summarizer.evals") / "cases"))
        if shipped.is_dir():
            return shipped
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "evals" / "cases"


def case_files(specs: Sequence[str | Path]) -> list[Path]:
    """Case files named by ``specs`` (files or folders); the bundled seed cases when empty."""
    paths = [Path(s) for s in specs] or [bundled_cases_dir()]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in CASE_SUFFIXES and p.is_file())
            if not found:
                raise CaseError(f"{path}: folder holds no case files ({', '.join(CASE_SUFFIXES)})")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise CaseError(f"{path}: no such case file or folder")
    return files


def default_corpus_dir() -> Path | None:
    """``$SUMMARIZER_CORPUS``, else the ``shared/corpus`` folder beside a checkout of this repository, if any.

    Only the evals read a corpus, and only to score; the product never does.
    """
    if env := os.environ.get(CORPUS_ENV):
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]
    beside = checkout.parent / "shared" / "corpus"
    return beside if (checkout / "pyproject.toml").is_file() and beside.is_dir() else None


@dataclass
class CaseSet:
    cases: list[LoadedCase] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """One line per case left out because its corpus text is absent, saying which file and where."""


def load_case_set(specs: Sequence[str | Path] = (), corpus: Path | None = None) -> CaseSet:
    """Every case named by ``specs``; format-2 cases whose corpus text is absent are listed as skipped."""
    found = CaseSet()
    for path in case_files(specs):
        try:
            found.cases.append(load_case(path, corpus))
        except CaseSkipped as exc:
            found.skipped.append(str(exc))
    _unique_ids(found.cases)
    return found


def load_cases(specs: Sequence[str | Path] = (), corpus: Path | None = None) -> list[LoadedCase]:
    """Every case named by ``specs``; a case whose corpus text is absent is an error here."""
    cases = [load_case(p, corpus) for p in case_files(specs)]
    _unique_ids(cases)
    return cases


def _unique_ids(cases: Sequence[LoadedCase]) -> None:
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise CaseError(f"{case.origin}: case id {case.id!r} is used by another case file too")
        seen.add(case.id)
