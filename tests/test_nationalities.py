from store.nationalities import country_of
from store.text import tokenize


def test_a_nationality_word_names_its_country_as_a_term() -> None:
    assert country_of(tokenize("French")[0]) == tokenize("France")[0]
    assert country_of(tokenize("Iranians")[0]) == tokenize("Iran")[0]
    assert country_of(tokenize("Argentine")[0]) == tokenize("Argentina")[0]
    assert country_of(tokenize("Dutch")[0]) == tokenize("Netherlands")[0]


def test_other_words_name_no_country() -> None:
    assert country_of(tokenize("France")[0]) is None
    assert country_of(tokenize("minister")[0]) is None
