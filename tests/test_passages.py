import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from store.passages import normalise_article_text, sentence_spans, split_passages


def _sentence(i: int, words: int = 12) -> str:
    return " ".join(f"word{i}x{j}" for j in range(words - 1)).capitalize() + f" end{i}."


def test_passages_are_whole_sentences_within_bounds() -> None:
    paragraphs = [" ".join(_sentence(p * 10 + s) for s in range(5)) for p in range(6)]
    text = normalise_article_text("\n\n".join(paragraphs))
    spans = split_passages(text, 40, 120)
    assert len(spans) > 1
    for span in spans:
        passage = text[span.start : span.end]
        assert 40 <= len(passage.split()) <= 120
        assert passage[0].isupper() and passage.endswith(".")


def test_abbreviations_and_initials_do_not_end_sentences() -> None:
    text = "Dr. Smith met John F. Kennedy in the U.S. capital. Then he left."
    sentences = [text[s.start : s.end] for s in sentence_spans(text)]
    assert sentences == ["Dr. Smith met John F. Kennedy in the U.S. capital.", "Then he left."]


def test_a_sentence_without_end_is_cut_between_words() -> None:
    text = " ".join(f"w{i}," if i % 17 == 0 else f"w{i}" for i in range(500))
    spans = split_passages(text, 40, 120)
    assert sum(len(text[s.start : s.end].split()) for s in spans) == 500
    for span in spans:
        assert len(text[span.start : span.end].split()) <= 120
        assert span.start == 0 or text[span.start - 1] == " "
        assert span.end == len(text) or text[span.end] == " "


def test_short_tail_joins_the_previous_passage() -> None:
    text = " ".join(_sentence(i, 10) for i in range(9))  # 90 words, then a short tail
    text += " " + _sentence(99, 8)
    spans = split_passages(text, 40, 120)
    assert len(spans) == 1


def test_normalising_keeps_paragraphs_and_drops_control_characters() -> None:
    raw = "First  line\r\ncontinues here.\x00\n\n\n  Second\tparagraph.  "
    assert normalise_article_text(raw) == "First line continues here.\n\nSecond paragraph."


words = st.text(alphabet="abcdefghij", min_size=1, max_size=12)
sentences = st.lists(words, min_size=1, max_size=40).map(lambda w: " ".join(w).capitalize() + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=8).map(" ".join)


@settings(max_examples=200)
@given(st.lists(paragraphs, min_size=1, max_size=6).map("\n\n".join))
def test_passages_cover_the_text_in_order_and_never_cut_words(text: str) -> None:
    text = normalise_article_text(text)
    spans = split_passages(text, 40, 120)
    covered = " ".join(text[s.start : s.end] for s in spans)
    assert re.sub(r"\s+", " ", covered) == re.sub(r"\s+", " ", text)
    for previous, span in itertools.pairwise(spans):
        assert previous.end <= span.start
    for span in spans:
        assert span.start == 0 or text[span.start - 1].isspace()
        assert span.end == len(text) or text[span.end].isspace()
