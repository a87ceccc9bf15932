"""Scripted model answers, fault injection and synthetic news: for tests and benchmarks only.

A summarize request lists the article's sentences as ``[sN] text`` lines; the answer cites
the first ones and copies them verbatim, so grounding keeps every claim. A brief request
lists facts as ``[aN.fK] text`` lines; the answer's overview copies the first facts. With
these, a batch can run end to end against a local server without a real model;
:func:`faulty` mixes in the faults a real server shows, and :func:`synthetic_articles` makes
inboxes of any size with known events.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from summarizer.fakeserver import Reply

_SENTENCE = re.compile(r"^\[(s\d+)\] (.+)$", re.M)
_FACT = re.compile(r"^\[(a\d+\.f\d+)\] \((\w+)\) (.+?)(?: \((?:value|speaker): [^)]*\))?$", re.M)


def user_text(request: dict[str, Any]) -> str:
    """The last user message of a chat-completions request body."""
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else ""
    return ""


def is_brief_request(request: dict[str, Any]) -> bool:
    return bool(_FACT.search(user_text(request)))


def article_answer(request: dict[str, Any]) -> dict[str, Any]:
    """An ArticleExtraction whose summary and facts copy the first cited sentences word for word."""
    # Copy only sentences within the schema's length limits (summary 400, fact 300 characters).
    sentences = [(sid, text) for sid, text in _SENTENCE.findall(user_text(request)) if len(text) <= 300]
    if not sentences:
        return {"headline": "Nothing to summarise", "summary": [], "facts": [], "entities": []}
    summary = [{"cites": [sid], "text": text} for sid, text in sentences[:3]]
    facts = [{"cites": [sid], "kind": "event", "statement": text} for sid, text in sentences[:4]]
    return {"headline": sentences[0][1][:200], "summary": summary, "facts": facts, "entities": []}


def brief_answer(request: dict[str, Any]) -> dict[str, Any]:
    """A BriefExtraction whose overview copies up to three facts, one per article where possible."""
    facts = _FACT.findall(user_text(request))
    chosen: list[tuple[str, str]] = []
    seen_articles: set[str] = set()
    for fid, _kind, text in facts:
        article = fid.split(".")[0]
        if article not in seen_articles:
            seen_articles.add(article)
            chosen.append((fid, text))
        if len(chosen) == 3:
            break
    return {
        "overview": [{"cites": [fid], "text": text} for fid, text in chosen],
        "consensus": [],
        "discrepancies": [],
        "timeline": [],
    }


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The tool-call arguments a well-behaved model would return for ``request``."""
    return brief_answer(request) if is_brief_request(request) else article_answer(request)


# -- scripted servers ------------------------------------------------------------------------
FAULTS = ("rate_limited", "server_error", "hang", "malformed", "drop")


def responder(delay: float = 0.0) -> Callable[[dict[str, Any]], Reply]:
    """A ``ScriptedServer`` default that always answers validly, after ``delay`` seconds."""
    return lambda request: Reply.tool(answer(request), delay=delay)


def faulty(
    rates: Mapping[str, float],
    *,
    seed: int = 0,
    hang: float = 1.0,
    retry_after: float = 0.05,
    delay: float = 0.0,
) -> Callable[[dict[str, Any]], Reply]:
    """A ``ScriptedServer`` default that injects faults at the given rates (per request), else answers validly.

    ``rates`` maps fault names from :data:`FAULTS` to probabilities: 429 with ``Retry-After``,
    500, a hang of ``hang`` seconds (past the client's timeout), a malformed JSON body, a
    dropped connection. The choice is drawn from a seeded generator, so a run is repeatable.
    """
    unknown = set(rates) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}: use {', '.join(FAULTS)}")
    rng = random.Random(seed)
    lock = threading.Lock()
    replies = {
        "rate_limited": Reply.error(429, retry_after=retry_after, message="rate limited (injected)"),
        "server_error": Reply.error(500, message="internal error (injected)"),
        "hang": Reply.hang(hang),
        "malformed": Reply.malformed(),
        "drop": Reply.drop(),
    }

    def respond(request: dict[str, Any]) -> Reply:
        with lock:
            draw = rng.random()
        for fault, rate in rates.items():
            if draw < rate:
                return replies[fault]
            draw -= rate
        return Reply.tool(answer(request), delay=delay)

    return respond


# -- synthetic news ----------------------------------------------------------------------------
_SYLLABLES = ("ka", "lo", "mi", "ra", "ven", "tor", "sa", "del", "bri", "no", "qua", "zen", "fa", "ril", "mon", "das")
_TOPICS = (
    ("flood", "river", "evacuation", "dam", "rainfall"),
    ("wildfire", "blaze", "firefighters", "smoke", "hectares"),
    ("strike", "union", "wages", "picket", "negotiations"),
    ("earthquake", "tremor", "aftershocks", "rubble", "magnitude"),
    ("election", "ballots", "turnout", "candidates", "coalition"),
    ("trial", "court", "verdict", "prosecutors", "testimony"),
    ("outbreak", "infections", "vaccines", "clinics", "quarantine"),
    ("derailment", "train", "carriages", "passengers", "tracks"),
)
_TEMPLATES = (
    "{city} said {n} {w1} were hit by the {topic} on {day}.",
    "The {topic} forced {m} {w2} of {city} away from {place}.",
    "{person} of {org} said the {k1} at {place} remained serious.",
    "{org} reached {place} after the {k2} in {city}.",
    "Witnesses described {k1} and {k3} across {city} on {day}.",
    "{org} will publish a {w3} on the {topic} within {d} days.",
    "{city} media counted {n} {k4} since the {topic} began.",
    "{person} told {w4} that the {k2} near {place} was under control.",
    "{city} announced {m} million for {w1} hit by the {topic}.",
    "According to {org}, the {k3} near {place} could continue {d} days.",
    "{w2} of {place} said the {k4} had disrupted {w1} for {d} days.",
    "{person} said {org} would review the {topic} {w3} in {city}.",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _name(rng: random.Random, parts: int = 3) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(parts)).capitalize()


def synthetic_articles(n: int, *, per_event: int = 5, seed: int = 0, sentences: int = 6) -> list[dict[str, str]]:
    """``n`` news-like JSON records, ``per_event`` about each invented event (same names, different sentences).

    Events differ in topic words and invented names (cities, people, organisations); two
    events share each date, dates are ten days apart. Articles about one event share names,
    topic and date but not their wording, so they group as one event without being
    near-duplicates of each other.
    """
    rng = random.Random(seed)
    records: list[dict[str, str]] = []
    event: dict[str, str] = {}
    templates: list[str] = []
    for i in range(n):
        if i % per_event == 0:
            number = i // per_event
            topic, k1, k2, k3, k4 = _TOPICS[number % len(_TOPICS)]
            event = {
                "topic": topic,
                "k1": k1,
                "k2": k2,
                "k3": k3,
                "k4": k4,
                "city": _name(rng),
                "place": _name(rng, 2) + " " + rng.choice(("Bridge", "Valley", "Square", "Harbour")),
                "person": f"{_name(rng, 2)} {_name(rng)}",
                "org": f"the {_name(rng)} {rng.choice(('Agency', 'Council', 'Authority', 'Ministry'))}",
                # Two events (with different topics) per date, dates ten days apart.
                "date": (date(2024, 1, 1) + timedelta(days=10 * (number // 2))).isoformat(),
            }
            event |= {f"w{j}": _name(rng, 2).lower() + "s" for j in range(1, 5)}
            templates = rng.sample(_TEMPLATES, k=7)  # each event has its own way of telling
        values = {**event, "day": rng.choice(_DAYS)}
        lines = []
        for template in rng.sample(templates, k=min(sentences, len(templates))):
            values |= {"n": str(rng.randint(2, 900)), "m": str(rng.randint(2, 90)), "d": str(rng.randint(2, 30))}
            line = template.format(**values)
            lines.append(line[0].upper() + line[1:])
        headline = rng.choice(templates).format(**values)[:80].rstrip()
        records.append(
            {
                "title": f"{event['topic'].capitalize()} in {event['city']}: {headline} (report {i + 1})",
                "text": "\n\n".join(" ".join(lines[j : j + 3]) for j in range(0, len(lines), 3)),
                "published": f"{event['date']}T{rng.randint(0, 23):02d}:00:00+00:00",
                "source": rng.choice(("Wire One", "Daily Two", "Radio Three", "Post Four")),
                "url": f"https://news.example/{i}",
            }
        )
    return records
