"""Retrieval: exact corpus-wide BM25 over every passage (store/postings.py), then articles
in the order of their best passage, each quoted by its best sentence window, with per-article
caps and near-duplicates folded together.
"""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from collections import Counter, OrderedDict
from collections.abc import Collection, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from rank_bm25 import BM25Plus

from store import postings
from store.articles import ARTICLE_COLUMNS
from store.excerpts import Sentences, Window, best_windows, opening_window, sentences_of
from store.models import Highlight, Hit, SearchPage, StoredArticle
from store.nationalities import country_of
from store.passages import sentence_spans
from store.periods import Period, asked_period, named_month
from store.queries import select_rows_in
from store.spelling import (
    can_respell,
    is_english_word,
    likeliest,
    near_spellings,
)
from store.text import (
    Phrase,
    asking_for_latest,
    contains_phrase,
    iter_tokens,
    query_terms,
    question_phrases,
    tokenize,
    without_news_word,
)


@dataclass(frozen=True)
class SearchConfig:
    candidates: int
    full_postings: int
    rescore_pool: int
    exact_top: int
    k1: float
    b: float
    max_per_article: int
    near_duplicate_similarity: float
    max_query_chars: int
    excerpt_words: int
    excerpt_title_weight: float
    excerpt_answer_bonus: float
    excerpt_focus_bonus: float
    excerpt_named_bonus: float
    excerpt_position_decay: float
    rerank_articles: int
    rerank_window_weight: float
    rerank_article_weight: float
    phrase_candidates: int
    latest_within: float
    named_month_weight: float
    nationality_weight: float
    copy_containment: float
    copy_similarity: float
    spelling_weight: float
    spelling_min_letters: int
    spelling_max_lookups: int


# What a question asking only for the latest (or for a period) may also say: "the latest
# news", "anything new?", "what happened yesterday?".
_ANY_NEWS = frozenset(tokenize("news story stories headlines happening happened updates new"))


def _today() -> date:
    """Today (UTC), for questions about "yesterday" or "this week"."""
    return datetime.now(UTC).date()


# Articles whose sentences a searcher keeps (a few hundred KB each at most).
_SENTENCES_KEPT = 256


class SearchedTerms(NamedTuple):
    weights: dict[str, float]  # each searched term's weight (its idf, or a share of it)
    doc_freqs: dict[str, int]  # the passages holding each
    respellings: dict[str, str]  # a question term no passage holds -> the term searched for
    avgdl: float


class Ranking(NamedTuple):
    passages: list[tuple[int, int, float]]  # (passage id, article id, score), best first
    searched: SearchedTerms


class CorpusBM25(BM25Plus):  # type: ignore[misc]
    """rank-bm25's scorer over candidates, with idf and avgdl from the whole corpus.

    BM25Plus with delta 0 is Okapi BM25 with idf = log((N + 1) / df), which stays positive:
    Okapi's own idf turns negative for terms in over half the passages, so a one-article
    corpus would answer nothing at all.
    """

    def __init__(
        self,
        candidates: Sequence[list[str]],
        idf: dict[str, float],
        avgdl: float,
        k1: float,
        b: float,
    ) -> None:
        self._corpus_idf = idf
        super().__init__(list(candidates), k1=k1, b=b, delta=0.0)
        self.avgdl = avgdl

    def _initialize(self, corpus: list[list[str]]) -> dict[str, int]:
        # Term counts per candidate with Counter (C speed); candidate document frequencies
        # are not needed because idf comes from the whole corpus.
        self.doc_freqs = [Counter(doc) for doc in corpus]
        self.doc_len = [len(doc) for doc in corpus]
        self.corpus_size = len(corpus)
        return {}

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = dict(self._corpus_idf)


def idf(passages: int, doc_freq: int) -> float:
    return math.log((passages + 1) / doc_freq)


class Searcher:
    """Query side of the store, bound to one (reader) connection."""

    def __init__(self, conn: sqlite3.Connection, config: SearchConfig) -> None:
        self._conn = conn
        self._config = config
        self._sentences: OrderedDict[str, Sentences] = OrderedDict()

    def _corpus(self) -> tuple[int, float]:
        passages, tokens = self._conn.execute(
            "SELECT passages, tokens FROM corpus_stats WHERE id = 1"
        ).fetchone()
        return passages, (tokens / passages if passages else 0.0)

    def _doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Passages containing each term, for the terms in the corpus at all."""
        found: dict[str, int] = {}
        for term in terms:
            row = self._conn.execute("SELECT df FROM term_stats WHERE term = ?", (term,)).fetchone()
            if row is not None:
                found[term] = int(row[0])
        return found

    def _respellings(self, query: str, found: Collection[str]) -> dict[str, tuple[str, int]]:
        """For each word of the question that no stored passage holds (nor, for a nationality
        word, its country) and no English dictionary knows, the likeliest stored term one
        letter away from its term, if any, with the passages holding it."""
        respelled: dict[str, tuple[str, int]] = {}
        looked_up: set[str] = set()
        for token in iter_tokens(query):
            term = token.term
            if (
                term in found
                or term in looked_up
                or country_of(term) in found
                or not can_respell(term, self._config.spelling_min_letters)
                or is_english_word(query[token.start : token.end])
            ):
                continue
            if len(looked_up) == self._config.spelling_max_lookups:
                break
            looked_up.add(term)
            near = dict(
                select_rows_in(
                    self._conn,
                    "SELECT term, df FROM term_stats WHERE term IN ({})",
                    near_spellings(term),
                )
            )
            if (best := likeliest(near)) is not None:
                respelled[term] = (best, near[best])
        return respelled

    def rank(self, query: str, limit: int) -> list[tuple[int, int, float]]:
        """(passage id, article id, score), best first, before any collapsing."""
        return self._rank(query, limit).passages

    def searched_terms(self, query: str) -> SearchedTerms:
        """The terms a question is searched for, with their weights: its own terms that
        stored passages hold, the countries of its nationality words and the likeliest
        spellings of words no passage holds."""
        query = query[: self._config.max_query_chars]
        terms = query_terms(query)
        passages, avgdl = self._corpus()
        if not terms or passages == 0:
            return SearchedTerms({}, {}, {}, avgdl)
        doc_freqs = self._doc_freqs(terms)
        weights = {t: idf(passages, n) for t, n in doc_freqs.items()}
        config = self._config
        # "the French minister" is also "the minister of France": a nationality word brings
        # its country into the search, at a share of its weight (the word itself, where
        # stored, still counts in full).
        countries = sorted({c for t in terms if (c := country_of(t)) and c not in weights})
        for country, freq in self._doc_freqs(countries).items():
            doc_freqs[country] = freq
            weights[country] = config.nationality_weight * idf(passages, freq)
        # A word no stored article holds is most likely misspelled ("Thunburg"): its
        # likeliest near spelling is searched for instead, at a share of its weight.
        respellings = self._respellings(query, doc_freqs)
        for respelled, freq in respellings.values():
            doc_freqs[respelled] = freq
            weights[respelled] = max(
                weights.get(respelled, 0.0), config.spelling_weight * idf(passages, freq)
            )
        return SearchedTerms(weights, doc_freqs, {t: r for t, (r, _) in respellings.items()}, avgdl)

    def _rank(self, query: str, limit: int) -> Ranking:
        searched = self.searched_terms(query)
        if not searched.weights:
            return Ranking([], searched)
        config = self._config
        # A few more than asked: some may be passages deleted since they were indexed.
        best = postings.score(
            self._conn,
            postings.BM25(searched.weights, searched.avgdl, config.k1, config.b),
            searched.doc_freqs,
            limit + 16,
            postings.Pruning(config.full_postings, config.rescore_pool, config.exact_top),
        )
        article_of = dict(
            select_rows_in(
                self._conn,
                "SELECT id, article_id FROM passages WHERE id IN ({})",
                [pid for pid, _ in best],
            )
        )
        ranked = [(pid, article_of[pid], score) for pid, score in best if pid in article_of]
        return Ranking(ranked[:limit], searched)

    def search(
        self, query: str, limit: int, offset: int = 0, today: date | None = None
    ) -> SearchPage:
        """The best excerpts for a question: articles in the order of their best passage,
        and from each the sentence window(s) that best answer it (see store/excerpts.py).
        A question naming a period ("yesterday") is answered from that period's articles;
        if none matches, from any day's, as if the period were words like any others."""
        query = query[: self._config.max_query_chars]
        period, rest = asked_period(query, today or _today())
        if period is None:
            return self._search(query, query, limit, offset, None)
        page = self._search(query, rest, limit, offset, period)
        if page.hits or page.newest:
            return page
        anyday = self._search(query, query, limit, offset, None)
        return dataclasses.replace(anyday, period=period.words, outside_period=True)

    def _search(
        self, asked: str, query: str, limit: int, offset: int, period: Period | None
    ) -> SearchPage:
        latest, query = asking_for_latest(query)
        terms = query_terms(query)
        if (latest or period) and set(terms) <= _ANY_NEWS:
            return self._newest(asked, tuple(terms), limit, offset, period)
        # "Any news on the strike?": news is what is asked for, not a word to look for.
        query = without_news_word(query)
        terms = query_terms(query)
        phrases = question_phrases(query)
        month = named_month(query)
        wanted = offset + limit + 1  # one more than the page tells whether there is more
        pool = max(self._config.candidates, 3 * max(wanted, self._config.rerank_articles))
        if phrases or period:
            pool = max(pool, self._config.phrase_candidates)
        ranked, searched = self._rank(query, pool)
        weights, respellings = searched.weights, searched.respellings
        missing: tuple[str, ...] = ()
        if phrases:
            ranked, missing = self._holding_phrases(ranked, phrases)
        dated = self._dates(list({article_id for _, article_id, _ in ranked}))
        if period is not None:
            ranked = [r for r in ranked if period.holds(dated.get(r[1], ""))]
        best_score: dict[int, float] = {}
        all_scores: dict[int, float] = {}  # an article's evidence: its ranked passages' sum
        for _, article_id, score in ranked:
            best_score.setdefault(article_id, score)
            all_scores[article_id] = all_scores.get(article_id, 0.0) + score
        kept: list[dict[str, Any]] = []
        analysed_of: dict[int, Sentences] = {}  # the articles quoted so far, as analysed

        def windows_of(article_id: int) -> tuple[str, list[Window]]:
            title, text, analysed = self._article_sentences(article_id)
            analysed_of[article_id] = analysed
            return text, best_windows(
                text,
                weights,
                self._config.excerpt_words,
                query,
                count=self._config.max_per_article,
                title=title,
                title_weight=self._config.excerpt_title_weight,
                answer_bonus=self._config.excerpt_answer_bonus,
                focus_bonus=self._config.excerpt_focus_bonus,
                named_bonus=self._config.excerpt_named_bonus,
                analysed=analysed,
                phrases=[p.terms for p in phrases if p.text not in missing],
                position_decay=self._config.excerpt_position_decay,
            )

        # Equal scores: the newer article first (a mild preference for recent news: it only
        # ever breaks ties). Sorting is stable, so the date order survives among equals.
        order = sorted(best_score.items(), key=lambda item: dated.get(item[0], ""), reverse=True)
        order.sort(key=lambda item: -item[1])
        # The leading articles are re-ordered by how well their best window answers, and by
        # all the evidence they hold: a near-copy that repeats the question's words but lacks
        # the answer (or a brief that holds a part of the story) falls behind the article
        # that has it.
        head = [
            (a, sc, *windows_of(a)) for a, sc in order[: max(wanted, self._config.rerank_articles)]
        ]
        if head:
            top_score = max(h[1] for h in head) or 1.0
            top_window = max(h[3][0].score for h in head) or 1.0
            top_all = max(all_scores[h[0]] for h in head) or 1.0
            window_weight = self._config.rerank_window_weight
            article_weight = self._config.rerank_article_weight
            combined = {
                h[0]: h[1] / top_score
                # An article whose title holds the whole question is about just that: its
                # sentences repeat the subject everywhere, so they score low on their own.
                + window_weight * (1.0 if h[3][0].about_subject else h[3][0].score / top_window)
                + article_weight * all_scores[h[0]] / top_all
                for h in head
            }
            _behind_fuller_copies(
                combined,
                {h[0]: {t for t in analysed_of[h[0]].terms if t} for h in head},
                set(weights),
                self._config.copy_containment,
                self._config.copy_similarity,
            )
            if month is not None:
                # "in September 2019": the stories of that month come before follow-ups
                # and earlier reports on the same subject that match as well.
                for h in head:
                    if month.holds(dated.get(h[0], "")):
                        combined[h[0]] += self._config.named_month_weight
            head.sort(key=lambda h: -combined[h[0]])
            if latest:
                # Among the articles nearly as good as the best, the newest first.
                floor = self._config.latest_within * combined[head[0][0]]
                close = [h for h in head if combined[h[0]] >= floor]
                close.sort(key=lambda h: dated.get(h[0], ""), reverse=True)
                head = close + [h for h in head if combined[h[0]] < floor]

        def ranked_articles() -> Iterator[tuple[int, float, str, list[Window]]]:
            yield from head
            for article_id, score in order[len(head) :]:
                yield (article_id, score, *windows_of(article_id))

        for article_id, score, text, windows in ranked_articles():
            if len(kept) >= wanted:
                break
            for window in windows:
                excerpt = text[window.start : window.end]
                words = set(tokenize(excerpt))
                duplicate_of = next(
                    (
                        k
                        for k in kept
                        if k["article_id"] != article_id
                        and _jaccard(k["words"], words) >= self._config.near_duplicate_similarity
                    ),
                    None,
                )
                if duplicate_of is not None:
                    if article_id not in duplicate_of["also"]:
                        duplicate_of["also"].append(article_id)
                    break
                kept.append(
                    {
                        "article_id": article_id,
                        "score": score,
                        "text": excerpt,
                        "answer": _relative(window.best_sentence, window.start),
                        "words": words,
                        "also": [],
                    }
                )
        page = kept[offset : offset + limit]
        hits = tuple(self._hit(item, set(weights)) for item in page)
        return SearchPage(
            query=asked,
            terms=tuple(terms),
            hits=hits,
            has_more=len(kept) > offset + limit,
            missing_phrases=missing,
            missing_words=(_missing_words(query, weights, phrases, missing, month) if hits else ()),
            respelled=_respelled_words(query, respellings, hits),
            period=period.words if period else "",
        )

    def _newest(
        self, asked: str, terms: tuple[str, ...], limit: int, offset: int, period: Period | None
    ) -> SearchPage:
        """The newest stored articles (by publication date, or when stored if undated), of
        the period if one is asked about, each quoted from its start: the answer to "What's
        the latest?" and "What happened yesterday?"."""
        # Without a period, every date: ISO dates sort between "" and "~".
        since, until = (period.since.isoformat(), period.until.isoformat()) if period else ("", "~")
        rows = self._conn.execute(
            "SELECT id FROM articles"
            " WHERE coalesce(published, ingested_at) >= ? AND coalesce(published, ingested_at) < ?"
            " ORDER BY coalesce(published, ingested_at) DESC, id DESC LIMIT ? OFFSET ?",
            (since, until, limit + 1, offset),
        ).fetchall()
        hits = []
        for (article_id,) in rows[:limit]:
            _, text, analysed = self._article_sentences(article_id)
            window = opening_window(analysed, self._config.excerpt_words)
            excerpt = text[window.start : window.end] if window else text
            item = {"article_id": article_id, "score": 0.0, "text": excerpt, "also": []}
            hits.append(self._hit(item, set()))
        return SearchPage(
            query=asked,
            terms=terms,
            hits=tuple(hits),
            has_more=len(rows) > limit,
            newest=True,
            period=period.words if period else "",
        )

    def _dates(self, article_ids: list[int]) -> dict[int, str]:
        """When each article was published (or, undated, stored), as ISO text."""
        return dict(
            select_rows_in(
                self._conn,
                "SELECT id, coalesce(published, ingested_at) FROM articles WHERE id IN ({})",
                article_ids,
            )
        )

    def _holding_phrases(
        self, ranked: list[tuple[int, int, float]], phrases: Sequence[Phrase]
    ) -> tuple[list[tuple[int, int, float]], tuple[str, ...]]:
        """The ranked passages that hold the most of the quoted phrases word for word (all of
        them, usually), and the phrases no ranked passage holds. Where no passage holds any,
        the ranking stays as it is: the closest matches, with the phrases said missing."""
        terms_of = {
            pid: terms.split()
            for pid, terms in select_rows_in(
                self._conn,
                "SELECT id, terms FROM passages WHERE id IN ({})",
                [pid for pid, _, _ in ranked],
            )
        }
        held = {
            pid: {p.text for p in phrases if contains_phrase(terms, p.terms)}
            for pid, terms in terms_of.items()
        }
        missing = tuple(p.text for p in phrases if not any(p.text in h for h in held.values()))
        most = max((len(h) for h in held.values()), default=0)
        if most:
            ranked = [r for r in ranked if len(held.get(r[0], ())) == most]
        return ranked, missing

    def _article_sentences(self, article_id: int) -> tuple[str, str, Sentences]:
        """Title, text and sentences of an article; the sentences of recently quoted articles
        are kept (by content hash, so an edited article is analysed afresh): "More" and
        questions about the day's big story quote the same articles again."""
        title, text, digest = self._conn.execute(
            "SELECT title, text, content_hash FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        analysed = self._sentences.pop(digest, None) or sentences_of(text)
        self._sentences[digest] = analysed
        if len(self._sentences) > _SENTENCES_KEPT:
            self._sentences.popitem(last=False)
        return str(title), str(text), analysed

    def article(self, article_id: int) -> StoredArticle:
        row = self._conn.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        return StoredArticle(*row)

    def _hit(self, item: dict[str, Any], terms: set[str]) -> Hit:
        return Hit(
            text=item["text"],
            score=item["score"],
            article=self.article(item["article_id"]),
            highlight=highlight(item["text"], terms, item.get("answer")),
            also_reported_by=tuple(self.article(a) for a in item["also"]),
        )


def _respelled_words(
    query: str, respellings: dict[str, str], hits: Sequence[Hit]
) -> tuple[tuple[str, str], ...]:
    """(the word as typed, the word searched for instead as the quotes spell it), for each
    respelled word that one of the quotes holds (the others changed nothing shown)."""
    if not respellings or not hits:
        return ()
    stored: dict[str, str] = {}
    wanted = set(respellings.values())
    for hit in hits:
        for token in iter_tokens(hit.text):
            if token.term in wanted:
                stored.setdefault(token.term, hit.text[token.start : token.end])
    pairs = {
        query[token.start : token.end]: stored[respellings[token.term]]
        for token in iter_tokens(query)
        if token.term in respellings and respellings[token.term] in stored
    }
    return tuple(pairs.items())


def _missing_words(
    query: str,
    found: dict[str, float],
    phrases: Sequence[Phrase],
    missing: tuple[str, ...],
    month: Period | None,
) -> tuple[str, ...]:
    """The question's words, as typed, whose terms no stored passage holds, leaving out the
    words of quoted phrases already said to be missing, and those of a named month ("in
    September 2019"), which publication dates answer."""
    said = {t for p in phrases if p.text in missing for t in p.terms}
    if month is not None:
        said.update(tokenize(month.words))
    words: list[str] = []
    listed_end = 0  # a compound's word parts ("COVID" of "COVID-19") are not listed again
    for token in iter_tokens(query):
        if (
            token.term in found
            or country_of(token.term) in found  # "French", found as "France"
            or token.term in said
            or token.start < listed_end
        ):
            continue
        words.append(query[token.start : token.end])
        listed_end = token.end
    return tuple(dict.fromkeys(words))


def _behind_fuller_copies(
    combined: dict[int, float],
    sentences: dict[int, set[frozenset[str]]],
    asked: set[str],
    containment: float,
    similarity: float,
) -> None:
    """Move each article whose sentences (at least ``containment`` of them) are in a longer
    one right behind it: a trimmed copy or an earlier version says nothing the fuller
    report does not, and may lack the answer. Sentences are compared by their terms, so
    spacing and punctuation do not matter, and a sentence counts as in the fuller report
    when one of its sentences shares ``similarity`` of their terms (Jaccard): syndicated
    copies are lightly edited ("on Monday" for "yesterday", the agency's own name). An
    article holding a question term (of ``asked``) or a figure that the longer one lacks
    says something more, and keeps its place."""
    vocabulary = {a: frozenset().union(*own) for a, own in sentences.items()}
    for copy, own in sentences.items():
        for fuller, theirs in sentences.items():
            if (
                copy != fuller
                and own
                and len(theirs) > len(own)
                and combined[copy] >= combined[fuller]
                and not _says_more(vocabulary[copy] - vocabulary[fuller], asked)
                and _mostly_in(own, theirs, vocabulary[fuller], containment, similarity)
            ):
                combined[copy] = math.nextafter(combined[fuller], -math.inf)


def _says_more(extra: AbstractSet[str], asked: AbstractSet[str]) -> bool:
    """Whether an article's terms that a longer one lacks (``extra``) tell something more:
    a question term, or a figure (an update's new death toll is no copy of the old report)."""
    return bool(extra & asked) or any(any(c.isdigit() for c in term) for term in extra)


def _mostly_in(
    own: set[frozenset[str]],
    theirs: set[frozenset[str]],
    vocabulary: frozenset[str],
    share: float,
    similarity: float,
) -> bool:
    """Whether at least ``share`` of ``own`` sentences are in ``theirs`` (whose terms are
    ``vocabulary``): the same terms, or at least ``similarity`` of them in common (Jaccard)."""
    same = own & theirs
    needed = share * len(own) - len(same)
    if needed <= 0:
        return True
    if similarity >= 1.0:
        return False
    # A sentence with less than ``similarity`` of its terms anywhere in the other article
    # cannot be like any of its sentences: most pairs of articles end here.
    near = [s for s in own - same if len(s & vocabulary) >= similarity * len(s)]
    if len(near) < needed:
        return False
    others = [t for t in theirs if t not in same]
    for sentence in near:
        if any(_jaccard(sentence, other) >= similarity for other in others):
            needed -= 1
            if needed <= 0:
                return True
    return False


def _relative(span: tuple[int, int] | None, offset: int) -> tuple[int, int] | None:
    return None if span is None else (span[0] - offset, span[1] - offset)


def _jaccard(a: AbstractSet[str], b: AbstractSet[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def highlight(text: str, terms: set[str], sentence: tuple[int, int] | None = None) -> Highlight:
    """Matched terms, and ``sentence`` or else the sentence(s) carrying the most distinct
    matched terms."""
    matches = [t for t in iter_tokens(text) if t.term in terms]
    term_spans: list[tuple[int, int]] = []
    # A compound ("COVID-19") and its word part ("COVID") overlap: one span for both.
    for start, end in sorted((t.start, t.end) for t in matches):
        if term_spans and start < term_spans[-1][1]:
            term_spans[-1] = (term_spans[-1][0], max(end, term_spans[-1][1]))
        else:
            term_spans.append((start, end))
    if sentence is not None:
        return Highlight(sentences=(sentence,), terms=tuple(term_spans))
    best: list[tuple[int, int, int]] = []  # (distinct matches, start, end)
    for span in sentence_spans(text):
        matched = {t.term for t in matches if span.start <= t.start < span.end}
        if matched:
            best.append((len(matched), span.start, span.end))
    top = max((b[0] for b in best), default=0)
    sentences = tuple((s, e) for n, s, e in best if n == top)[:2]
    return Highlight(sentences=sentences, terms=tuple(term_spans))
