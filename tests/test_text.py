import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.text import (
    asking_for_latest,
    iter_tokens,
    parse_topic,
    query_terms,
    tokenize,
    without_news_word,
)


def test_stop_words_and_question_words_are_dropped() -> None:
    assert tokenize("What is the name of the bridge?") == ["name", "bridg"]
    assert tokenize("How many people, and how much money?") == ["peopl", "money"]


def test_stemming_makes_inflections_meet() -> None:
    assert tokenize("councils voted")[0] == tokenize("council voting")[0]
    assert tokenize("running")[0] == tokenize("runs")[0]


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("organised", "organized"),
        ("organisation", "organization"),
        ("analysed", "analyzed"),
        ("colours", "colors"),
        ("favourite", "favorite"),
        ("labour", "labor"),
        ("centre", "center"),
        ("kilometres", "kilometers"),
        ("defence", "defense"),
        ("programme", "program"),
    ],
)
def test_british_and_american_spellings_meet(british: str, american: str) -> None:
    assert tokenize(british) == tokenize(american)


def test_words_that_only_look_british_keep_apart() -> None:
    assert tokenize("four hours") != tokenize("for hors")
    assert tokenize("rise") != tokenize("rize")
    assert tokenize("prise") != tokenize("prize")


def test_won_is_a_word_not_a_stop_word() -> None:
    assert tokenize("Who won the election?") == tokenize("win election")


@pytest.mark.parametrize(
    ("past", "verb"), [("won", "wins"), ("led", "leading"), ("built", "build"), ("took", "take")]
)
def test_irregular_past_forms_meet_their_verb(past: str, verb: str) -> None:
    assert tokenize(past) == tokenize(verb)


def test_ambiguous_past_forms_are_left_alone() -> None:
    assert tokenize("left") != tokenize("leave")
    assert tokenize("found") != tokenize("find")


def test_acronyms_numbers_and_diacritics() -> None:
    assert tokenize("U.S. troops") == ["us", "troop"]
    assert tokenize("US troops") == tokenize("U.S. troops")
    assert tokenize("What did the US say?") == ["us"]
    assert tokenize("Tell us, Us and us") == []
    assert tokenize("What did May say in May?") == ["may", "may"]
    assert tokenize("It may rain") == ["rain"]
    assert tokenize("2,000 people") == ["2000", "peopl"]
    assert tokenize("4.2 million, up 0.5%") == ["4p2", "million", "0p5"]
    assert tokenize("1,234.5 tonnes in 2019.") == ["1234p5", "tonn", "2019"]
    assert tokenize("version 1.2.3") == ["version", "1", "2", "3"]
    assert tokenize("Café Müller") == tokenize("cafe muller")


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("COVID-19 deaths", ["covid19", "covid", "death"]),
        ("covid\u201119", ["covid19", "covid"]),  # non-breaking hyphen, lower case
        ("SARS-CoV-2", ["sarscov2", "sar", "cov"]),
        ("an F-16 jet", ["f16", "f", "jet"]),
        ('the "2019-nCoV" label', ["2019ncov", "ncov", "label"]),
    ],
)
def test_hyphenated_names_of_letters_and_digits_stay_whole(text: str, terms: list[str]) -> None:
    assert tokenize(text) == terms


def test_other_hyphenated_words_are_their_parts() -> None:
    assert tokenize("well-known") == tokenize("well known")
    assert tokenize("Boeing 737-800") == tokenize("Boeing 737 800")  # numbers only
    assert tokenize("a 2,000-strong crowd") == ["2000", "strong", "crowd"]
    assert tokenize("U.K.-based") == ["uk", "base"]


def test_a_compound_and_its_part_are_marked_as_one_span() -> None:
    text = "New COVID-19 rules"
    marks = [(t.term, text[t.start : t.end]) for t in iter_tokens(text)]
    assert marks == [("new", "New"), ("covid19", "COVID-19"), ("covid", "COVID"), ("rule", "rules")]


def test_offsets_point_at_the_original_words() -> None:
    text = "The Mayor of Harrow, Ms Okafor, spoke."
    words = [text[t.start : t.end] for t in iter_tokens(text)]
    assert words == ["Mayor", "Harrow", "Ms", "Okafor", "spoke"]


def test_query_terms_are_distinct_in_order() -> None:
    assert query_terms("bridge bridges BRIDGE river") == ["bridg", "river"]


@given(st.text())
def test_every_term_is_one_fts_token(text: str) -> None:
    # Letters and digits only, lower case: unicode61 can neither split nor change it.
    for term in tokenize(text):
        assert term.isalnum()
        assert term == term.lower()


@given(st.text())
def test_fast_tokenize_agrees_with_the_offset_tokenizer(text: str) -> None:
    assert tokenize(text) == [t.term for t in iter_tokens(text)]


def test_asking_for_the_latest_is_told_apart_from_what_is_asked() -> None:
    assert asking_for_latest("What's the latest on the strike?") == (
        True,
        "What's the   on the strike?",
    )
    assert asking_for_latest("Most recent flood news")[0]
    assert not asking_for_latest("Who recently resigned?")[0]
    assert asking_for_latest("Lateston town council") == (False, "Lateston town council")
    assert asking_for_latest('the "latest figures" on jobs') == (
        False,
        'the "latest figures" on jobs',
    )
    assert asking_for_latest('latest "latest figures"') == (True, '  "latest figures"')


def test_the_word_news_asks_for_news_and_is_not_looked_for() -> None:
    assert query_terms(without_news_word("Any news on the rail strike?")) == ["rail", "strike"]
    assert parse_topic("Iran news").terms == ("iran",)
    # A name, a quoted phrase, or the only word: kept.
    assert query_terms(without_news_word("What did Sky News report?")) == ["sky", "news", "report"]
    assert query_terms(without_news_word('cuts at the "news desk"')) == ["cut", "news", "desk"]
    assert query_terms(without_news_word("news")) == ["news"]
    assert parse_topic("newsroom strike").terms == ("newsroom", "strike")
