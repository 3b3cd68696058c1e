"""Near spellings: which stored word a word no article holds is searched for as."""

from __future__ import annotations

from store.spelling import can_respell, is_english_word, likeliest, near_spellings


def test_near_spellings_are_one_edit_away_keeping_the_first_letter() -> None:
    near = near_spellings("thunburg")
    assert "thunberg" in near  # a letter changed
    assert "thunbrug" in near  # two neighbours swapped
    assert "thunbur" in near and "thunbuurg" in near  # a letter left out, one added
    assert "thunburg" not in near
    assert not any(word[0] != "t" for word in near)  # "hunburg", "athunburg" are not typos
    assert "thnuburg" in near and "hunburg" not in near
    assert near == sorted(near)


def test_only_longer_plain_words_are_respelled() -> None:
    assert can_respell("thunburg", 5) and can_respell("tesk", 4)
    assert not can_respell("tesk", 5)  # four letters: too many real neighbours
    assert not can_respell("covid19", 5) and not can_respell("2019", 1)
    assert not can_respell("zürich", 5)  # only plain letters are edited


def test_the_likeliest_spelling_is_the_most_used_then_the_first_alphabetically() -> None:
    assert likeliest({"thunberg": 12, "thunbert": 1}) == "thunberg"
    assert likeliest({"harrow": 3, "barrow": 3}) == "barrow"
    assert likeliest({}) is None


def test_english_words_are_known_in_any_case_and_typos_are_not() -> None:
    assert is_english_word("annulled") and is_english_word("Scrapped")
    assert not is_english_word("Thunburg") and not is_english_word("strke")
