"""Claim-level diffs between briefs of one event, on the invented ferry story in examples/ferry.

Run 1 brings one report (at least 12 dead), run 2 a second (19 dead, "Keldan" for Keldon), run 3 a third
(23 dead, 160 passengers against about 140, Saturday night against Sunday night). The expected changes below
are read off those texts by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from summarizer.schemas import Brief
from summarizer.schemas.updates import BriefDiff, BriefVersion, EventUpdates, Updates

from summarizer import extractive
from summarizer.errors import InputError
from summarizer.load import load
from summarizer.segment import prepare
from summarizer.updates import diff_briefs
from summarizer.updates.render import render
from summarizer.updates.saved import read_brief

ROOT = Path(__file__).resolve().parents[1]
FERRY = ROOT / "examples" / "ferry"


def brief_of(*runs: int) -> Brief:
    files = [str(p) for run in runs for p in sorted((FERRY / str(run)).glob("*.json"))]
    return extractive.brief_articles(prepare(load(files)))


@pytest.fixture(scope="module")
def versions() -> dict[int, Brief]:
    return {1: brief_of(1), 2: brief_of(1, 2), 3: brief_of(1, 2, 3)}


def diff(old: Brief, new: Brief) -> BriefDiff:
    def version(brief: Brief, n: int) -> BriefVersion:
        return BriefVersion(label=f"version {n}", version=n, model="extractive", prompt_version="v2",
                            articles=len(brief.articles))  # fmt: skip

    return diff_briefs(old, new, old_version=version(old, 1), new_version=version(new, 2))


def sources(d: BriefDiff) -> dict[str, str]:
    return {a.source or "": a.status for a in d.articles}


def test_second_report_revises_the_toll_and_spells_the_place_another_way(versions: dict[int, Brief]) -> None:
    d = diff(versions[1], versions[2])
    assert d.changed
    assert sources(d) == {"Coastal Wire": "kept", "Island Daily": "joined"}
    assert [(f.quantity, f.old, f.new) for f in d.figures] == [("dead", "At least 12", "19")]
    assert [v.published for v in d.figures[0].history] == ["2026-03-02T08:00:00Z", "2026-03-02T18:00:00Z"]
    assert [(c.change, c.kind) for c in d.discrepancies] == [("appeared", "spelling")]
    new = d.discrepancies[0].new
    assert new is not None and {s.value for s in new.sides} == {"Keldan", "Keldon"}
    assert not [t for t in d.timeline if t.change != "new"]
    assert not [c for c in d.claims if c.section == "fact" and c.change != "new"]


def test_third_report_revises_again_and_contradicts_the_day(versions: dict[int, Brief]) -> None:
    d = diff(versions[2], versions[3])
    assert sources(d) == {"Coastal Wire": "kept", "Island Daily": "kept", "Harbour Times": "joined"}
    revised = {f.quantity: f for f in d.figures}
    assert set(revised) == {"dead", "passenger"}
    assert (revised["dead"].old, revised["dead"].new) == ("19", "23")
    assert [v.value for v in revised["dead"].history] == ["At least 12", "19", "23"]
    assert (revised["passenger"].old, revised["passenger"].new) == ("about 140", "160")
    assert revised["passenger"].discrepancy is not None  # the brief flags 140 against 160: a dispute, not news only
    changes = sorted((c.change, c.kind) for c in d.discrepancies)
    assert changes == [("appeared", "date"), ("changed", "spelling")]
    spelling = next(c for c in d.discrepancies if c.kind == "spelling")
    harbour = next(a.id for a in d.articles if a.source == "Harbour Times")
    assert spelling.articles_added == [harbour] and not spelling.values_added
    date = next(c for c in d.discrepancies if c.kind == "date")
    assert date.new is not None and {s.value for s in date.new.sides} == {
        "2026-03-01 (on Sunday)",
        "2026-02-28 (on Saturday)",
    }
    new_facts = [c.text for c in d.claims if c.section == "fact" and c.change == "new"]
    # The new report's four sentences: three carrying a figure, date or quote, and the storm warning.
    assert len(new_facts) == 4 and any("captain was detained" in t for t in new_facts)
    assert any("storm warning" in t for t in new_facts)
    assert not [c for c in d.claims if c.section == "fact" and c.change == "gone"]


def test_the_same_brief_twice_is_no_changes(versions: dict[int, Brief]) -> None:
    d = diff(versions[3], brief_of(1, 2, 3))
    assert not d.changed
    assert not (d.figures or d.discrepancies or d.timeline or d.claims)
    assert {a.status for a in d.articles} == {"kept"}
    assert d.unchanged["fact"] == sum(len(s.facts) for s in versions[3].summaries)
    assert "No changes." in render(d, "rich")


def test_a_source_withdrawn_resolves_what_it_alone_disputed(versions: dict[int, Brief]) -> None:
    d = diff(versions[3], versions[2])
    assert sources(d)["Harbour Times"] == "left"
    left = next(a for a in d.articles if a.status == "left")
    assert left.id.startswith("old-")
    assert ("resolved", "date") in {(c.change, c.kind) for c in d.discrepancies}
    assert not d.figures  # the newest figure now is one the older brief had
    gone = [c for c in d.claims if c.change == "gone" and c.section == "fact"]
    assert len(gone) == 4 and all(c.citations[0].article_id == left.id for c in gone)  # its four facts


def citations_in(node: object) -> list[dict[str, object]]:
    """Every citation object anywhere in a JSON value."""
    if isinstance(node, dict):
        own = [node] if set(node) == {"article_id", "sentence_id", "start", "end", "text"} else []
        return own + [c for value in node.values() for c in citations_in(value)]
    if isinstance(node, list):
        return [c for value in node for c in citations_in(value)]
    return []


def test_every_citation_resolves_in_the_diffs_own_articles(versions: dict[int, Brief]) -> None:
    schema = json.loads((ROOT / "schemas" / "brief-diff.schema.json").read_text())
    for old, new in ((1, 2), (2, 3), (3, 2)):
        data = json.loads(render(diff(versions[old], versions[new]), "json"))
        jsonschema.validate(data, schema)
        texts = {a["id"]: a["text"] for a in data["articles"]}
        found = citations_in({k: v for k, v in data.items() if k != "articles"})
        assert len(found) > 5
        for c in found:
            assert texts[c["article_id"]][c["start"] : c["end"]] == c["text"]  # type: ignore[index,misc]


def test_markdown_and_html_show_old_and_new_with_citations(versions: dict[int, Brief]) -> None:
    d = diff(versions[2], versions[3])
    md = render(d, "md")
    assert "19 → 23" in md and "\\[[3.1](#a3-s1)\\]" in md
    html = render(d, "html")
    assert "19 → 23" in html and 'href="#a3-s1"' in html and 'id="a3-s1"' in html


def test_hostile_article_text_is_inert_in_every_diff_format(tmp_path: Path) -> None:
    hostile = (
        "Officials said 30 people were killed near [Keldon](javascript:alert(1)) <script>alert(1)</script> "
        "on Monday, {{ config }} {% raw %} **bold**."
    )
    calm = "Officials said 20 people were killed near Keldon on Monday, the harbour authority said."
    (tmp_path / "a.json").write_text(json.dumps({"title": "Toll", "text": calm, "published": "2026-03-02"}))
    (tmp_path / "b.json").write_text(json.dumps({"title": "<b>Toll</b>", "text": hostile, "published": "2026-03-03"}))
    old = extractive.brief_articles(prepare(load([str(tmp_path / "a.json")])))
    new = extractive.brief_articles(prepare(load([str(tmp_path / "a.json"), str(tmp_path / "b.json")])))
    d = diff(old, new)
    html = render(d, "html")
    assert 'href="javascript' not in html and "<script>" not in html and "&lt;script&gt;" in html
    assert "{{ config }}" in html  # shown as text, never evaluated
    label = "[bold]Toll[/bold] [link=javascript:alert(1)]x[/link]"  # an event label comes from article text
    shown = render(Updates(store="s.db", events=[EventUpdates(event_id=1, label=label, versions=2, diff=d)]), "rich")
    assert label in shown.replace("\n", "")  # printed as text, not read as rich markup
    md = render(d, "md")
    assert "<script>" not in md and "[Keldon](javascript:" not in md and "\\*\\*bold\\*\\*" in md


def test_a_file_that_is_not_a_saved_brief_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"articles": []}')
    with pytest.raises(InputError, match=r"old\.json: not a brief saved with --format json"):
        read_brief(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="not a brief"):
        read_brief(path)


def test_brief_since_a_saved_brief_shows_the_changes_then_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarizer.cli import main

    saved = tmp_path / "ferry.json"
    run1, run2 = str(FERRY / "1"), str(FERRY / "2")
    assert main(["brief", run1, "--engine", "extractive", "--save", str(saved), "-q", "--format", "json"]) == 0
    capsys.readouterr()
    argv = ["brief", run1, run2, "--engine", "extractive", "--since", str(saved), "--save", str(saved), "-q"]
    assert main([*argv, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, json.loads((ROOT / "schemas" / "brief-diff.schema.json").read_text()))
    assert data["changed"] and [f["new"] for f in data["figures"]] == ["19"]
    assert len(json.loads(saved.read_text())["articles"]) == 2  # --save rolled the saved brief forward
    assert main(argv) == 0
    assert "No changes." in capsys.readouterr().out


def test_brief_since_a_file_that_is_not_a_brief_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarizer.cli import main

    code = main(["brief", str(FERRY / "1"), "--since", str(FERRY / "1" / "coastal-wire.json")])
    err = capsys.readouterr().err
    assert code == 3 and "coastal-wire.json: not a brief saved with --format json" in err
    assert "Traceback" not in err
