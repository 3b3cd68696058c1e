"""Topic alerts: subscriptions, matching new articles against them, and the outbox.

Matching runs on the writer connection in one transaction per batch: the outbox rows and the
advanced cursor commit together, so every new article is matched exactly once, even across
crashes and several processes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store.models import ChatSettings, Hit, PendingAlert, Subscription
from store.search import CorpusBM25, Searcher, highlight, idf
from store.text import TopicQuery, contains_phrase, parse_topic

log = logging.getLogger(__name__)


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
    """Matches new articles against every active subscription, through an inverted index
    (term -> topics) rebuilt only when subscriptions change."""

    def __init__(self, conn: sqlite3.Connection, config: AlertConfig) -> None:
        self._conn = conn
        self._config = config
        self._version = -1
        self._by_term: dict[str, list[_Topic]] = {}

    def _refresh(self) -> None:
        (version,) = self._conn.execute(
            "SELECT version FROM subscriptions_version WHERE id = 1"
        ).fetchone()
        if version == self._version:
            return
        by_term: dict[str, list[_Topic]] = defaultdict(list)
        for row in self._conn.execute(
            "SELECT id, chat_id, query, mode, after_article_id FROM subscriptions WHERE paused = 0"
        ):
            topic = _Topic(row[0], row[1], row[2], parse_topic(row[2]), row[3], row[4])
            for term in topic.parsed.terms:
                by_term[term].append(topic)
        self._by_term = dict(by_term)
        self._version = version

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
        self._refresh()
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
        if self._by_term:
            passages, tokens = self._conn.execute(
                "SELECT passages, tokens FROM corpus_stats WHERE id = 1"
            ).fetchone()
            idf_cache: dict[str, float] = {}
            for article_id in article_ids:
                self._match_article(article_id, passages, tokens, idf_cache)
        self._conn.execute(
            "UPDATE alert_cursor SET last_article_id = ? WHERE id = 1", (article_ids[-1],)
        )
        return len(article_ids)

    def _idf(self, term: str, passages: int, cache: dict[str, float]) -> tuple[float, int]:
        if term not in cache:
            row = self._conn.execute(
                "SELECT doc FROM passages_vocab WHERE term = ?", (term,)
            ).fetchone()
            cache[term] = float(row[0]) if row else 0.0
        doc_freq = int(cache[term])
        return (idf(passages, doc_freq) if doc_freq else 0.0), doc_freq

    def _match_article(
        self, article_id: int, passages: int, tokens: int, idf_cache: dict[str, float]
    ) -> int:
        rows = self._conn.execute(
            "SELECT id, terms FROM passages WHERE article_id = ? ORDER BY position",
            (article_id,),
        ).fetchall()
        if not rows:
            return 0
        docs = [row[1].split() for row in rows]
        vocabulary = set().union(*docs)
        candidates = {
            topic.id: topic
            for term in vocabulary & self._by_term.keys()
            for topic in self._by_term[term]
            if topic.after_article_id < article_id
        }
        if not candidates:
            return 0
        needed = {t for topic in candidates.values() for t in topic.parsed.terms}
        weights = {t: self._idf(t, passages, idf_cache) for t in needed}
        scorer = CorpusBM25(
            docs,
            {t: w for t, (w, _) in weights.items()},
            tokens / passages if passages else 1.0,
            self._config.k1,
            self._config.b,
        )
        best_by_chat: dict[int, tuple[float, _Topic, int]] = {}
        for topic in candidates.values():
            found = self._best_passage(topic, docs, vocabulary, weights, passages, scorer)
            if found is None:
                continue
            score, index = found
            current = best_by_chat.get(topic.chat_id)
            if current is None or score > current[0]:
                best_by_chat[topic.chat_id] = (score, topic, index)
        queued = 0
        for chat_id, (_, topic, index) in best_by_chat.items():
            status = "duplicate" if self._recent_copy(chat_id, docs[index]) else "pending"
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO outbox (chat_id, subscription_id, topic, article_id,"
                " passage_id, kind, status, created_at, not_before)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    chat_id,
                    topic.id,
                    topic.query,
                    article_id,
                    rows[index][0],
                    topic.kind,
                    status,
                    _now(),
                    "",  # not_before: due at once; it only holds a back-off after a failure
                ),
            )
            queued += cursor.rowcount if status == "pending" else 0
        return queued

    def _best_passage(
        self,
        topic: _Topic,
        docs: list[list[str]],
        vocabulary: set[str],
        weights: dict[str, tuple[float, int]],
        passages: int,
        scorer: CorpusBM25,
    ) -> tuple[float, int] | None:
        query = topic.parsed
        if any(term in vocabulary for term in query.excluded):
            return None
        total = sum(weights[t][0] for t in query.terms) or 1.0
        scores = scorer.get_scores(list(query.terms))
        best: tuple[float, int] | None = None
        for index, doc in enumerate(docs):
            present = set(doc)
            matched = [t for t in query.terms if t in present]
            if not matched or not all(contains_phrase(doc, p) for p in query.phrases):
                continue
            if sum(weights[t][0] for t in matched) / total < self._config.min_coverage:
                continue
            common = max(
                self._config.common_word_share * passages, self._config.common_word_min_passages
            )
            if len(query.terms) > 1 and all(weights[t][1] > common for t in matched):
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
        "SELECT p.id, substr(a.text, p.start + 1, p.end - p.start) FROM passages p"
        " JOIN articles a ON a.id = p.article_id WHERE p.article_id = ?"
        " ORDER BY p.id = ? DESC, p.position LIMIT 1",
        (article_id, passage_id),
    ).fetchone()
    if row is None:
        return None
    terms = set(parse_topic(topic).terms)
    return Hit(
        passage_id=row[0],
        text=row[1],
        score=0.0,
        article=searcher.article(article_id),
        highlight=highlight(row[1], terms),
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
