"""The eval runner and scorer on the real embedded model (slow: one article, one attempt)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from summarizer.evaluate.gold import bundled_cases_dir, parse_case
from summarizer.evaluate.metrics import METRICS
from summarizer.evaluate.report import build, to_html
from summarizer.evaluate.run import run_llm
from summarizer.providers import EMBEDDED_MODEL, resolve, running
from summarizer.settings import Settings
from summarizer.templates import load_prompts


def _one_article_case() -> Any:
    """The seed case cut down to its second article (renumbered a1), labels included."""
    path = bundled_cases_dir() / "hasakah.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    article = {**data["articles"][1], "id": "a1"}
    small = {
        **data,
        "id": "one",
        "facts": {"a1": data["facts"]["a2"]},
        "consensus": [],
        "discrepancies": [],
        "timeline": [],
    }
    small["articles"] = [article]
    return parse_case(small, "one-article", path.parent)


@pytest.mark.llama
def test_the_embedded_model_is_run_and_scored(llama_base_url: str) -> None:
    case = _one_article_case()
    # No model name: resolve() would take the embedded alias as "start our own server" and drop the URL.
    provider = resolve(provider="compatible", base_url=llama_base_url)
    settings = Settings(max_attempts=1, copy_mode=True, max_tokens=600)
    with running(provider) as ready:
        assert ready.model == EMBEDDED_MODEL
        outcome = run_llm([case], provider=ready, prompts=load_prompts("v1"), settings=settings)
    result, brief = outcome.result, outcome.briefs[case.id]
    facts = sum(len(s.facts) for s in brief.summaries)
    assert result.counts.predicted_facts == facts
    assert result.counts.answers == 1 + (facts > 0)  # the brief is asked only when there are facts
    assert result.counts.calls >= result.counts.answers
    # The pipeline resolves citations from the sentence map and drops ungrounded numbers:
    assert result.metrics["citation_validity"] in (None, 1.0)
    assert result.metrics["number_grounding"] in (None, 1.0)
    for metric in METRICS:
        value = result.metrics[metric.name]
        assert value is None or (0.0 <= value <= 1.0 if metric.rate else value >= 0)
    assert "<svg" in to_html(build([case], [result]))
