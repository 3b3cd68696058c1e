"""Topic alerts: subscriptions, matching new articles against them, and the outbox.

Matching runs on the writer connection in one transaction per batch: the outbox rows and the
advanced cursor commit together, so every new article is matched exactly once, even across
crashes and several processes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store.models import ChatSettings, Hit, PendingAlert, Subscription
from store.nationalities import country_of
from store.search import CorpusBM25, Searcher, highlight, idf
from store.text import TopicQuery, contains_phrase, parse_topic

log = logging.getLogger(__name__)


def _forms(term: str) -> tuple[str, ...]:
    """The terms that hold a topic's term: itself, and for a nationality word its country
    too ("French election" is about "France's election"), as questions are answered."""
    country = country_of(term)
    return (term, country) if country else (term,)


def _holds(words: set[str], term: str) -> bool:
    # The word itself first, the usual case: this runs for every topic and passage.
    return term in words or country_of(term) in words


def _with_forms(terms: Iterable[str]) -> set[str]:
    return {form for term in terms for form in _forms(term)}


@dataclass(frozen=True)
class AlertConfig:
    min_coverage: float
    common_word_share: float
    common_word_min_passages: int
    duplicate_similarity: float
    duplicate_window_hours: int
    k1: float
    b: float


@dataclass(frozen=True)
class _Topic:
    id: int
    chat_id: int
    query: str
    parsed: TopicQuery
    kind: str
    after_article_id: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class TopicMatcher:
    """Matches new articles against every active subscription.

    Each topic is indexed only under its *key terms*: its heaviest words, as many as it takes
    that an article without any of them could not reach the coverage threshold. A new
    article then only meets the few topics keyed by one of its words, so matching stays
    cheap with tens of thousands of topics. Document frequencies are cached and refreshed
    when the corpus has grown by a fifth (the weights then hardly move).
    """

    def __init__(self, conn: sqlite3.Connection, config: AlertConfig) -> None:
        self._conn = conn
        self._config = config
        self._version = -1
        self._topics: dict[int, _Topic] = {}
        self._by_key: dict[str, set[int]] = defaultdict(set)
        self._keys: dict[int, tuple[str, ...]] = {}
        self._doc_freqs: dict[str, int] = {}
        self._passages = 0  # corpus size the cached document frequencies belong to

    def _doc_freq(self, term: str) -> int:
        if term not in self._doc_freqs:
            row = self._conn.execute("SELECT df FROM term_stats WHERE term = ?", (term,)).fetchone()
            self._doc_freqs[term] = int(row[0]) if row else 0
        return self._doc_freqs[term]

    def _weight(self, term: str) -> float:
        # A word no passage had yet is as rare as can be.
        return idf(max(self._passages, 1), max(self._doc_freq(term), 1))

    def _key_terms(self, topic: _Topic) -> tuple[str, ...]:
        weighted = sorted(topic.parsed.terms, key=self._weight, reverse=True)
        total = sum(self._weight(t) for t in weighted) or 1.0
        keys: list[str] = []
        rest = total
        for term in weighted:
            keys.append(term)
            rest -= self._weight(term)
            if rest / total < self._config.min_coverage:
                break
        return tuple(keys)

    def _index(self, topic: _Topic) -> None:
        self._topics[topic.id] = topic
        self._keys[topic.id] = self._key_terms(topic)
        for term in _with_forms(self._keys[topic.id]):
            self._by_key[term].add(topic.id)

    def _unindex(self, topic_id: int) -> None:
        for term in _with_forms(self._keys.pop(topic_id, ())):
            self._by_key[term].discard(topic_id)
            if not self._by_key[term]:
                del self._by_key[term]
        self._topics.pop(topic_id, None)

    def _refresh(self, passages: int) -> None:
        rekey = passages > self._passages * 1.2 or self._passages == 0
        if rekey:
            self._doc_freqs.clear()
            self._passages = passages
        (version,) = self._conn.execute(
            "SELECT version FROM subscriptions_version WHERE id = 1"
        ).fetchone()
        if version != self._version:
            # Only new or changed subscriptions are parsed and keyed again.
            current = {
                row[0]: row
                for row in self._conn.execute(
                    "SELECT id, chat_id, query, mode, after_article_id FROM subscriptions"
                    " WHERE paused = 0"
                )
            }
            for topic_id, topic in list(self._topics.items()):
                row = current.get(topic_id)
                if row is None or row[1:] != (
                    topic.chat_id,
                    topic.query,
                    topic.kind,
                    topic.after_article_id,
                ):
                    self._unindex(topic_id)
            for topic_id, row in current.items():
                if topic_id not in self._topics:
                    self._index(_Topic(row[0], row[1], row[2], parse_topic(row[2]), row[3], row[4]))
            self._version = version
        elif rekey:
            for topic in list(self._topics.values()):
                self._unindex(topic.id)
                self._index(topic)

    def match_new(self, limit: int) -> int:
        """Match up to ``limit`` new articles; returns how many articles were looked at."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            matched = self._match_batch(limit)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return matched

    def _match_batch(self, limit: int) -> int:
        (cursor,) = self._conn.execute(
            "SELECT last_article_id FROM alert_cursor WHERE id = 1"
        ).fetchone()
        article_ids = [
            row[0]
            for row in self._conn.execute(
                "SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT ?", (cursor, limit)
            )
        ]
        if not article_ids:
            return 0
        passages, tokens = self._conn.execute(
            "SELECT passages, tokens FROM corpus_stats WHERE id = 1"
        ).fetchone()
        self._refresh(passages)
        if self._topics:
            for article_id in article_ids:
                self._match_article(article_id, tokens / passages if passages else 1.0)
        self._conn.execute(
            "UPDATE alert_cursor SET last_article_id = ? WHERE id = 1", (article_ids[-1],)
        )
        return len(article_ids)

    def _match_article(self, article_id: int, avgdl: float) -> None:
        rows = self._conn.execute(
            "SELECT id, terms FROM passages WHERE article_id = ? ORDER BY position",
            (article_id,),
        ).fetchall()
        if not rows:
            return
        docs = [row[1].split() for row in rows]
        vocabulary = set().union(*docs)
        candidates = [
            self._topics[topic_id]
            for topic_id in {
                t for term in vocabulary & self._by_key.keys() for t in self._by_key[term]
            }
            if self._topics[topic_id].after_article_id < article_id
        ]
        if not candidates:
            return
        needed = _with_forms(t for topic in candidates for t in topic.parsed.terms)
        scorer = CorpusBM25(
            docs, {t: self._weight(t) for t in needed}, avgdl, self._config.k1, self._config.b
        )
        best_by_chat: dict[int, tuple[float, _Topic, int]] = {}
        for topic in sorted(candidates, key=lambda t: t.id):
            found = self._best_passage(topic, docs, vocabulary, scorer)
            if found is None:
                continue
            score, index = found
            current = best_by_chat.get(topic.chat_id)
            if current is None or score > current[0]:
                best_by_chat[topic.chat_id] = (score, topic, index)
        for chat_id, (_, topic, index) in best_by_chat.items():
            status = "duplicate" if self._recent_copy(chat_id, docs[index]) else "pending"
            self._conn.execute(
                "INSERT OR IGNORE INTO outbox (chat_id, subscription_id, topic, article_id,"
                " passage_id, kind, status, created_at, not_before)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                # not_before "": due at once; it only holds a back-off after a failure.
                (
                    chat_id,
                    topic.id,
                    topic.query,
                    article_id,
                    rows[index][0],
                    topic.kind,
                    status,
                    _now(),
                    "",
                ),
            )

    def _best_passage(
        self, topic: _Topic, docs: list[list[str]], vocabulary: set[str], scorer: CorpusBM25
    ) -> tuple[float, int] | None:
        query = topic.parsed
        if any(term in vocabulary for term in query.excluded):
            return None
        weights = {t: self._weight(t) for t in query.terms}
        total = sum(weights.values()) or 1.0
        if (
            sum(w for t, w in weights.items() if _holds(vocabulary, t)) / total
            < self._config.min_coverage
        ):
            return None  # not even the whole article covers enough of the topic
        common = max(
            self._config.common_word_share * self._passages,
            self._config.common_word_min_passages,
        )
        scores = scorer.get_scores(sorted(_with_forms(query.terms)))
        best: tuple[float, int] | None = None
        for index, doc in enumerate(docs):
            present = set(doc)
            matched = [t for t in query.terms if _holds(present, t)]
            if not matched or not all(contains_phrase(doc, p) for p in query.phrases):
                continue
            if sum(weights[t] for t in matched) / total < self._config.min_coverage:
                continue
            if len(query.terms) > 1 and all(self._doc_freq(t) > common for t in matched):
                continue  # common words alone do not make a match
            if best is None or scores[index] > best[0]:
                best = (float(scores[index]), index)
        return best

    def _recent_copy(self, chat_id: int, terms: list[str]) -> bool:
        """Was a near-identical passage alerted to this chat within the window?"""
        since = (
            datetime.now(UTC) - timedelta(hours=self._config.duplicate_window_hours)
        ).isoformat(timespec="seconds")
        words = set(terms)
        for (other,) in self._conn.execute(
            "SELECT p.terms FROM outbox o JOIN passages p ON p.id = o.passage_id"
            " WHERE o.chat_id = ? AND o.created_at >= ? AND o.status != 'duplicate'",
            (chat_id, since),
        ):
            other_words = set(other.split())
            union = words | other_words
            if union and len(words & other_words) / len(union) >= self._config.duplicate_similarity:
                return True
        return False


# ---------------------------------------------------------------- subscriptions


def add_subscription(
    conn: sqlite3.Connection, chat_id: int, user_id: int | None, query: str, mode: str
) -> tuple[Subscription, bool]:
    """(subscription, created); an existing identical topic in the chat is returned as is."""
    existing = conn.execute(
        "SELECT id FROM subscriptions WHERE chat_id = ? AND query = ?", (chat_id, query)
    ).fetchone()
    if existing:
        found = get_subscription(conn, existing[0])
        assert found is not None
        return found, False
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM articles").fetchone()
    cursor = conn.execute(
        "INSERT INTO subscriptions (chat_id, user_id, query, mode, after_article_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (chat_id, user_id, query, mode, last, _now()),
    )
    assert cursor.lastrowid is not None
    created = get_subscription(conn, cursor.lastrowid)
    assert created is not None
    return created, True


_SUBSCRIPTION_COLUMNS = "id, chat_id, user_id, query, mode, paused, created_at"


def get_subscription(conn: sqlite3.Connection, subscription_id: int) -> Subscription | None:
    row = conn.execute(
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?", (subscription_id,)
    ).fetchone()
    return _subscription(row) if row else None


def _subscription(row: tuple[Any, ...]) -> Subscription:
    id_, chat_id, user_id, query, mode, paused, created_at = row
    return Subscription(id_, chat_id, user_id, query, mode, bool(paused), created_at)


def list_subscriptions(conn: sqlite3.Connection, chat_id: int) -> list[Subscription]:
    return [
        _subscription(row)
        for row in conn.execute(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE chat_id = ? ORDER BY id",
            (chat_id,),
        )
    ]


def update_subscription(
    conn: sqlite3.Connection,
    subscription_id: int,
    chat_id: int,
    paused: bool | None = None,
    mode: str | None = None,
) -> Subscription | None:
    conn.execute(
        "UPDATE subscriptions SET paused = coalesce(?, paused), mode = coalesce(?, mode)"
        " WHERE id = ? AND chat_id = ?",
        (None if paused is None else int(paused), mode, subscription_id, chat_id),
    )
    found = get_subscription(conn, subscription_id)
    return found if found is not None and found.chat_id == chat_id else None


def delete_subscription(conn: sqlite3.Connection, subscription_id: int, chat_id: int) -> bool:
    cursor = conn.execute(
        "DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", (subscription_id, chat_id)
    )
    conn.execute(
        "DELETE FROM outbox WHERE subscription_id IS NULL AND chat_id = ? AND status = 'pending'",
        (chat_id,),
    )
    return cursor.rowcount > 0


def pause_chat(conn: sqlite3.Connection, chat_id: int, reason: str) -> None:
    """The chat blocked us: pause its topics and stop what is waiting for it."""
    conn.execute("UPDATE subscriptions SET paused = 1 WHERE chat_id = ?", (chat_id,))
    conn.execute(
        "UPDATE outbox SET status = 'failed', last_error = ? WHERE chat_id = ?"
        " AND status = 'pending'",
        (reason, chat_id),
    )


# ---------------------------------------------------------------- chat settings


def get_chat_settings(conn: sqlite3.Connection, chat_id: int) -> ChatSettings:
    row = conn.execute(
        "SELECT chat_id, timezone, digest_hour, quiet_start, quiet_end, last_digest_on"
        " FROM chat_settings WHERE chat_id = ?",
        (chat_id,),
    ).fetchone()
    return ChatSettings(*row) if row else ChatSettings(chat_id, None, None, None, None, None)


def set_chat_settings(conn: sqlite3.Connection, settings: ChatSettings) -> None:
    conn.execute(
        "INSERT INTO chat_settings (chat_id, timezone, digest_hour, quiet_start, quiet_end,"
        " last_digest_on) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chat_id) DO UPDATE SET"
        " timezone = excluded.timezone, digest_hour = excluded.digest_hour,"
        " quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,"
        " last_digest_on = excluded.last_digest_on",
        (
            settings.chat_id,
            settings.timezone,
            settings.digest_hour,
            settings.quiet_start,
            settings.quiet_end,
            settings.last_digest_on,
        ),
    )


# ---------------------------------------------------------------- outbox


def pending_alerts(
    conn: sqlite3.Connection, searcher: Searcher, now: str, limit: int
) -> list[PendingAlert]:
    """Alerts waiting to be sent and due (not backing off), oldest first."""
    rows = conn.execute(
        "SELECT o.id, o.chat_id, o.topic, o.kind, o.attempts, o.article_id, o.passage_id"
        " FROM outbox o WHERE o.status = 'pending' AND o.not_before <= ?"
        " ORDER BY o.id LIMIT ?",
        (now, limit),
    ).fetchall()
    alerts = []
    for id_, chat_id, topic, kind, attempts, article_id, passage_id in rows:
        hit = _alert_hit(conn, searcher, article_id, passage_id, topic)
        if hit is not None:
            alerts.append(PendingAlert(id_, chat_id, topic, kind, attempts, hit))
    return alerts


def _alert_hit(
    conn: sqlite3.Connection,
    searcher: Searcher,
    article_id: int,
    passage_id: int | None,
    topic: str,
) -> Hit | None:
    row = conn.execute(
        "SELECT substr(a.text, p.start + 1, p.end - p.start) FROM passages p"
        " JOIN articles a ON a.id = p.article_id WHERE p.article_id = ?"
        " ORDER BY p.id = ? DESC, p.position LIMIT 1",
        (article_id, passage_id),
    ).fetchone()
    if row is None:
        return None
    text = str(row[0])
    terms = _with_forms(parse_topic(topic).terms)
    return Hit(
        text=text,
        score=0.0,
        article=searcher.article(article_id),
        highlight=highlight(text, terms),
    )


def mark_sent(conn: sqlite3.Connection, alert_ids: list[int]) -> None:
    conn.executemany(
        "UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?",
        [(_now(), alert_id) for alert_id in alert_ids],
    )


def mark_retry(
    conn: sqlite3.Connection,
    alert_ids: list[int],
    error: str,
    not_before: str,
    max_attempts: int,
    count_attempt: bool,
) -> int:
    """Back off; an alert that has used all its attempts fails. Returns how many failed."""
    failed = 0
    for alert_id in alert_ids:
        conn.execute(
            "UPDATE outbox SET attempts = attempts + ?, last_error = ?, not_before = ?"
            " WHERE id = ?",
            (int(count_attempt), error[:500], not_before, alert_id),
        )
        cursor = conn.execute(
            "UPDATE outbox SET status = 'failed' WHERE id = ? AND attempts >= ?",
            (alert_id, max_attempts),
        )
        failed += cursor.rowcount
    return failed
