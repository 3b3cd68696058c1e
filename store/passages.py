"""Article text -> quotable passages: whole sentences, roughly min..max words.

Passages are (start, end) offsets into the stored article text, so every quote is an exact
substring of what was stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"[^\S\n]+")
# Control characters (but newline and tab), zero-width characters and byte-order marks.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]")

# A sentence ends at . ! ? (or …) plus closing quotes/brackets, followed by space and then
# something that can start a sentence.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s+[\"'“‘«(\[]?[A-Z0-9À-ÖØ-Þ])")
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc inc ltd co corp gen gov sen rep col lt sgt capt
    cmdr adm rev hon jan feb mar apr jun jul aug sep sept oct nov dec no fig est approx dept
    univ ave blvd rd
    """.split()
)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def normalise_article_text(text: str) -> str:
    """Paragraphs separated by one blank line, single spaces inside them, no stray controls."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    paragraphs = []
    for block in _PARAGRAPH_BREAK.split(text):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        paragraph = " ".join(line for line in lines if line)
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the period ending at ``end`` belongs to an abbreviation or an initial."""
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:end].rstrip(".")
    if not word:
        return False
    if len(word) == 1 and word.isupper():  # an initial: "John F. Kennedy"
        return True
    if "." in word:  # "U.S." or "e.g."
        return True
    return word.lower() in _ABBREVIATIONS


def _sentences(text: str, start: int, end: int) -> list[Span]:
    spans: list[Span] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        single_period = match.group().rstrip("\"'”’»)]") == "."
        if single_period and _is_abbreviation(text, match.start() + 1):
            continue
        spans.append(Span(begin, stop))
        begin = stop
        while begin < end and text[begin].isspace():
            begin += 1
    if begin < end:
        spans.append(Span(begin, end))
    return spans


def _word_count(text: str, span: Span) -> int:
    return len(text[span.start : span.end].split())


def _split_long(text: str, span: Span, max_words: int) -> list[Span]:
    """Cut an over-long sentence at word boundaries, preferring clause ends."""
    words = [m.span() for m in re.finditer(r"\S+", text[span.start : span.end])]
    pieces: list[Span] = []
    i = 0
    while i < len(words):
        j = min(i + max_words, len(words))
        if j < len(words):
            # Back up to the last clause boundary in the second half of the window.
            for k in range(j, i + max_words // 2, -1):
                if text[span.start + words[k - 1][1] - 1] in ",;:":
                    j = k
                    break
        pieces.append(Span(span.start + words[i][0], span.start + words[j - 1][1]))
        i = j
    return pieces


def _paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each paragraph; blank lines separate them."""
    pos = 0
    for block in _PARAGRAPH_BREAK.split(text):
        start = text.index(block, pos) if block else pos
        pos = start + len(block)
        yield start, pos


def split_passages(text: str, min_words: int, max_words: int) -> list[Span]:
    """Group sentences into passages, preferring to end a passage at a paragraph end."""
    units: list[tuple[Span, bool]] = []  # (sentence, starts a paragraph)
    for block_start, block_end in _paragraphs(text):
        first = True
        for sentence in _sentences(text, block_start, block_end):
            for piece in (
                _split_long(text, sentence, max_words)
                if _word_count(text, sentence) > max_words
                else [sentence]
            ):
                if piece.end > piece.start:
                    units.append((piece, first))
                    first = False

    passages: list[Span] = []
    current: Span | None = None
    current_words = 0
    for unit, new_paragraph in units:
        words = _word_count(text, unit)
        if current is not None:
            too_long = current_words + words > max_words
            if too_long or (new_paragraph and current_words >= min_words):
                passages.append(current)
                current, current_words = None, 0
        if current is None:
            current, current_words = unit, words
        else:
            current, current_words = Span(current.start, unit.end), current_words + words
    if current is not None:
        last_words = current_words
        if passages and last_words < min_words:
            previous = passages[-1]
            if _word_count(text, previous) + last_words <= max_words:
                passages[-1] = Span(previous.start, current.end)
                return passages
        passages.append(current)
    return passages


def sentence_spans(text: str) -> list[Span]:
    """Sentences of any text (paragraph breaks always end a sentence)."""
    spans: list[Span] = []
    for start, end in _paragraphs(text):
        spans.extend(_sentences(text, start, end))
    return spans
