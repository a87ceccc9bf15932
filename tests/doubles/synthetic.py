"""Synthetic news: inboxes of any size with known events, for tests and benchmarks."""

from __future__ import annotations

import random
from datetime import date, timedelta

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
