"""The one tokenizer, shared by indexing and querying.

Terms are lower-cased, diacritic-free Snowball stems of letter/digit runs, with English stop
words removed. Every term consists only of letters and digits, so SQLite's unicode61 tokenizer
keeps it as exactly one FTS5 token and fts5vocab document counts line up with our terms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import Stemmer

# Dotted acronyms ("U.S.", "e.g.") first, then numbers with thousands separators or a
# decimal point ("2,000", "4.2", not the "1.2" of "1.2.3"), then plain letter/digit runs.
_TOKEN = re.compile(
    r"(?<![^\W_])(?P<acronym>(?:[^\W\d_]\.){2,})"
    r"|(?P<number>(?<![\d,.])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\d,]|\.\d))"
    r"|(?P<word>[^\W_]+)"
)

STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other our ours ourselves out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also s t d ll m re ve don didn doesn isn wasn weren shan
    couldn wouldn shouldn hasn haven hadn did may might must shall us per via yet whose
    whether according said says say tell told much many
    """.split()
)

_stemmer = Stemmer.Stemmer("english")
_stemmer.maxCacheSize = 100_000


@dataclass(frozen=True, slots=True)
class Token:
    term: str
    start: int
    end: int


def _fold(raw: str) -> str:
    if raw.isascii():
        return raw.lower()
    # NFKD first: it turns styled letters (mathematical bold A) into plain ones, which fold.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", raw).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Letters and digits joined by hyphens ("COVID-19", "SARS-CoV-2", "F-16", "2019-nCoV") are
# one term, so such a name is matched whole. Its word parts are terms as well ("covid" still
# finds "COVID-19"); its bare numbers are not: a "19" matched anywhere says nothing about
# COVID-19.
_HYPHENS = "-\u2010\u2011"
_COMPOUND = re.compile(rf"(?<![\w.,'’])[^\W_]+(?:[{_HYPHENS}][^\W_]+)+")
_HYPHEN = re.compile(rf"[{_HYPHENS}]")
_MAX_COMPOUND_PARTS = 4


def _compound_term(raw: str) -> str:
    """The term of a hyphenated name of letters and digits ("COVID-19" -> "covid19"), or ""
    if ``raw`` is not one."""
    parts = _HYPHEN.split(raw)
    if len(parts) > _MAX_COMPOUND_PARTS:
        return ""
    if not any(p.isdigit() for p in parts) or all(p.isdigit() for p in parts):
        return ""
    term = _fold("".join(parts))
    return term if term.isalnum() else ""


def _compounds(text: str) -> dict[int, Token]:
    """The compound terms of ``text``, by where they start."""
    if not _HYPHEN.search(text):
        return {}
    found = {}
    for match in _COMPOUND.finditer(text):
        term = _compound_term(match.group())
        if term:
            found[match.start()] = Token(term, match.start(), match.end())
    return found


def iter_tokens(text: str) -> Iterator[Token]:
    """Terms with their character offsets in ``text`` (for highlighting)."""
    compounds = _compounds(text)
    compound_end = 0
    for match in _TOKEN.finditer(text):
        compound = compounds.get(match.start())
        if compound is not None:
            yield compound
            compound_end = compound.end
        if match.start() < compound_end and match.group().isdigit():
            continue
        kind = match.lastgroup
        raw = match.group()
        if kind == "acronym":
            # "U.S." must not become the stop word "us".
            term = _fold(raw.replace(".", ""))
        elif kind == "number":
            term = _number_term(raw)
        else:
            term = _word_term(raw)
        if term and term.isalnum():
            yield Token(term, match.start(), match.end())


def _number_term(raw: str) -> str:
    """The term of a number: "2,000" -> "2000", and "4.2" -> "4p2" (a term is letters and
    digits, and "42" is another number)."""
    return raw.replace(",", "").replace(".", "p")


# Raw word -> its term ("" for a stop word). News vocabulary repeats a great deal, so most
# words are looked up here instead of being folded, checked and stemmed again.
_TERMS: dict[str, str] = {}
_TERMS_LIMIT = 500_000


# British spellings -> American ones before stemming, so "organised" finds "organized" and
# "centre" finds "center" (the stemmer keeps them apart). Both sides of a search go through
# this, so a word mapped to a non-word ("promise" -> "promize") still matches itself.
_BRITISH_SPELLING = re.compile(
    r"(?<=^\w{4})(?=\w)\w*?(?:is(?=e$|ed$|es$|ing$|ation$|ations$)"
    r"|ys(?=e$|ed$|es$|ing$))|(?<=^\w{3})(?=\w)\w*?our(?=$|s$|ed$|ing$|able$|ite$|ites$|er$|ers$)"
)
_BRITISH_WORDS = {
    "defence": "defense",
    "offence": "offense",
    "licence": "license",
    "pretence": "pretense",
    "programme": "program",
    "programmes": "programs",
    "centre": "center",
    "centres": "centers",
    "theatre": "theater",
    "theatres": "theaters",
    "metre": "meter",
    "metres": "meters",
    "kilometre": "kilometer",
    "kilometres": "kilometers",
    "litre": "liter",
    "litres": "liters",
    "fibre": "fiber",
}


# Irregular past forms -> the verb, which the stemmer cannot do: "who won" finds "wins the
# election", "led by" finds "will lead". Forms that are as often other words ("left",
# "found", "saw", "lay", "rose", "ground") are left alone.
_IRREGULAR = {
    form: verb
    for verb, forms in {
        "win": "won",
        "begin": "began begun",
        "break": "broke broken",
        "bring": "brought",
        "build": "built",
        "buy": "bought",
        "catch": "caught",
        "choose": "chose chosen",
        "draw": "drew drawn",
        "drive": "drove driven",
        "eat": "ate eaten",
        "fall": "fell fallen",
        "feel": "felt",
        "fight": "fought",
        "flee": "fled",
        "fly": "flew flown",
        "freeze": "froze frozen",
        "give": "gave given",
        "go": "went gone",
        "grow": "grew grown",
        "hide": "hid hidden",
        "hold": "held",
        "keep": "kept",
        "know": "knew known",
        "lead": "led",
        "lose": "lost",
        "make": "made",
        "mean": "meant",
        "meet": "met",
        "pay": "paid",
        "run": "ran",
        "seek": "sought",
        "sell": "sold",
        "send": "sent",
        "shake": "shook shaken",
        "shoot": "shot",
        "sing": "sang sung",
        "sink": "sank sunk",
        "sleep": "slept",
        "speak": "spoke spoken",
        "spend": "spent",
        "stand": "stood",
        "steal": "stole stolen",
        "strike": "struck stricken",
        "swear": "swore sworn",
        "swim": "swam swum",
        "take": "took taken",
        "teach": "taught",
        "think": "thought",
        "throw": "threw thrown",
        "understand": "understood",
        "wake": "woke woken",
        "wear": "wore worn",
        "write": "wrote written",
    }.items()
    for form in forms.split()
}


def american_spelling(word: str) -> str:
    """A lower-case word with its British spelling (-ise, -yse, -our, -tre ...) made American."""
    if word in _BRITISH_WORDS:
        return _BRITISH_WORDS[word]
    return _BRITISH_SPELLING.sub(_americanise, word) if len(word) > 5 else word


def _americanise(match: re.Match[str]) -> str:
    part = match.group()
    if part.endswith("our"):
        return part[:-3] + "or"
    return part[:-2] + ("iz" if part.endswith("is") else "yz")


# Stop words that, written so, are names: "US" is the country that "U.S." is, "May" the
# month or Theresa May (the pronoun and the verb are not written so, outside headlines in
# capitals and the rare sentence opening "May we ..."). "WHO" stays a stop word: measured,
# it cost a dev-set question (the WHO's own articles say "WHO" where the answer is not).
_CAPITAL_NAMES = {"US": "us", "May": "may"}


def _word_term(word: str) -> str:
    """The term of a plain word (not an acronym or number): "" for a stop word."""
    if word in _CAPITAL_NAMES:
        return _CAPITAL_NAMES[word]
    term = _fold(word)
    if not term or term in STOP_WORDS:
        return ""
    term = _stemmer.stemWord(american_spelling(_IRREGULAR.get(term, term)))
    return term if term.isalnum() else ""


def _scan(text: str) -> list[str]:
    """The terms of ``text`` by the token pattern (words through the word-term cache)."""
    if _HYPHEN.search(text):  # rare: the slower path that knows compounds
        return [token.term for token in iter_tokens(text)]
    terms: list[str] = []
    append = terms.append
    cache = _TERMS
    for acronym, number, word in _TOKEN.findall(text):
        if word:
            term = cache.get(word)
            if term is None:
                term = _word_term(word)
                if len(cache) < _TERMS_LIMIT:
                    cache[word] = term
            if term:
                append(term)
        elif acronym:
            term = _fold(acronym.replace(".", ""))
            if term.isalnum():
                append(term)
        else:
            append(_number_term(number))
    return terms


# Whitespace-separated chunk ("U.S.,", "2,000", "council's") -> its terms. No token spans
# whitespace, so a text's terms are its chunks' terms in order; looking chunks up here skips
# the token pattern for nearly every word of news text (about 5x faster).
_CHUNKS: dict[str, tuple[str, ...]] = {}
_CHUNKS_LIMIT = 300_000


def tokenize(text: str) -> list[str]:
    """The terms of ``text``; the same as ``iter_tokens`` without offsets, built for speed."""
    terms: list[str] = []
    extend = terms.extend
    cache = _CHUNKS
    for chunk in text.split():
        found = cache.get(chunk)
        if found is None:
            found = tuple(_scan(chunk))
            if len(cache) < _CHUNKS_LIMIT:
                cache[chunk] = found
        if found:
            extend(found)
    return terms


def query_terms(text: str) -> list[str]:
    """Distinct terms of a question, in order of first appearance."""
    return list(dict.fromkeys(tokenize(text)))


_NON_WORD = re.compile(r"[\W_]+")


def normalised_for_hash(text: str) -> str:
    """Text reduced to its words, so whitespace and punctuation changes are not 'new text'."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


@dataclass(frozen=True)
class TopicQuery:
    """A saved search: words (any order), "exact phrases" and -excluded words, as terms."""

    terms: tuple[str, ...]  # every positive term, phrases' terms included
    phrases: tuple[tuple[str, ...], ...]
    excluded: tuple[str, ...]


_PHRASE = re.compile(r'(?:(?<=\s)|^)(-?)(?:"([^"]*)"|“([^”]*)”)')
_EXCLUDED = re.compile(r"(?:^|\s)-(\S+)")


def parse_topic(text: str) -> TopicQuery:
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    for match in _PHRASE.finditer(text):
        words = tuple(tokenize(match.group(2) or match.group(3) or ""))
        if match.group(1):
            excluded += words
        elif words:
            phrases.append(words)
    rest = _PHRASE.sub(" ", text)
    excluded += [t for m in _EXCLUDED.finditer(rest) for t in tokenize(m.group(1))]
    # "the latest on the rail strike (this week)": every alert is the latest, and a
    # subscription has no end date; those words are no topic.
    rest = without_news_word(PERIOD.sub(" ", _LATEST.sub(" ", _EXCLUDED.sub(" ", rest))))
    unique_excluded = tuple(dict.fromkeys(excluded))
    terms = dict.fromkeys([*tokenize(rest), *(t for p in phrases for t in p)])
    return TopicQuery(
        tuple(t for t in terms if t not in unique_excluded), tuple(phrases), unique_excluded
    )


# Words naming a period of days (read by store/periods.py). Capitalised after "the", they
# name a programme or a show ("the Today programme", "The Tonight Show"), not a day.
PERIOD = re.compile(
    r"\b(?:(?!(?<=the )(?-i:[A-Z]))(?:today|tonight|yesterday)"
    r"|(?:this|last|past) (?:week|month))\b",
    re.IGNORECASE,
)

_LATEST = re.compile(
    r"\b(?:latest|newest|most recent|what(?:'|’)?s new|what is new|anything new)\b",
    re.IGNORECASE,
)


# "any news on the strike?", "Iran news": the word asks for news, it is not a word to look
# for in it (lower case only: "Sky News" and "Fox News" are names).
_NEWS = re.compile(r"(?<![\w'’])news\b")


def without_news_word(text: str) -> str:
    """A question or topic without the lower-case word "news", unless nothing else is left."""
    _, rest = take_out(text, _NEWS)
    return rest if tokenize(rest) else text


def asking_for_latest(question: str) -> tuple[bool, str]:
    """Whether a question asks for the latest news ("What's the latest on the strike?"), and
    the question without those words, which say when, not what, to look for. A bare
    "recently" does not count: "the recently elected mayor" asks about the mayor."""
    found, rest = take_out(question, _LATEST)
    return bool(found), rest


def take_out(question: str, pattern: re.Pattern[str]) -> tuple[list[str], str]:
    """The matches of ``pattern`` in a question outside its "quoted phrases" (which are
    taken word for word), and the question with them blanked out."""
    found: list[str] = []

    def blank(match: re.Match[str]) -> str:
        found.append(match.group())
        return " "

    parts, end = [], 0
    for phrase in _PHRASE.finditer(question):
        parts += [pattern.sub(blank, question[end : phrase.start()]), phrase.group()]
        end = phrase.end()
    return found, "".join([*parts, pattern.sub(blank, question[end:])])


@dataclass(frozen=True)
class Phrase:
    text: str  # as the user wrote it, between the quotes
    terms: tuple[str, ...]


def question_phrases(text: str) -> tuple[Phrase, ...]:
    """The "quoted phrases" of a question, each with its terms (phrases of stop words only,
    which say nothing to look for, are left out)."""
    found: dict[tuple[str, ...], Phrase] = {}
    for match in _PHRASE.finditer(text):
        if match.group(1):  # -"..." excludes a phrase from a topic; a question has no use for it
            continue
        raw = (match.group(2) or match.group(3) or "").strip()
        terms = tuple(tokenize(raw))
        if terms and terms not in found:
            found[terms] = Phrase(raw, terms)
    return tuple(found.values())


def contains_phrase(terms: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    first = phrase[0]
    return any(
        terms[i] == first and tuple(terms[i : i + n]) == phrase for i in range(len(terms) - n + 1)
    )
