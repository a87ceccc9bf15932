"""Build scripted model answers from what the request actually shows the model.

The scripted server hands these to the real openai client; they are derived from the prompt
(the ``[sN] text`` lines and ``[aN.fK]`` fact lines), never from the code under test.
"""

from __future__ import annotations

import re
from typing import Any

SENTENCE_LINE = re.compile(r"^\[(s\d+)\] (.*)$", re.M)
FACT_LINE = re.compile(r"^\[(a\d+\.f\d+)\] \((\w+)\) (.*)$", re.M)


def user_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []) if m.get("role") == "user")


def all_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []))


def sentences(request: dict[str, Any]) -> dict[str, str]:
    return dict(SENTENCE_LINE.findall(user_text(request)))


def facts(request: dict[str, Any]) -> list[tuple[str, str, str]]:
    return FACT_LINE.findall(user_text(request))


def is_brief_request(request: dict[str, Any]) -> bool:
    return bool(facts(request)) and not sentences(request)


def first_with(shown: dict[str, str], needle: str) -> str:
    for sid, text in shown.items():
        if needle in text:
            return sid
    raise AssertionError(f"no sentence shown contains {needle!r}")


def copying_answer(request: dict[str, Any], *, n_summary: int = 2, n_facts: int = 3) -> dict[str, Any]:
    """A valid article answer: summary sentences and facts copied verbatim from the shown sentences."""
    shown = list(sentences(request).items())
    return {
        "headline": shown[0][1][:100],
        "summary": [{"text": text, "cites": [sid]} for sid, text in shown[:n_summary]],
        "facts": [{"kind": "event", "statement": text, "cites": [sid]} for sid, text in shown[:n_facts]],
        "entities": [],
    }


def brief_answer(request: dict[str, Any]) -> dict[str, Any]:
    """A valid brief answer: the overview copies the first fact; consensus joins facts that share a name."""
    shown = facts(request)
    first_id, _, first_text = shown[0]
    answer: dict[str, Any] = {
        "overview": [{"text": first_text, "cites": [first_id]}],
        "consensus": [],
        "discrepancies": [],
        "timeline": [],
    }
    return answer
