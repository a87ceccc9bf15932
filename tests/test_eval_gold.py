"""The labelled cases: tied to the segmenter's sentences, self-consistent, and loadable without the repo."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from summarizer.claims import unsupported
from summarizer.evaluate import gold, scaffold
from summarizer.evaluate.gold import (
    CaseError,
    LoadedCase,
    bundled_cases_dir,
    default_corpus_dir,
    load_case,
    load_case_set,
    load_cases,
    parse_case,
    parse_iso_range,
)
from summarizer.evaluate.matching import states_any
from summarizer.load import read_path
from summarizer.segment import Sentence

ROOT = Path(__file__).resolve().parent.parent
SEED_CASE = bundled_cases_dir() / "hasakah.yaml"
CASE_FILES = sorted(bundled_cases_dir().glob("*.yaml"))
CORPUS = default_corpus_dir()
COPIED_WORDS = 8
"""A label statement sharing this many consecutive words with a corpus sentence is a verbatim copy."""


@pytest.fixture(scope="module", params=CASE_FILES, ids=[p.stem for p in CASE_FILES])
def any_case(request: pytest.FixtureRequest) -> LoadedCase:
    path: Path = request.param
    if "corpus_path:" in path.read_text(encoding="utf-8") and CORPUS is None:
        pytest.skip(f"{path.name} reads its articles from the corpus folder, which is not beside this checkout")
    return load_case(path, CORPUS)


@pytest.fixture(scope="module")
def case() -> LoadedCase:
    return load_case(SEED_CASE)


@pytest.fixture
def data() -> dict[str, Any]:
    loaded = yaml.safe_load(SEED_CASE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _text(case: LoadedCase, aid: str, sids: list[str] | set[str] | frozenset[str]) -> str:
    article = case.article(aid)
    found = [article.sentence(s) for s in sorted(sids)]
    assert all(found)
    return "\n".join(s.text for s in found if s is not None)


def test_the_bundled_cases_load_and_every_seed_article_is_labelled(case: LoadedCase) -> None:
    found = load_case_set(corpus=CORPUS)
    expected = {"hasakah"} | ({p.stem for p in CASE_FILES} if CORPUS else set())
    assert {c.id for c in found.cases} == expected
    assert len(found.cases) + len(found.skipped) == len(CASE_FILES) == 9
    assert [a.doc.origin for a in case.articles] == sorted(
        str(p.relative_to(ROOT)) for p in (ROOT / "examples/hasakah").glob("*.txt")
    )
    for article in case.articles:
        assert 8 <= len(case.facts(article.id)) <= 12
    assert len(case.case.consensus) >= 5 and len(case.case.discrepancies) >= 5


def test_the_stored_texts_are_the_seed_files_as_loaded(case: LoadedCase) -> None:
    for item, article in zip(case.case.articles, case.articles, strict=True):
        assert item.path is not None
        (from_file,) = read_path(ROOT / item.path)
        assert (from_file.title, from_file.text, from_file.published) == (
            article.title,
            article.text,
            article.doc.published,
        )
        assert item.sha256 == from_file.sha256


def test_every_fact_statement_is_stated_by_each_of_its_supports(any_case: LoadedCase) -> None:
    """The labels pass the pipeline's own grounding rule, and each support states every value."""
    case = any_case
    for aid, facts in case.case.facts.items():
        for fact in facts:
            for group in fact.support_groups():
                evidence = _text(case, aid, group)
                assert not unsupported(fact.statement, evidence), (aid, fact.id)
                assert all(states_any(values, evidence) for values in fact.value_groups()), (aid, fact.id)
            assert all(states_any(values, fact.statement) for values in fact.value_groups()), fact.id
            if fact.speaker:
                assert not unsupported(fact.speaker, _text(case, aid, fact.support_ids())), fact.id


def test_consensus_discrepancy_and_timeline_labels_are_stated_by_their_articles(any_case: LoadedCase) -> None:
    case = any_case
    claims = [*case.case.consensus, *(side for d in case.case.discrepancies for side in d.sides), *case.case.timeline]
    for claim in claims:
        evidence = "\n".join(_text(case, aid, set(sids)) for aid, sids in claim.support.items())
        assert not unsupported(claim.statement, evidence), claim.statement
        for aid, sids in claim.support.items():
            for values in claim.value_groups():
                assert any(states_any(values, _text(case, aid, {sid})) for sid in sids), (claim.statement, aid, values)
    for d in case.case.discrepancies:
        assert all(side.values for side in d.sides), f"{d.id}: every side needs values to tell it apart"


def test_every_case_is_labelled_as_closely_as_the_seeds(any_case: LoadedCase) -> None:
    case = any_case.case
    for article in any_case.articles:
        assert 6 <= len(any_case.facts(article.id)) <= 12, (case.id, article.id)
    assert len(case.consensus) >= 3, case.id
    assert case.discrepancies, f"{case.id}: a cluster with no labelled discrepancy has not been read closely enough"
    assert len(case.timeline) >= 2, case.id
    for event in case.timeline:
        first, last = parse_iso_range(event.date)
        assert first.year >= 1990 and (last - first).days < 400, (case.id, event.id)
    if any(a.corpus_path for a in case.articles):
        assert "evaluation only" in case.notes.lower(), f"{case.id}: corpus cases say they are for evaluation only"


def _runs(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[\w']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_corpus_labels_are_written_in_our_own_words(any_case: LoadedCase) -> None:
    """Third-party text stays out of the repository: no label copies a run of its words."""
    if not any(a.corpus_path for a in any_case.case.articles):
        return
    source = set().union(*(_runs(s.text, COPIED_WORDS) for a in any_case.articles for s in a.citable))
    case = any_case.case
    statements = [f.statement for facts in case.facts.values() for f in facts]
    statements += [c.statement for c in case.consensus] + [e.statement for e in case.timeline]
    statements += [side.statement for d in case.discrepancies for side in d.sides]
    statements += [d.topic for d in case.discrepancies]
    copied = [s for s in statements if _runs(s, COPIED_WORDS) & source]
    assert not copied, f"{case.id}: statements copy {COPIED_WORDS}+ words of the articles: {copied[:3]}"


def test_a_segmenter_change_that_shifts_sentences_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    real = gold.segment

    def merging_first_two(text: str) -> list[Sentence]:
        sentences = real(text)
        first, second = sentences[0], sentences[1]
        merged = Sentence(id="s1", start=first.start, end=second.end, text=text[first.start : second.end])
        rest = [Sentence(f"s{i}", s.start, s.end, s.text, s.citable) for i, s in enumerate(sentences[2:], start=2)]
        return [merged, *rest]

    monkeypatch.setattr(gold, "segment", merging_first_two)
    with pytest.raises(CaseError, match="segmenter no longer gives the sentences"):
        load_case(SEED_CASE)


def test_a_sentence_table_that_does_not_match_the_text_is_refused(data: dict[str, Any]) -> None:
    data["articles"][1]["sentences"]["s5"] = "Something the article never said."
    with pytest.raises(CaseError, match=r"(?s)a2: .*s5: labelled 'Something"):
        parse_case(data, "edited.yaml", SEED_CASE.parent)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["facts"]["a1"][0].update(colour="red"), "Extra inputs are not permitted"),
        (lambda d: d["facts"]["a2"][0].update(support=["s99"]), "no citable sentence 's99'"),
        (lambda d: d["consensus"][0].update(support={"a1": ["s3"]}), "two or more articles"),
        (lambda d: d["discrepancies"][0].update(sides=d["discrepancies"][0]["sides"][:1]), "at least 2"),
        (lambda d: d["articles"].reverse(), "articles must be a1, a2, a3 in that order"),
        (lambda d: d["facts"]["a3"].append(d["facts"]["a3"][0]), "used twice"),
        (lambda d: d.update(format="something-else/9"), "format"),
    ],
)
def test_malformed_cases_are_refused_with_the_place(data: dict[str, Any], edit: Any, message: str) -> None:
    edit(data)
    with pytest.raises(CaseError, match=message):
        parse_case(data, "edited.yaml", SEED_CASE.parent)


def test_a_case_runs_without_the_repository(tmp_path: Path) -> None:
    """An installed package has the case file but not examples/: the inline text is enough."""
    alone = tmp_path / "hasakah.yaml"
    shutil.copy(SEED_CASE, alone)
    assert [a.text for a in load_case(alone).articles] == [a.text for a in load_case(SEED_CASE).articles]


def test_an_inline_text_that_differs_from_its_file_is_refused(tmp_path: Path, data: dict[str, Any]) -> None:
    article = tmp_path / "article.txt"
    article.write_text("Title\n\nA different body. It has two sentences.\n", encoding="utf-8")
    data["articles"][0]["path"] = str(article)
    with pytest.raises(CaseError, match="inline copy differs"):
        parse_case(data, "edited.yaml", tmp_path)


def test_the_scaffold_writes_the_seed_articles_exactly_as_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data: dict[str, Any]
) -> None:
    monkeypatch.chdir(ROOT)
    assert scaffold.main(["--id", "copy", "examples/hasakah"]) == 0
    written = yaml.safe_load(capsys.readouterr().out)
    assert written["articles"] == data["articles"]
    (tmp_path / "copy.yaml").write_text(scaffold.dump(written), encoding="utf-8")
    assert load_case(tmp_path / "copy.yaml").case.fact_count() == 0  # loads; ready for labels


def test_a_case_may_reference_its_articles_by_path_only(tmp_path: Path, data: dict[str, Any]) -> None:
    for item in data["articles"]:
        del item["text"]
    (tmp_path / "evals").mkdir()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    path = tmp_path / "evals" / "by-path.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    loaded = load_case(path)  # "examples/hasakah/…" is found from the case's folder upwards
    assert [a.text for a in loaded.articles] == [a.text for a in load_case(SEED_CASE).articles]


def test_corpus_cases_without_their_corpus_are_skipped_by_name(tmp_path: Path) -> None:
    found = load_case_set(corpus=tmp_path)
    assert [c.id for c in found.cases] == ["hasakah"]
    assert len(found.skipped) == len(CASE_FILES) - 1
    assert all("is not in the corpus folder" in line for line in found.skipped)
    with pytest.raises(CaseError, match="is not in the corpus folder"):
        load_cases(corpus=tmp_path)


def test_a_corpus_text_that_changed_is_refused(tmp_path: Path) -> None:
    if CORPUS is None:
        pytest.skip("no corpus folder beside this checkout")
    case_file = bundled_cases_dir() / "cantor-primary.yaml"
    data = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    path = data["articles"][0]["corpus_path"]
    copy = tmp_path / path
    copy.parent.mkdir(parents=True)
    copy.write_text((CORPUS / path).read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    with pytest.raises(CaseError, match="not the text the labels were made for"):
        parse_case(data, "cantor.yaml", bundled_cases_dir(), tmp_path)
    data["articles"][0]["sha256"] = read_path(copy)[0].sha256
    with pytest.raises(CaseError, match="segmenter no longer gives the sentences"):
        parse_case(data, "cantor.yaml", bundled_cases_dir(), tmp_path)
