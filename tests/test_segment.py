"""Sentence segmentation: exact offsets, stable IDs, news quirks, hostile text, page furniture."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path
from typing import ClassVar

import pytest

import summarizer.segment as segment_module
from summarizer.load import Document, decode, parse_plain
from summarizer.segment import MAX_SENTENCE_CHARS, Sentence, prepare, segment

SEED_FILES = sorted((Path(__file__).resolve().parent.parent / "examples" / "hasakah").glob("*.txt"))


def seed_doc(path: Path) -> Document:
    return parse_plain(path.read_text(encoding="utf-8"), str(path))


def assert_sentence_map(text: str, sentences: list[Sentence]) -> None:
    """Every invariant of a sentence map: exact offsets, order, no overlap, nothing lost but whitespace."""
    assert [s.id for s in sentences] == [f"s{i}" for i in range(1, len(sentences) + 1)]
    for s in sentences:
        assert 0 <= s.start < s.end <= len(text)
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip(), f"{s.id} has untrimmed whitespace"
    for before, after in itertools.pairwise(sentences):
        assert before.end <= after.start, f"{before.id} overlaps {after.id}"
    covered = bytearray(len(text))
    for s in sentences:
        covered[s.start : s.end] = b"\x01" * (s.end - s.start)
    lost = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not lost, f"characters outside every sentence: {[text[i] for i in lost[:20]]}"


def containing(sentences: list[Sentence], fragment: str) -> list[Sentence]:
    return [s for s in sentences if fragment in s.text]


# -- the seeds ---------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_seed_offsets_round_trip(path: Path) -> None:
    doc = seed_doc(path)
    sentences = segment(doc.text)
    assert len(sentences) > 5
    assert_sentence_map(doc.text, sentences)


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.name)
def test_seed_citable_sentences_are_non_empty(path: Path) -> None:
    article = prepare([seed_doc(path)])[0]
    assert article.citable
    for s in article.citable:
        assert s.text.strip()
        assert any(ch.isalnum() for ch in s.text)


def test_seed_count_matches_at_least_the_paragraphs(seeds_dir: Path) -> None:
    # Paragraph breaks are hard boundaries: there are at least as many sentences as non-blank lines.
    for path in sorted(seeds_dir.glob("*.txt")):
        doc = seed_doc(path)
        lines = [line for line in doc.text.split("\n") if line.strip()]
        sentences = segment(doc.text)
        assert len(sentences) >= len(lines)
        # No sentence spans a newline.
        assert all("\n" not in s.text for s in sentences)


def test_seed_000_trailing_furniture_is_kept_but_not_citable(seeds_dir: Path) -> None:
    path = seeds_dir / "000_b0e4f62f26070745.txt"
    doc = seed_doc(path)
    raw_lines = [line.strip() for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    # The page ends with menu furniture; read it off the file itself.
    assert raw_lines[-3:] == ["Shafaq Live", "Shafaq Live", "Radio radio icon"]
    sentences = segment(doc.text)
    tail = sentences[-3:]
    assert [s.text for s in tail] == raw_lines[-3:]
    assert all(not s.citable for s in tail)
    # Everything before the furniture stays citable, including the last real sentence.
    assert all(s.citable for s in sentences[:-3])
    assert sentences[-4].text.endswith("she said.")
    article = prepare([doc])[0]
    assert article.sentence(tail[0].id) == tail[0]  # still in the map...
    assert tail[0] not in article.citable  # ...but never offered as evidence
    assert len(article.citable) == len(sentences) - 3


def test_short_lines_in_the_middle_are_not_furniture() -> None:
    text = "Menu\n\nThe first real sentence is here.\n\nShort line\n\nAnother real sentence follows it.\n\nFooter link"
    sentences = segment(text)
    by_text = {s.text: s for s in sentences}
    assert by_text["Short line"].citable
    assert by_text["Another real sentence follows it."].citable
    assert not by_text["Footer link"].citable


def test_a_single_short_line_stays_citable() -> None:
    sentences = segment("Breaking news")
    assert [(s.text, s.citable) for s in sentences] == [("Breaking news", True)]


# -- news quirks -------------------------------------------------------------------------------
def test_us_abbreviation_does_not_split() -> None:
    text = "The U.S. Army said on Monday it had sent aid. Officials agreed."
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert [s.text for s in sentences] == ["The U.S. Army said on Monday it had sent aid.", "Officials agreed."]


def test_titles_and_month_abbreviations_do_not_split() -> None:
    text = "Mr. Smith met Dr. Jones on Jan. 5 in Erbil. They talked."
    sentences = segment(text)
    assert [s.text for s in sentences] == ["Mr. Smith met Dr. Jones on Jan. 5 in Erbil.", "They talked."]


def test_decimal_does_not_split() -> None:
    text = "The convoy carried 3.5 tons of food. It arrived late."
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert sentences[0].text == "The convoy carried 3.5 tons of food."
    assert not any(s.text.endswith("3.") for s in sentences)


def test_dateline_stays_in_its_sentence() -> None:
    text = (
        "ERBIL, Kurdistan Region — Iraqi counter-terrorism forces on Sunday announced a campaign to inspect "
        "prisons. The measures follow a prison siege."
    )
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert sentences[0].text.startswith("ERBIL, Kurdistan Region — Iraqi counter-terrorism forces on Sunday")
    assert sentences[0].text.endswith("inspect prisons.")
    assert sentences[1].text == "The measures follow a prison siege."


def test_seed_001_dateline_sentence(seeds_dir: Path) -> None:
    doc = seed_doc(seeds_dir / "001_5f4370996e979ae7.txt")
    sentences = segment(doc.text)
    first_line = doc.text.split("\n", 1)[0]
    dateline = "ERBIL, Kurdistan Region — Iraqi counter-terrorism forces"
    assert first_line.startswith(dateline)
    # The first sentence of the first paragraph ends at its first full stop.
    assert sentences[0].start == 0
    assert sentences[0].end == first_line.index("al-Kadhimi.") + len("al-Kadhimi.")
    assert containing(sentences, dateline) == [sentences[0]]


def test_w_slash_a_does_not_split() -> None:
    text = "The insurgence coincided w/a car bomb explosion near the prison. Then it stopped."
    sentences = segment(text)
    assert [s.text for s in sentences] == [
        "The insurgence coincided w/a car bomb explosion near the prison.",
        "Then it stopped.",
    ]


def test_seed_000_w_slash_a_sentence(seeds_dir: Path) -> None:
    doc = seed_doc(seeds_dir / "000_b0e4f62f26070745.txt")
    sentences = segment(doc.text)
    hits = containing(sentences, "coincided w/a car bomb explosion near the prison")
    assert len(hits) == 1
    assert "tweeted SDF spokesperson Farhad Shami" in hits[0].text


# -- IDs ---------------------------------------------------------------------------------------
def test_ids_are_sequential_and_stable(seeds_dir: Path) -> None:
    doc = seed_doc(seeds_dir / "004_8444452985700940.txt")
    first = segment(doc.text)
    second = segment(doc.text)
    assert first == second
    assert [s.id for s in first] == [f"s{i}" for i in range(1, len(first) + 1)]
    assert [s.start for s in first] == sorted(s.start for s in first)


def test_ids_depend_only_on_the_text() -> None:
    body = "First sentence here. Second sentence here.\n\nA new paragraph."
    a, b = prepare(
        [
            Document(title="One title", text=body, origin="one.txt"),
            Document(title="Another title", text=body, origin="two.txt", url="https://example.org/x"),
        ]
    )
    assert (a.id, b.id) == ("a1", "a2")
    assert a.sentences == b.sentences
    assert [s.id for s in a.sentences] == ["s1", "s2", "s3"]


def test_article_lookup_and_output() -> None:
    body = "Alpha happened. Beta followed.\n\nGamma ended it."
    article = prepare([Document(title="T", text=body, origin="x.txt")])[0]
    assert article.sentence("s2") is not None
    assert article.sentence("s2").text == "Beta followed."  # type: ignore[union-attr]
    assert article.sentence("s99") is None
    out = article.to_out()
    assert out.text == body
    for s in out.sentences:
        assert body[s.start : s.end] == s.text


# -- hostile text ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", " ", "   \n\t \n ", "\n\n\n"], ids=repr)
def test_empty_and_whitespace_only(text: str) -> None:
    assert segment(text) == []


def test_no_terminal_punctuation_is_capped_at_whitespace() -> None:
    words = [f"word{i}" for i in range(3000)]
    text = " ".join(words)
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert len(sentences) >= len(text) // MAX_SENTENCE_CHARS
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    # Cut at whitespace: no word is split in two.
    pieces = [w for s in sentences for w in s.text.split()]
    assert pieces == words


def test_no_whitespace_at_all_is_cut_hard() -> None:
    text = "x" * (MAX_SENTENCE_CHARS * 3 + 17)
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)
    assert "".join(s.text for s in sentences) == text


def test_unicode_round_trip() -> None:
    text = (
        "Cafe\u0301 owners in Re\u0301union said no. "
        "مرحبا بالعالم. هذا نص عربي! "
        "The crowd cheered 😀🇸🇾 loudly. "
        "北京市今天下雨。明天晴天。 "
        "Zero\u200bwidth and\u00a0no-break spaces stay. "
        "Ok."
    )
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    for s in sentences:
        # A sentence never starts with a combining mark torn from its base letter.
        assert not unicodedata.combining(s.text[0])
    for fragment in ["Cafe\u0301", "Re\u0301union", "😀🇸🇾", "هذا نص عربي", "北京市今天下雨"]:
        assert len(containing(sentences, fragment)) == 1, fragment


def test_rtl_and_cjk_long_runs_without_punctuation() -> None:
    text = ("نص عربي طويل بدون علامات ترقيم " * 80) + "\n\n" + "中" * 1500
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert all(len(s.text) <= MAX_SENTENCE_CHARS for s in sentences)


def test_segmenter_placeholder_characters_in_input() -> None:
    # pysbd uses private placeholder characters internally; text containing them must still round-trip.
    text = "A ∯ b. Next one ♨ here. ☉ and ȸ and ȹ and &ᓰ& &ᓱ& and ⚐ ☈ ☇. Then."
    sentences = segment(text)
    assert_sentence_map(text, sentences)


def test_crlf_normalized_input() -> None:
    raw = "Title\r\n\r\nThe first line ends here.\r\nThe second line ends here.\r\n\r\nA new paragraph.\r\n"
    text = decode(raw.encode(), "crlf.txt")
    assert "\r" not in text
    doc = parse_plain(text, "crlf.txt")
    sentences = segment(doc.text)
    assert_sentence_map(doc.text, sentences)
    assert [s.text for s in sentences] == [
        "The first line ends here.",
        "The second line ends here.",
        "A new paragraph.",
    ]


def test_raw_crlf_text_still_round_trips_without_carriage_returns_in_sentences() -> None:
    text = "Line one.\r\nLine two.\r\n"
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert [s.text for s in sentences] == ["Line one.", "Line two."]


def test_very_long_text_round_trips() -> None:
    paragraph = (
        "The U.S. envoy said 3.5 million people had fled since Jan. 5, officials reported. "
        "ERBIL, Kurdistan Region — forces on Sunday announced a campaign. "
        "Prices rose w/o warning"
    )
    text = "\n\n".join(f"{paragraph} {i}." for i in range(1300))
    assert len(text) > 200_000
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert len(sentences) == 3 * 1300


def test_long_single_paragraph_is_handed_to_the_segmenter_in_bounded_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def recorder(text: str) -> list[str]:
        seen.append(len(text))
        return [text]

    monkeypatch.setattr(segment_module, "_sentences", recorder)
    text = "The U.S. said 3.5 million people fled. " * 5200  # ~200 KB, no newline
    sentences = segment(text)
    assert_sentence_map(text, sentences)
    assert max(seen) <= 20_000


def _pysbd_itself(paragraph: str) -> list[str]:
    import pysbd

    return list(pysbd.Segmenter(language="en", clean=False).processor(paragraph).process())


def _abbreviation_paragraphs() -> list[str]:
    """Each of pysbd's abbreviations where its rules act: before a capital, a digit, a lower-case
    word, a parenthesis, a colon; as a word's tail; at the start; in upper case and title case."""
    from pysbd.lang.english import English

    contexts = (
        "See {a}. Smith went home. Then he left.",
        "The {a}. of the 5th came. It rained.",
        "{a}. 12 were there. Nobody else.",
        "They met at {a}. (in town) then left. Fine.",
        "In {a}.: 5 items were sold. Next.",
        "A national{a}. Then it ended. Done.",
        "Ask {a}.? No. Ask {a}.- yes. Really {a}., he said.",
        "Both {a}. and {b}. came. Then {b}. Smith left.",
    )
    paragraphs = []
    abbreviations = [a.strip() for a in English.Abbreviation.ABBREVIATIONS]
    for n, abbr in enumerate(abbreviations):
        other = abbreviations[(n * 7 + 3) % len(abbreviations)]
        for variant in (abbr, abbr.upper(), abbr.title()):
            paragraphs += [context.format(a=variant, b=other) for context in contexts]
    return paragraphs


def test_pysbd_is_offered_only_the_abbreviations_a_paragraph_can_hold_and_splits_as_it_would() -> None:
    from pysbd.lang.english import English

    paragraphs = _abbreviation_paragraphs()
    paragraphs += [p for path in SEED_FILES for p in seed_doc(path).text.split("\n") if p.strip()]
    # The characters re.IGNORECASE matches to ASCII letters: with one present, every abbreviation is
    # offered. (pysbd looks for "sgt" when the text holds it, and then finds "\u017fgt" too.)
    folds = {"S": "\u017f", "K": "\u212a", "I": "\u0130", "i": "\u0131"}
    for abbr in English.Abbreviation.ABBREVIATIONS:
        for variant in (abbr.strip(), abbr.strip().upper()):
            for letter, fold in folds.items():
                if letter in variant:
                    paragraphs.append(f"See {variant.replace(letter, fold)}. Smith went home. Then he left.")
    paragraphs += [
        "\u0130stanbul Dr. Ahmet spoke. \u0131t was late.",
        "U.S. troops left. e.g. this. Gen. Mazloum came.",
        "The sgt arrived. See \u017fgt. smith went home.",
        "A kg. The \u212ag. and 5 kg. came.",
    ]
    differ = [p for p in paragraphs if segment_module._sentences(p) != _pysbd_itself(p)]
    assert not differ, differ[:3]
    # And it is narrowed: an abbreviation that is in the text but never before a period is not offered.
    offered = segment_module._narrowed(segment_module.English, "the national guard. dr. smith")
    assert "dr" in offered.Abbreviation.ABBREVIATIONS and "al" not in offered.Abbreviation.ABBREVIATIONS


def test_with_a_character_that_folds_to_ascii_every_abbreviation_is_offered() -> None:
    from pysbd.lang.english import English
    from pysbd.processor import Processor

    class WithFri(English):  # type: ignore[misc]
        class Abbreviation(English.Abbreviation):  # type: ignore[misc]
            ABBREVIATIONS: ClassVar[list[str]] = [*English.Abbreviation.ABBREVIATIONS, "fri"]

    # "İ".lower() is "i" and a combining dot: no word run "fri" before the period, yet pysbd's
    # case-insensitive pattern finds "FRİ" and keeps the period.
    paragraph = "See FR\u0130. smith went home."
    ours = list(segment_module._Processor(paragraph, WithFri, char_span=False).process())
    assert ours == list(Processor(paragraph, WithFri, char_span=False).process()) == [paragraph]
