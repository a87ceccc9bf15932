from collections import Counter

from summarizer.batch import events
from summarizer.load import load
from tests.doubles.synthetic import synthetic_articles


def vectors(docs: list[tuple[str, str]]) -> list[dict[str, float]]:
    counts = [events.terms(title, text) for title, text in docs]
    df = Counter(term for c in counts for term in c)
    return [events.tfidf(c, df, len(counts)) for c in counts]


def group(docs: list[tuple[str, str, float | None]], **options: float) -> list[int]:
    """Event id of each doc, assigned in order as the batch does."""
    index = events.EventIndex(**options)
    out = []
    for (title, _, at), vector in zip(docs, vectors([(t, x) for t, x, _ in docs]), strict=True):
        found = index.best(vector, at)
        if found is None:
            event = events.Event(
                id=len(index.events) + 1, label=title, centroid={}, size=0, first_at=at or 0, last_at=at or 0
            )
            index.add_event(event)
        else:
            event = found[0]
        index.join(event, vector, at)
        out.append(event.id)
    return out


def test_terms_drop_stop_words_fold_plurals_and_weight_the_title() -> None:
    counts = events.terms("Prison break", "The prisons said that the prison guards were told.")
    assert counts["prison"] == 2 + 2  # title once (weight 2), "prisons" and "prison" in the body
    assert counts["guard"] == 1
    for stop in ("the", "said", "that", "were", "told"):
        assert stop not in counts


def test_tfidf_vectors_are_unit_length_and_bounded() -> None:
    text = " ".join(f"word{i} " * (i % 5 + 1) for i in range(200))
    vector = events.tfidf(events.terms("t", text), {}, 10)
    assert len(vector) == events.TOP_TERMS
    assert abs(sum(w * w for w in vector.values()) - 1.0) < 1e-9


def test_cosine() -> None:
    assert events.cosine({"a": 1.0}, {"a": 2.0}) == 1.0
    assert events.cosine({"a": 1.0}, {"b": 1.0}) == 0.0
    assert events.cosine({}, {"a": 1.0}) == 0.0


def test_the_seed_reports_of_one_event_group_together_and_apart_from_other_news(seeds_dir) -> None:  # type: ignore[no-untyped-def]
    docs = [(d.title, d.text, None) for d in load([str(seeds_dir)])]
    other = synthetic_articles(6, per_event=3, seed=4)
    docs += [(r["title"], r["text"], None) for r in other]
    ids = group(docs)
    assert len(set(ids[:3])) == 1
    assert ids[3] == ids[4] == ids[5] != ids[0]
    assert ids[6] == ids[7] == ids[8] not in (ids[0], ids[3])


def test_synthetic_events_are_recovered() -> None:
    records = synthetic_articles(40, per_event=5, seed=2)
    ids = group([(r["title"], r["text"], None) for r in records[:40]])
    expected = [i // 5 for i in range(40)]
    # Same event <=> same group, for the first 8 events (distinct topics).
    for i in range(40):
        for j in range(40):
            assert (ids[i] == ids[j]) == (expected[i] == expected[j]), (i, j)


def test_the_time_window_separates_the_same_story_told_weeks_apart() -> None:
    title, text = "Bridge collapse in Lorvath", "The Lorvath bridge collapsed into the Senna river after days of rain."
    day = 86400.0
    ids = group(
        [(title, text, 0.0), (title, text + " Divers searched.", 2 * day), (title, text + " A year on.", 40 * day)],
        window=3 * day,
    )
    assert ids[0] == ids[1] != ids[2]


def test_an_undated_article_joins_an_event_of_any_time() -> None:
    title, text = "Bridge collapse in Lorvath", "The Lorvath bridge collapsed into the Senna river after days of rain."
    ids = group([(title, text, 1e9), (title, text + " Divers searched the Senna.", None)], window=86400.0)
    assert ids[0] == ids[1]


def test_a_higher_threshold_splits_more() -> None:
    records = synthetic_articles(10, per_event=5, seed=3)
    docs = [(r["title"], r["text"], None) for r in records]
    assert len(set(group(docs, threshold=0.15))) < len(set(group(docs, threshold=0.99)))
