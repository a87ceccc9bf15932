from summarizer.batch import dedupe
from summarizer.load import load

WIRE = (
    "Heavy rain caused flash floods across the Valencia region on Tuesday, killing at least 60 people. "
    "Emergency services rescued hundreds of residents trapped in cars and homes overnight. "
    "The regional government declared three days of mourning and opened shelters in schools. "
    "Meteorologists said a year's worth of rain fell in eight hours in some towns near the coast. "
    "Rail services between Valencia and Madrid were suspended after tracks were washed away."
)


def exact_jaccard(a: str, b: str) -> float:
    x, y = dedupe.shingles(a), dedupe.shingles(b)
    return len(x & y) / len(x | y)


def test_identical_texts_are_fully_similar() -> None:
    assert dedupe.jaccard(dedupe.sketch(WIRE), dedupe.sketch(WIRE)) == 1.0


def test_a_syndicated_copy_with_a_new_byline_and_footer_is_a_near_duplicate() -> None:
    copy = "MADRID (Wire) - " + WIRE + " Copyright Wire Services. All rights reserved."
    assert dedupe.jaccard(dedupe.sketch(WIRE), dedupe.sketch(copy)) >= dedupe.NEAR_DUPLICATE_JACCARD


def test_case_and_punctuation_do_not_matter() -> None:
    assert dedupe.sketch(WIRE.upper().replace(",", " ;")) == dedupe.sketch(WIRE)


def test_different_reports_of_one_event_are_not_near_duplicates(seeds_dir) -> None:  # type: ignore[no-untyped-def]
    docs = load([str(seeds_dir)])
    sketches = [dedupe.sketch(d.text) for d in docs]
    for i in range(len(sketches)):
        for j in range(i + 1, len(sketches)):
            assert dedupe.jaccard(sketches[i], sketches[j]) < 0.2


def test_the_estimate_tracks_the_exact_jaccard_similarity() -> None:
    words = [f"w{i}" for i in range(2000)]
    base = " ".join(words)
    for keep in (1900, 1500, 1000):  # drop the tail: exact Jaccard is known in closed form
        other = " ".join(words[:keep])
        exact = exact_jaccard(base, other)
        estimate = dedupe.jaccard(dedupe.sketch(base), dedupe.sketch(other))
        assert abs(estimate - exact) < 0.12, (keep, exact, estimate)


def test_short_texts_have_a_sketch() -> None:
    assert len(dedupe.sketch("Two words")) == 1
    assert dedupe.sketch("") == ()
    assert dedupe.jaccard((), dedupe.sketch("x")) == 0.0


def test_pack_round_trips() -> None:
    sketch = dedupe.sketch(WIRE)
    assert dedupe.unpack(dedupe.pack(sketch)) == sketch


def test_most_similar_keeps_the_most_similar_candidate_above_the_threshold() -> None:
    new = dedupe.sketch(WIRE)
    near = dedupe.sketch(WIRE + " One more sentence at the end of the story.")
    far = dedupe.sketch("A completely different story about a football match in the north of England.")
    candidates = [(7, far), (3, near)]
    match = dedupe.most_similar(new, candidates, 0.8)
    assert match is not None and match[0] == 3
    assert dedupe.most_similar(new, [(7, far)], 0.8) is None
