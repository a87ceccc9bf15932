"""A model's brief builds on the cross-source analysis: it confirms, rejects and adds (an in-process scripted model).

The scripted model reads the candidate lines the brief prompt shows it ("[d2] (date) ...") and answers
from them, as a model would; what it may remove depends on whether it is trusted to (copy mode is not).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from summarizer.schemas import Brief

from summarizer.ask import Settings
from summarizer.load import load
from summarizer.pipeline import Job, brief_articles
from summarizer.segment import prepare
from tests.doubles.answers import copying_answer, facts, is_brief_request, user_text
from tests.doubles.client import Call, ScriptedClient, ScriptedProvider

SEED = Path(__file__).resolve().parent.parent / "examples" / "hasakah"
CANDIDATE = re.compile(r"^\[([dtc]\d+)\] (.*)$", re.M)


def candidates(request: dict[str, Any]) -> dict[str, str]:
    return dict(CANDIDATE.findall(user_text(request)))


def reviewing_model(call: Call) -> dict[str, Any]:
    request = call.body
    if not is_brief_request(request):
        return copying_answer(request)
    shown = candidates(request)
    spelling = next(cid for cid, line in shown.items() if line.startswith("(spelling) Spelling of one name: Hasaka"))
    date = next(cid for cid, line in shown.items() if line.startswith("(date)"))
    by_article: dict[str, tuple[str, str]] = {}
    for fid, _, text in facts(request):
        by_article.setdefault(fid.split(".")[0], (fid, text))
    (f1, t1), (f2, t2) = by_article["a1"], by_article["a2"]
    # Two facts of different articles that both name ISIS: sides that say only that do not differ.
    isis = [fid for fid, _, text in facts(request) if "ISIS" in text]
    same_a, same_b = isis[0], next(fid for fid in isis if fid.split(".")[0] != isis[0].split(".")[0])
    answer = {
        "overview": [{"text": t1, "cites": [f1]}],
        "consensus": [],
        "discrepancies": [
            {"topic": "Which report leads", "sides": [{"text": t1, "cites": [f1]}, {"text": t2, "cites": [f2]}]},
            {
                "topic": "ISIS twice",
                "sides": [{"text": "ISIS", "cites": [same_a]}, {"text": "ISIS", "cites": [same_b]}],
            },
        ],
        "timeline": [],
        "reviews": [
            {"candidate": spelling, "verdict": "reject", "reason": "two different places"},
            {"candidate": date, "verdict": "confirm", "reason": None},
        ],
    }
    return answer


def run(settings: Settings) -> tuple[Brief, ScriptedClient]:
    articles = prepare(load([str(SEED)]))
    client = ScriptedClient(default=reviewing_model)
    brief = asyncio.run(brief_articles(articles, Job(provider=ScriptedProvider(client=client), settings=settings)))
    return brief, client


def test_a_model_confirms_rejects_and_adds_to_the_analysis() -> None:
    brief, client = run(Settings(max_attempts=1))
    request = next(c.body for c in client.calls if c.response_model == "BriefExtraction")
    shown = candidates(request)
    assert any(line.startswith("(arithmetic)") and "322" in line for line in shown.values())
    kinds = {d.kind: d for d in brief.discrepancies}
    assert not any("Hasaka / Hasakah" in d.topic for d in brief.discrepancies)
    rejected = [d for d in brief.dropped if d.reason.startswith("rejected by the model")]
    assert len(rejected) == 1 and "Hasaka / Hasakah" in rejected[0].claim
    assert "two different places" in rejected[0].reason
    assert kinds["date"].origin == "both"
    assert kinds["arithmetic"].origin == "analysis"
    added = [d for d in brief.discrepancies if d.origin == "model"]
    assert [d.topic for d in added] == ["Which report leads"]
    assert any(d.claim == "ISIS twice" and d.reason == "its sides do not differ" for d in brief.dropped)


def test_copy_mode_keeps_what_its_tiny_model_rejects_and_ships_none_of_its_additions() -> None:
    brief, _ = run(Settings(max_attempts=1, copy_mode=True))
    assert any("Hasaka / Hasakah" in d.topic for d in brief.discrepancies)
    assert not [d for d in brief.dropped if d.reason.startswith("rejected by the model")]
    assert {d.origin for d in brief.discrepancies} == {"analysis", "both"}
    assert any(d.claim == "Which report leads" and d.reason.startswith("copy mode") for d in brief.dropped)


def test_copy_mode_cites_only_the_fact_whose_text_it_copies() -> None:
    """The tiny model names fact IDs and the tool copies the first one's text: a point citing three facts from
    three articles says what the first says, so it cites only that fact's sentence."""

    def overview_of_three(call: Call) -> dict[str, Any]:
        answer = reviewing_model(call)
        if is_brief_request(call.body):
            firsts: dict[str, str] = {}
            for fid, _, _ in facts(call.body):
                firsts.setdefault(fid.split(".")[0], fid)
            answer["overview"] = [{"cites": list(firsts.values())}]
        return answer

    articles = prepare(load([str(SEED)]))
    client = ScriptedClient(default=overview_of_three)
    settings = Settings(max_attempts=1, copy_mode=True)
    brief = asyncio.run(brief_articles(articles, Job(provider=ScriptedProvider(client=client), settings=settings)))
    (point,) = brief.overview
    assert [(c.article_id, c.text) for c in point.citations] == [("a1", point.text)]
