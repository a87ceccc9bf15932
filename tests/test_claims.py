"""What a claim asserts (numbers, dates, names) and whether cited evidence supports it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from summarizer.claims import Unsupported, fold, name_phrases, names, numbers, unsupported


def values(items: list[Unsupported], kind: str) -> list[str]:
    return [u.value for u in items if u.kind == kind]


# -- numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5,000", 5000),
        ("5000", 5000),
        ("five thousand", 5000),
        ("twenty-five", 25),
        ("twenty five", 25),
        ("Twenty-Five", 25),
        ("three hundred and twenty-two", 322),
        ("one hundred and one", 101),
        ("seven", 7),
        ("a dozen", 12),
        ("22nd", 22),
        ("the 30th", 30),
        ("1st", 1),
        ("3.5", Decimal("3.5")),
        ("1,234,567", 1234567),
        ("5 million", 5_000_000),
        ("five million", 5_000_000),
        ("ninety-nine", 99),
    ],
)
def test_single_number(text: str, expected: int | Decimal) -> None:
    assert numbers(text) == frozenset({Decimal(expected)})


def test_digit_and_word_forms_are_the_same_number() -> None:
    assert numbers("5,000") == numbers("5000") == numbers("five thousand")
    assert numbers("The jail held 5,000 men.") == numbers("The jail held five thousand men.")


def test_several_numbers_in_one_sentence() -> None:
    text = "Among them are 246 ISIS members, 79 security forces and seven civilians, in 2014 and 2019."
    assert numbers(text) == {Decimal(246), Decimal(79), Decimal(7), Decimal(2014), Decimal(2019)}


@pytest.mark.parametrize("text", ["s4", "see s3", "a1.f2", "[a2.s5]", "word4"])
def test_digits_inside_identifiers_are_not_numbers(text: str) -> None:
    assert numbers(text) == frozenset()


def test_identifier_next_to_a_real_number() -> None:
    assert numbers("s4 says 12 people") == {Decimal(12)}


def test_multi_digit_identifiers_are_not_numbers() -> None:
    assert numbers("see s12 and a1.f12") == frozenset()
    assert numbers("the G20 summit") == frozenset()
    assert unsupported("As s12 says, the prison fell.", "The prison fell.") == []


def test_vague_plurals_are_kept_as_words() -> None:
    assert numbers("hundreds of prisoners") == {"hundreds"}
    assert values(unsupported("Hundreds of prisoners fled.", "Thousands of prisoners fled."), "number") == ["hundreds"]
    assert unsupported("Thousands of prisoners fled.", "Thousands of prisoners fled.") == []


def test_no_numbers() -> None:
    assert numbers("The prison was attacked at night.") == frozenset()


def test_hyphenated_number_word_compounds_are_numbers() -> None:
    assert numbers("a five-day siege") == {Decimal(5)}
    assert numbers("a nine-year-old boy") == {Decimal(9)}
    # The consequence: an invented number in such a compound passes the grounding check.
    assert values(unsupported("A five-day siege ended.", "A three-day siege ended."), "number") == ["5"]


def test_a_hundred_is_one_hundred() -> None:
    assert numbers("a hundred people") == {Decimal(100)}
    assert unsupported("About 100 people fled.", "About a hundred people fled.") == []


# -- names -------------------------------------------------------------------------------------
def test_sentence_initial_common_words_are_not_names() -> None:
    found = names("However, the army said. The prison fell. According to Reuters, it was over. Meanwhile nothing.")
    assert "However" not in found
    assert "The" not in found
    assert "According" not in found
    assert "Meanwhile" not in found
    assert "Reuters" in found


def test_names_after_a_quote_or_bracket_start_a_sentence() -> None:
    found = names('He said: "The attack was over." (In the end, Shami agreed.)')
    assert "The" not in found
    assert "In" not in found
    assert "Shami" in found


def test_honorifics_are_not_names_but_the_person_is() -> None:
    found = names("Mr. Smith met Dr Jones in Baghdad.")
    assert found == ["Smith", "Jones", "Baghdad"]


def test_possessive_is_stripped() -> None:
    assert names("It was Hasaka's largest prison.") == ["Hasaka"]
    assert names("It was Syria’s largest prison.") == ["Syria"]


def test_name_phrases() -> None:
    phrases = name_phrases("The Syrian Observatory for Human Rights said the Syrian Democratic Forces held Hasakah.")
    assert "Syrian Observatory for Human Rights" in phrases
    assert "Syrian Democratic Forces" in phrases
    assert "Hasakah" in phrases
    assert not any(p.startswith("The ") for p in phrases)


def test_fold() -> None:
    assert fold("Kādhimī") == fold("Kadhimi") == "kadhimi"
    assert fold("al-Sina’a") == fold("al-Sina'a") == fold("AL-SINA'A")
    assert fold("al—Sina") == fold("al-Sina")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("O`Brien SAID", "o'brien said"),  # the ASCII fast path
        ("‘Quoted’ O’Brien", "'quoted' o'brien"),
        ("x–y—z‐w‑v", "x-y-z-w-v"),
        ("Straße", "strasse"),
        ("ﬁnance", "finance"),
        ("１２ km", "12 km"),
        ("a\u00a0b", "a b"),
        ("CAFE\u0301 Zoë", "cafe zoe"),
    ],
)
def test_fold_forms(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_cached_results_are_fresh_lists() -> None:
    text = "Shami met Abdi in Hasakah."
    for read in (names, name_phrases, lambda t: unsupported(t, "")):
        first = read(text)
        assert first
        first.clear()
        assert read(text), "a caller's change to a result must not reach the next caller"


# -- unsupported -------------------------------------------------------------------------------
def test_supported_claim_has_no_problems() -> None:
    evidence = "According to SOHR, the death toll from the prison break in Hasaka has reached 322 dead."
    assert unsupported("The death toll in Hasaka reached 322, according to SOHR.", evidence) == []


def test_hallucinated_number() -> None:
    problems = unsupported("Forces killed 12 people.", "Forces killed 11 people.")
    assert problems == [Unsupported("number", "12")]
    assert str(problems[0]) == "number '12'"


def test_number_in_other_form_is_supported() -> None:
    assert unsupported("The jail held five thousand men.", "The jail held 5,000 men.") == []
    assert unsupported("The jail held 5000 men.", "The jail held five thousand men.") == []
    assert unsupported("Reuters said twenty-five died.", "Reuters said 25 died.") == []
    assert unsupported("The toll was three hundred and twenty-two.", "The toll reached 322 dead.") == []
    assert unsupported("Officials said seven civilians died.", "Officials said 7 civilians died.") == []
    assert unsupported("It began on the 22nd.", "It began on 22 January.") == []


def test_sentence_initial_number_word_is_a_number_not_a_name() -> None:
    assert "Seven" not in names("Seven civilians died.")
    assert unsupported("Seven civilians died.", "Among them are 7 civilians.") == []
    assert unsupported("Twenty-five inmates escaped.", "Officials said 25 inmates escaped.") == []


def test_hallucinated_name() -> None:
    problems = unsupported("Ahmed al-Jabouri ordered the raid.", "An official ordered the raid.")
    assert values(problems, "name") == ["Ahmed", "al-Jabouri"]
    assert values(problems, "number") == []


def test_each_unsupported_name_is_reported_once() -> None:
    problems = unsupported("Baghdad said Baghdad would act.", "The capital said it would act.")
    assert problems == [Unsupported("name", "Baghdad")]


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("It began on Jan. 22.", "It began on January 22."),
        ("It began on January 22.", "It began on Jan. 22."),
        ("It ended in Sept. 2019.", "It ended in September 2019."),
        ("They met on Friday.", "They met on Fri."),
        ("They met on Thurs.", "They met on Thursday."),
    ],
)
def test_month_and_weekday_abbreviations_match_full_names(claim: str, evidence: str) -> None:
    assert unsupported(claim, evidence) == []


def test_a_different_month_or_weekday_is_unsupported() -> None:
    assert values(unsupported("It began on February 22.", "It began on January 22."), "name") == ["February"]
    assert values(unsupported("They met on Friday.", "They met on Saturday."), "name") == ["Friday"]


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("Iraq sent troops.", "Iraqi troops were sent."),
        ("Iraqi troops were sent.", "Iraq sent troops."),
        ("Syria is at risk.", "Syrian officials warned."),
        ("Syrians fled the city.", "Syria's army left the city."),
    ],
)
def test_demonyms_and_short_suffixes_are_tolerated(claim: str, evidence: str) -> None:
    assert unsupported(claim, evidence) == []


def test_demonym_tolerance_is_bounded() -> None:
    # "Iran" is not a stem of "Iraqi".
    assert values(unsupported("Iran sent troops.", "Iraqi troops were sent."), "name") == ["Iran"]


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("The al-Sina'a prison was attacked.", "The al-Sina’a prison was attacked."),
        ("The al-Sina’a prison was attacked.", "The al-Sina'a prison was attacked."),
        ("Hasaka's prison was attacked.", "Hasaka’s prison was attacked."),
    ],
)
def test_apostrophe_styles_are_equivalent(claim: str, evidence: str) -> None:
    assert unsupported(claim, evidence) == []


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("Kadhimi gave the order.", "Kādhimī gave the order."),
        ("Kādhimī gave the order.", "Kadhimi gave the order."),
        ("Troops reached Réunion.", "Troops reached Reunion."),
    ],
)
def test_diacritics_are_ignored(claim: str, evidence: str) -> None:
    assert unsupported(claim, evidence) == []


def test_names_match_case_insensitively() -> None:
    assert unsupported("ISIS attacked Hasaka.", "isis attacked HASAKA.") == []


def test_sentence_initial_common_words_do_not_need_support() -> None:
    assert unsupported("However, the prison fell.", "the prison fell") == []
    assert unsupported("Meanwhile the prison fell.", "the prison fell") == []
    assert unsupported("According to officials, the prison fell.", "officials: the prison fell") == []


def test_found_in_points_to_supporting_text() -> None:
    problem = Unsupported("number", "322")
    assert problem.found_in("The toll reached 322 dead.")
    assert not problem.found_in("The toll reached 300 dead.")
    name = Unsupported("name", "Ghweran")
    assert name.found_in("in Hasaka's Ghweran neighborhood")
    assert not name.found_in("in Hasaka's Guweiran neighborhood")
