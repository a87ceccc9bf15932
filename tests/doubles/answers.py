"""Valid model answers built from what a request shows the model, never from the code under test.

A summarize request lists the article's sentences as ``[sN] text`` lines; :func:`copying_answer`
copies the first ones verbatim and cites them, so grounding keeps every claim. A brief request
lists facts as ``[aN.fK] (kind) text`` lines; :func:`brief_answer`'s overview copies facts.
"""

from __future__ import annotations

import re
from typing import Any

SENTENCE_LINE = re.compile(r"^\[(s\d+)\] (.*)$", re.M)
FACT_LINE = re.compile(r"^\[(a\d+\.f\d+)\] \((\w+)\) (.+?)(?: \((?:value|speaker): [^)]*\))?$", re.M)
"""A fact line; its text without the "(value: …; speaker: …)" the prompt adds after it."""


def user_text(request: dict[str, Any]) -> str:
    """Every user message of a chat-completions request body, joined."""
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []) if m.get("role") == "user")


def all_text(request: dict[str, Any]) -> str:
    """Every message of a chat-completions request body, joined (re-asks included)."""
    return "\n".join(str(m.get("content") or "") for m in request.get("messages", []))


def sentences(request: dict[str, Any]) -> dict[str, str]:
    """The ``[sN] text`` lines the request shows: sentence ID -> text."""
    return dict(SENTENCE_LINE.findall(user_text(request)))


def facts(request: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The fact lines the request shows: (fact ID, kind, text)."""
    return FACT_LINE.findall(user_text(request))


def is_brief_request(request: dict[str, Any]) -> bool:
    return bool(facts(request)) and not sentences(request)


def first_with(shown: dict[str, str], needle: str) -> str:
    """The ID of the first shown sentence that contains ``needle``."""
    for sid, text in shown.items():
        if needle in text:
            return sid
    raise AssertionError(f"no sentence shown contains {needle!r}")


def copying_answer(request: dict[str, Any], *, n_summary: int = 2, n_facts: int = 3) -> dict[str, Any]:
    """An article answer whose summary and facts copy the first shown sentences word for word.

    Only sentences within the schema's length limits are copied.
    """
    shown = [(sid, text) for sid, text in sentences(request).items() if len(text) <= 300]
    if not shown:
        return {"headline": "Nothing to summarise", "summary": [], "facts": [], "entities": []}
    return {
        "headline": shown[0][1][:200],
        "summary": [{"text": text, "cites": [sid]} for sid, text in shown[:n_summary]],
        "facts": [{"kind": "event", "statement": text, "cites": [sid]} for sid, text in shown[:n_facts]],
        "entities": [],
    }


def brief_answer(request: dict[str, Any], *, n_overview: int = 3) -> dict[str, Any]:
    """A brief answer whose overview copies up to ``n_overview`` facts, one per article where possible."""
    chosen: list[tuple[str, str]] = []
    seen_articles: set[str] = set()
    for fid, _kind, text in facts(request):
        article = fid.split(".")[0]
        if article not in seen_articles:
            seen_articles.add(article)
            chosen.append((fid, text))
        if len(chosen) == n_overview:
            break
    return {
        "overview": [{"text": text, "cites": [fid]} for fid, text in chosen],
        "consensus": [],
        "discrepancies": [],
        "timeline": [],
    }


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The answer a well-behaved model would give ``request`` (an article's or a brief's)."""
    return brief_answer(request) if is_brief_request(request) else copying_answer(request, n_summary=3, n_facts=4)
