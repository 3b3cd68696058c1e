"""The excerpt to quote: the run of whole sentences in a passage that best answers a question.

Sentences are scored by the question's terms, each weighted by its corpus idf times how
distinctive it is *within the passage*: the article's own subject ("Stevens", "Supreme
Court") is in most of its sentences and says little about which sentence answers, while the
question's other words ("retired", "nominated") point at the one that does. A sentence that
holds the kind of thing the question asks for (a year for "what year", a number for "how
many") gets a bonus, and so does a run holding the question's focus: the words right after
"which"/"what", naming the kind of thing asked about ("which tick-borne virus").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from store.nationalities import country_of
from store.passages import Span, sentence_spans
from store.text import STOP_WORDS, contains_phrase, tokenize

_YEAR_QUESTION = re.compile(r"\b(what|which) year\b|\bwhen\b|\bwhat date\b", re.IGNORECASE)
_NUMBER_QUESTION = re.compile(
    r"\bhow (many|much|long|old|far|big|large|tall|high|deep)\b|\bwhat (percentage|number|"
    r"proportion|share|age)\b|\bwhat was the (toll|total|score|cost|price)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(
    r"\b(1[6-9]|20)\d\d\b|\b(January|February|March|April|May|June|July|August|"
    r"September|October|November|December)\b"
)
_NUMBER = re.compile(
    r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"dozen|hundred|thousand|million|billion|half|third|quarter)\b",
    re.IGNORECASE,
)
_NAME_QUESTION = re.compile(
    r"^\W*(who|whom|whose|which|where|(in|on|at|from|to|of|for|by) (which|what|whom))\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"(?<=[a-z,;:] )[A-Z][\w'-]+")
_WH_PHRASE = re.compile(r"\b(?:which|what|whose|how many|how much)\s+(.*)", re.IGNORECASE)
# Words that end the noun phrase after "which"/"what": verbs (regular past forms are caught
# by "-ed"), adverbs that come before a verb, and "of" (after a generic head: "type of").
_PHRASE_ENDS = frozenset(
    """put set cut hit let cost spread quit read won began led held built took made gave got
    went came saw found left lost met paid ran sent sold told became brought bought caught
    chose drew drove fell fought fled flew grew hid kept knew sought shot spoke spent stood
    stole struck threw wrote first last also later now then recently finally""".split()
)
_GENERIC_HEADS = frozenset("type kind sort form brand model make variety class".split())


def focus_terms(question: str) -> set[str]:
    """The head of the noun phrase after the first "which", "what", "whose", "how many" or
    "how much" ("virus" in "which tick-borne virus caused ...", "helicopter" in "what type of
    helicopter", "cases" in "how many measles cases"): the kind of thing asked about, which
    the answer is usually named beside."""
    match = _WH_PHRASE.search(question)
    if not match:
        return set()
    head = ""
    words = [w.strip("?,.;:!\"'") for w in match.group(1).split()]
    for i, word in enumerate(words[:6]):
        lower = word.lower()
        if lower == "of" and head.lower() in _GENERIC_HEADS:
            head = ""
            continue
        if (lower in STOP_WORDS or lower in _PHRASE_ENDS or lower.endswith("ed")) and (i > 0):
            break
        head = word
    return set(tokenize(head))


_WORD = re.compile(r"[\w'&.-]+")
_WHO_QUESTION = re.compile(r"^\W*(who|whom|whose)\b", re.IGNORECASE)


def _named_beside(sentence: str, anchors: set[str], asked: set[str]) -> bool:
    """A capitalised word the question does not hold, within three words of an anchor."""
    if not _CAPITALISED.search(sentence):  # no capitalised word past the first: no name
        return False
    words = _WORD.findall(sentence)
    terms = [set(tokenize(word)) for word in words]  # once each, not once per anchor nearby
    for i, own in enumerate(terms):
        if not own & anchors:
            continue
        for j in range(max(1, i - 3), min(len(words), i + 4)):
            if j != i and words[j][:1].isupper() and terms[j] and not terms[j] & asked:
                return True
    return False


def answer_check(question: str) -> Callable[[str], bool] | None:
    """What the answer looks like, when the question says: a year or date, a number, or a
    name the question does not already contain."""
    if _YEAR_QUESTION.search(question):
        return lambda sentence: bool(_YEAR.search(sentence))
    if _NUMBER_QUESTION.search(question):
        return lambda sentence: bool(_NUMBER.search(sentence))
    if _NAME_QUESTION.search(question):
        asked = set(tokenize(question))
        return lambda sentence: any(
            not set(tokenize(name)) <= asked for name in _CAPITALISED.findall(sentence)
        )
    return None


def _related(a: str, b: str) -> bool:
    """Forms of one word the stemmer keeps apart: west/western, analys/analysi, built/build."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 4 or a.isdigit() or b.isdigit():
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(4, shorter - 1)


def _forms_in(vocabulary: AbstractSet[str], terms: Iterable[str]) -> dict[str, frozenset[str]]:
    """For each question term, the words of ``vocabulary`` that are forms of it (itself
    included), found once per text so that each sentence is then one set intersection."""
    by_prefix: dict[str, list[str]] = {}
    for word in vocabulary:
        by_prefix.setdefault(word[:4], []).append(word)
    forms = {}
    for term in terms:
        found = {term} if term in vocabulary else set()
        if len(term) >= 4:
            found.update(w for w in by_prefix.get(term[:4], ()) if _related(term, w))
        forms[term] = frozenset(found)
    return forms


@dataclass(frozen=True)
class Window:
    start: int
    end: int
    score: float
    # The window's sentence that best answers on its own (to mark it), if any matches.
    best_sentence: tuple[int, int] | None = None
    # The article's title holds every word of the question: it is about just what was
    # asked, whatever its sentences score (see best_windows).
    about_subject: bool = False


@dataclass(frozen=True)
class Sentences:
    """An article's sentences with their terms and word counts: what choosing a window needs
    of the text whatever the question, so it can be kept and reused."""

    spans: tuple[Span, ...]
    terms: tuple[frozenset[str], ...]
    words: tuple[int, ...]


def sentences_of(text: str) -> Sentences:
    spans = tuple(sentence_spans(text))
    return Sentences(
        spans,
        tuple(frozenset(tokenize(text[s.start : s.end])) for s in spans),
        tuple(len(text[s.start : s.end].split()) for s in spans),
    )


def opening_window(analysed: Sentences, max_words: int) -> Window | None:
    """An article's first sentences, at most ``max_words`` (at least the first sentence)."""
    if not analysed.spans:
        return None
    last, total = 0, analysed.words[0]
    while last + 1 < len(analysed.spans) and total + analysed.words[last + 1] <= max_words:
        last += 1
        total += analysed.words[last]
    return Window(analysed.spans[0].start, analysed.spans[last].end, 0.0)


def best_windows(
    text: str,
    weights: dict[str, float],
    max_words: int,
    question: str = "",
    count: int = 1,
    title: str = "",
    title_weight: float = 0.1,
    answer_bonus: float = 1.0,
    focus_bonus: float = 1.0,
    analysed: Sentences | None = None,
    named_bonus: float = 0.5,
    phrases: Sequence[tuple[str, ...]] = (),
    position_decay: float = 0.0,
) -> list[Window]:
    """Up to ``count`` non-overlapping runs of consecutive whole sentences of ``text`` (each at
    most ``max_words`` words, or one sentence if a single one is longer) that best answer the
    question, best first. Ties go to the longer window, for context. Without any matching
    sentence: the opening sentences.

    The title's words picked the article; inside it they say little about which sentence
    answers, so they count ``title_weight`` as much. A sentence holding the kind of answer
    asked for gets ``answer_bonus`` times the heaviest word's weight on top, and a run holding
    the question's focus (see :func:`focus_terms`) ``focus_bonus`` times, and ``named_bonus``
    times more where a name the question lacks stands beside that focus word ("*Powassan*
    virus", "*Jeeyapuram* forest"; for "who", beside a question word the title lacks): that
    name is very likely the answer. A run holding more of the question's quoted ``phrases``
    (as terms, in order) comes before any holding fewer. The question's n-th word counts
    ``1 / (1 + position_decay * n)`` as much as its first. ``analysed`` is
    :func:`sentences_of` the text, when the caller keeps it."""
    analysed = analysed or sentences_of(text)
    sentences, words = analysed.spans, analysed.words
    if not sentences:
        return [Window(0, len(text), 0.0)]
    forms = [(t, f) for t, f in _forms_in(frozenset().union(*analysed.terms), weights).items() if f]
    found = [{t for t, f in forms if not f.isdisjoint(terms)} for terms in analysed.terms]
    spread = {t: sum(1 for f in found if t in f) for t in weights}
    in_title = set(tokenize(title))
    # Every word of the question is in the article's title (a country by its people's word
    # too: "Argentine president" names Argentina): the question names the article's subject
    # and asks nothing more of it ("Who is Greta Thunberg?", "Hurricane Dorian"). Its
    # opening sentences, which introduce the subject, answer best.
    titled = in_title | {country for t in in_title if (country := country_of(t))}
    about_subject = bool(forms) and not phrases and set(weights) <= titled
    distinct = {
        t: w * math.log((len(sentences) + 1) / spread[t]) * (title_weight if t in in_title else 1.0)
        if spread[t]
        else 0.0
        for t, w in weights.items()
    }
    if position_decay:
        # A question's first words say what is asked ("Who coaches ...", "Which Hungarian
        # daily first disclosed ..."); its later ones mostly set the scene ("... the side that
        # beat Maroochydore at Cotton Tree"), and the article's opening sentences hold the
        # scene too. So each word counts less the later it comes.
        asked_order = {t: n for n, t in enumerate(dict.fromkeys(tokenize(question)))}
        distinct = {
            t: w / (1 + position_decay * asked_order.get(t, 0)) for t, w in distinct.items()
        }
    check = answer_check(question)
    heaviest = max(distinct.values(), default=0.0)
    bonus = answer_bonus * heaviest
    # Only a sentence holding a question word can earn the answer-kind bonus.
    typed_at = [
        bool(f and check and check(text[s.start : s.end]))
        for s, f in zip(sentences, found, strict=True)
    ]
    focus = focus_terms(question)
    focused = [bool(focus & f) for f in found]
    # Where the answer's name should stand: beside the focus word, or for "who", beside any
    # question word the title does not hold ("University coach *Brad Tronc* said").
    anchors = focus or (set(weights) - in_title if _WHO_QUESTION.match(question) else set())
    if named_bonus and anchors:
        asked = set(tokenize(question))
        named = [
            bool(anchors & f) and _named_beside(text[s.start : s.end], anchors, asked)
            for s, f in zip(sentences, found, strict=True)
        ]
    else:
        named = [False] * len(sentences)
    # Without phrases the inner loop never runs, so nothing is tokenised.
    phrased = [
        {
            k
            for k, phrase in enumerate(phrases)
            if contains_phrase(tokenize(text[s.start : s.end]), phrase)
        }
        for s in sentences
    ]
    # (phrases held, score, words, first, last)
    candidates: list[tuple[int, float, int, int, int]] = []
    alone: list[float] = []  # each sentence's score as a window of its own
    for first in range(len(sentences)):
        covered: set[str] = set()
        matched = 0.0
        total = 0
        typed = has_focus = has_named = False
        held: set[int] = set()
        for last in range(first, len(sentences)):
            total += words[last]
            if total > max_words and last > first:
                break
            new = found[last] - covered
            if new:
                covered |= new
                matched += sum(distinct[t] for t in sorted(new))
            typed = typed or typed_at[last]
            has_focus = has_focus or focused[last]
            has_named = has_named or named[last]
            held |= phrased[last]
            score = (
                matched
                + (bonus if typed else 0.0)
                + (focus_bonus * heaviest if has_focus else 0.0)
                + (named_bonus * heaviest if has_named else 0.0)
            )
            candidates.append((len(held), score, total, first, last))
            if first == last:
                alone.append(score)
    candidates.sort(key=lambda c: (-c[0], -c[1], -c[2], c[3]))
    if about_subject:
        lead = opening_window(analysed, max_words)
        assert lead is not None
        opening = next(c for c in candidates if c[3] == 0 and sentences[c[4]].end == lead.end)
        candidates.remove(opening)
        candidates.insert(0, opening)
    chosen: list[tuple[int, float, int, int, int]] = []
    for candidate in candidates:
        if len(chosen) == count:
            break
        if all(candidate[4] < c[3] or candidate[3] > c[4] for c in chosen):
            chosen.append(candidate)

    def best_sentence(first: int, last: int) -> tuple[int, int] | None:
        best = max(range(first, last + 1), key=lambda i: (alone[i], -i))
        return (sentences[best].start, sentences[best].end) if alone[best] > 0 else None

    return [
        Window(
            sentences[c[3]].start,
            sentences[c[4]].end,
            c[1],
            best_sentence(c[3], c[4]),
            about_subject,
        )
        for c in chosen
    ]
