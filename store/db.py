"""Connections, pragmas, and the async face of the store.

Like datasette: every write goes through one dedicated writer thread (one connection), reads
go to a small pool of reader threads with a connection each, and the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from store import alerts, feeds, postings
from store.alerts import AlertConfig, TopicMatcher
from store.articles import (
    PreparedArticle,
    add_article,
    prepare_article,
    remove_article,
    update_term_stats,
)
from store.migrations import migrate
from store.models import (
    AddResult,
    ArticleInput,
    ChatSettings,
    Feed,
    PendingAlert,
    SavedQuery,
    SearchPage,
    SourceSummary,
    Stats,
    StoredArticle,
    Subscription,
)
from store.search import SearchConfig, Searcher

T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be opened or used; the message is fit to show a user."""


@dataclass(frozen=True)
class StoreConfig:
    path: str
    busy_timeout_ms: int
    read_threads: int
    min_words: int
    max_words: int
    max_text_chars: int
    index_every_passages: int
    search: SearchConfig
    alerts: AlertConfig


def _connect(config: StoreConfig) -> sqlite_utils.Database:
    path = Path(config.path)
    if not path.parent.exists():
        raise StoreError(f"cannot create database {path}: folder {path.parent} does not exist")
    try:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        conn = sqlite3.connect(
            path,
            isolation_level=None,
            check_same_thread=False,
            timeout=config.busy_timeout_ms / 1000,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(config.busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"cannot open database {path}: {e}") from e
    return sqlite_utils.Database(conn)


class Store:
    """Synchronous store on one connection. Use it from one thread at a time."""

    def __init__(self, config: StoreConfig, *, migrate_schema: bool = True) -> None:
        self.config = config
        self.db = _connect(config)
        self.conn: sqlite3.Connection = self.db.conn
        if migrate_schema:
            try:
                migrate(self.conn)
            except sqlite3.DatabaseError as e:
                self.conn.close()
                raise StoreError(f"{config.path} is not a usable newsbot database: {e}") from e
        self.searcher = Searcher(self.conn, config.search)
        self.matcher = TopicMatcher(self.conn, config.alerts)

    def _transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self.conn)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        self.conn.close()

    def prepare(self, article: ArticleInput) -> PreparedArticle:
        return prepare_article(
            article,
            min_words=self.config.min_words,
            max_words=self.config.max_words,
            max_text_chars=self.config.max_text_chars,
        )

    def add_articles(
        self, articles: Sequence[ArticleInput | PreparedArticle], *, defer_index: bool = False
    ) -> list[AddResult]:
        """All of ``articles`` in one transaction: after a crash, all or none are stored.
        Articles may come prepared already (see :func:`store.articles.prepare_article`).
        Their passages join the search index at once, or with ``defer_index`` (bulk imports)
        once ``index_every_passages`` wait; until then they are scored one by one."""
        prepared = [a if isinstance(a, PreparedArticle) else self.prepare(a) for a in articles]

        def write(conn: sqlite3.Connection) -> list[AddResult]:
            doc_freqs: Counter[str] = Counter()
            results = [add_article(conn, article, doc_freqs) for article in prepared]
            update_term_stats(conn, doc_freqs)
            if not defer_index or postings.pending(conn) >= self.config.index_every_passages:
                postings.index_tail(conn)
            return results

        return self._transaction(write)

    def remove_article(self, urls: Sequence[str]) -> StoredArticle | None:
        """Delete the article stored under one of ``urls`` and everything about it: it is
        never quoted or alerted about again. The article as it was, or None."""
        return self._transaction(lambda c: remove_article(c, urls))

    def index_pending(self) -> int:
        """Add passages not yet in the search index (after a bulk import); returns how many."""
        return self._transaction(postings.index_tail)

    def _snapshot(self, fn: Callable[[], T]) -> T:
        """Run reads in one transaction: a search reads the index in several statements,
        and must not see a segment the writer commits between them."""
        if self.conn.in_transaction:
            return fn()
        self.conn.execute("BEGIN")
        try:
            return fn()
        finally:
            self.conn.execute("COMMIT")

    def search(
        self, query: str, limit: int, offset: int = 0, today: date | None = None
    ) -> SearchPage:
        """``today`` (the asker's) dates "yesterday" and "this week"; by default UTC's."""
        return self._snapshot(lambda: self.searcher.search(query, limit, offset, today))

    def searched_terms(self, query: str) -> dict[str, float]:
        """The terms a question is searched for, with their weights (see store/search.py)."""
        return self._snapshot(lambda: self.searcher.searched_terms(query).weights)

    def rank(self, query: str, limit: int) -> list[tuple[int, float]]:
        return self._snapshot(
            lambda: [(pid, score) for pid, _, score in self.searcher.rank(query, limit)]
        )

    def stats(self) -> Stats:
        articles, sources = self.conn.execute(
            "SELECT count(*), count(DISTINCT source) FROM articles"
        ).fetchone()
        (passages,) = self.conn.execute("SELECT passages FROM corpus_stats WHERE id = 1").fetchone()
        size = sum(
            os.path.getsize(p)
            for p in (self.config.path, self.config.path + "-wal")
            if os.path.exists(p)
        )
        return Stats(articles=articles, passages=passages, sources=sources, database_bytes=size)

    def remember_query(
        self, text: str, chat_id: int | None, user_id: int | None, keep_days: int
    ) -> int:
        now = datetime.now(UTC)

        def write(conn: sqlite3.Connection) -> int:
            conn.execute(
                "DELETE FROM queries WHERE created_at < ?",
                ((now - timedelta(days=keep_days)).isoformat(timespec="seconds"),),
            )
            cursor = conn.execute(
                "INSERT INTO queries (text, chat_id, user_id, created_at) VALUES (?, ?, ?, ?)",
                (text, chat_id, user_id, now.isoformat(timespec="seconds")),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

        return self._transaction(write)

    def saved_query(self, query_id: int) -> SavedQuery | None:
        row = self.conn.execute(
            "SELECT id, text, chat_id, user_id, created_at FROM queries WHERE id = ?",
            (query_id,),
        ).fetchone()
        return SavedQuery(*row) if row else None

    def sources(self, limit: int) -> list[SourceSummary]:
        """Sources with their article counts, the most recently added first."""
        rows = self.conn.execute(
            "SELECT coalesce(source, 'unknown'), max(source_url), count(*), max(ingested_at)"
            " AS last FROM articles GROUP BY coalesce(source, 'unknown')"
            " ORDER BY last DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [SourceSummary(*row) for row in rows]

    # ------------------------------------------------------------ alerts

    def match_new_articles(self, limit: int) -> int:
        return self.matcher.match_new(limit)

    def add_subscription(
        self, chat_id: int, user_id: int | None, query: str, mode: str
    ) -> tuple[Subscription, bool]:
        return self._transaction(
            lambda c: alerts.add_subscription(c, chat_id, user_id, query, mode)
        )

    def subscriptions(self, chat_id: int) -> list[Subscription]:
        return alerts.list_subscriptions(self.conn, chat_id)

    def subscription(self, subscription_id: int) -> Subscription | None:
        return alerts.get_subscription(self.conn, subscription_id)

    def update_subscription(
        self, subscription_id: int, chat_id: int, paused: bool | None, mode: str | None
    ) -> Subscription | None:
        return self._transaction(
            lambda c: alerts.update_subscription(c, subscription_id, chat_id, paused, mode)
        )

    def delete_subscription(self, subscription_id: int, chat_id: int) -> bool:
        return self._transaction(lambda c: alerts.delete_subscription(c, subscription_id, chat_id))

    def chat_settings(self, chat_id: int) -> ChatSettings:
        return alerts.get_chat_settings(self.conn, chat_id)

    def set_chat_settings(self, settings: ChatSettings) -> None:
        self._transaction(lambda c: alerts.set_chat_settings(c, settings))

    def pause_chat(self, chat_id: int, reason: str) -> None:
        self._transaction(lambda c: alerts.pause_chat(c, chat_id, reason))

    def pending_alerts(self, now: str, limit: int) -> list[PendingAlert]:
        return alerts.pending_alerts(self.conn, self.searcher, now, limit)

    def mark_sent(self, alert_ids: list[int]) -> None:
        self._transaction(lambda c: alerts.mark_sent(c, alert_ids))

    def mark_retry(
        self,
        alert_ids: list[int],
        error: str,
        not_before: str,
        max_attempts: int,
        count_attempt: bool,
    ) -> int:
        return self._transaction(
            lambda c: alerts.mark_retry(
                c, alert_ids, error, not_before, max_attempts, count_attempt
            )
        )

    # ------------------------------------------------------------ feeds

    def stored_urls(self, canonical_urls: Sequence[str]) -> set[str]:
        return feeds.stored_urls(self.conn, canonical_urls)

    def add_feed(self, url: str, title: str | None, added_by: int | None) -> tuple[Feed, bool]:
        return self._transaction(lambda c: feeds.add_feed(c, url, title, added_by))

    def feed(self, url_or_id: str | int) -> Feed | None:
        return feeds.get_feed(self.conn, url_or_id)

    def feeds(self) -> list[Feed]:
        return feeds.list_feeds(self.conn)

    def due_feeds(self, now: str) -> list[Feed]:
        return feeds.due_feeds(self.conn, now)

    def remove_feed(self, url_or_id: str | int) -> bool:
        return self._transaction(lambda c: feeds.remove_feed(c, url_or_id))

    def unseen_entries(self, feed_id: int, keys: Sequence[str]) -> list[str]:
        return feeds.unseen_entries(self.conn, feed_id, keys)

    def record_poll(self, feed_id: int, **outcome: Any) -> None:
        self._transaction(lambda c: feeds.record_poll(c, feed_id, **outcome))

    def backup(self, destination: str) -> None:
        """A consistent copy of the live database (SQLite's online backup), safe while the
        bot and other processes keep writing."""
        target = sqlite3.connect(destination)
        try:
            self.conn.backup(target, pages=1024)
        finally:
            target.close()

    def integrity_problems(self) -> list[str]:
        """What PRAGMA integrity_check and the search index's own check report (empty if
        all is well)."""
        problems = [row[0] for row in self.conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
        return problems + postings.problems(self.conn)

    def all_passage_terms(self) -> list[tuple[int, list[str]]]:
        """Every passage's terms (for exhaustive baselines in tests and benchmarks)."""
        return [
            (row[0], row[1].split())
            for row in self.conn.execute("SELECT id, terms FROM passages ORDER BY id")
        ]


class AsyncStore:
    """The store as the service layer sees it: awaitable, never blocking the event loop."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self._reader_pool = ThreadPoolExecutor(
            max(1, config.read_threads), thread_name_prefix="store-reader"
        )
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, config: StoreConfig) -> AsyncStore:
        store = cls(config)
        try:
            # The writer migrates the schema before any reader connects, and indexes what
            # an interrupted bulk import left unindexed.
            await store._write(lambda s: s.index_pending())
        except BaseException:
            await store.close()
            raise
        return store

    def _thread_store(self, migrate_schema: bool) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.config, migrate_schema=migrate_schema)
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    async def _write(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._writer_pool, lambda: fn(self._thread_store(migrate_schema=True))
        )

    async def _read(self, fn: Callable[[Store], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._reader_pool, lambda: fn(self._thread_store(migrate_schema=False))
        )

    async def add_articles(
        self, articles: Sequence[ArticleInput | PreparedArticle], *, defer_index: bool = False
    ) -> list[AddResult]:
        return await self._write(lambda s: s.add_articles(articles, defer_index=defer_index))

    async def remove_article(self, urls: Sequence[str]) -> StoredArticle | None:
        return await self._write(lambda s: s.remove_article(urls))

    async def index_pending(self) -> int:
        return await self._write(lambda s: s.index_pending())

    async def search(
        self, query: str, limit: int, offset: int = 0, today: date | None = None
    ) -> SearchPage:
        return await self._read(lambda s: s.search(query, limit, offset, today))

    async def rank(self, query: str, limit: int) -> list[tuple[int, float]]:
        return await self._read(lambda s: s.rank(query, limit))

    async def stats(self) -> Stats:
        return await self._read(lambda s: s.stats())

    async def remember_query(
        self, text: str, chat_id: int | None, user_id: int | None, keep_days: int
    ) -> int:
        return await self._write(lambda s: s.remember_query(text, chat_id, user_id, keep_days))

    async def saved_query(self, query_id: int) -> SavedQuery | None:
        return await self._read(lambda s: s.saved_query(query_id))

    async def sources(self, limit: int) -> list[SourceSummary]:
        return await self._read(lambda s: s.sources(limit))

    async def match_new_articles(self, limit: int) -> int:
        return await self._write(lambda s: s.match_new_articles(limit))

    async def add_subscription(
        self, chat_id: int, user_id: int | None, query: str, mode: str
    ) -> tuple[Subscription, bool]:
        return await self._write(lambda s: s.add_subscription(chat_id, user_id, query, mode))

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        return await self._read(lambda s: s.subscriptions(chat_id))

    async def subscription(self, subscription_id: int) -> Subscription | None:
        return await self._read(lambda s: s.subscription(subscription_id))

    async def update_subscription(
        self,
        subscription_id: int,
        chat_id: int,
        paused: bool | None = None,
        mode: str | None = None,
    ) -> Subscription | None:
        return await self._write(
            lambda s: s.update_subscription(subscription_id, chat_id, paused, mode)
        )

    async def delete_subscription(self, subscription_id: int, chat_id: int) -> bool:
        return await self._write(lambda s: s.delete_subscription(subscription_id, chat_id))

    async def chat_settings(self, chat_id: int) -> ChatSettings:
        return await self._read(lambda s: s.chat_settings(chat_id))

    async def set_chat_settings(self, settings: ChatSettings) -> None:
        await self._write(lambda s: s.set_chat_settings(settings))

    async def pause_chat(self, chat_id: int, reason: str) -> None:
        await self._write(lambda s: s.pause_chat(chat_id, reason))

    async def pending_alerts(self, now: str, limit: int) -> list[PendingAlert]:
        return await self._read(lambda s: s.pending_alerts(now, limit))

    async def mark_sent(self, alert_ids: list[int]) -> None:
        await self._write(lambda s: s.mark_sent(alert_ids))

    async def mark_retry(
        self,
        alert_ids: list[int],
        error: str,
        not_before: str,
        max_attempts: int,
        count_attempt: bool = True,
    ) -> int:
        return await self._write(
            lambda s: s.mark_retry(alert_ids, error, not_before, max_attempts, count_attempt)
        )

    async def stored_urls(self, canonical_urls: Sequence[str]) -> set[str]:
        return await self._read(lambda s: s.stored_urls(canonical_urls))

    async def add_feed(
        self, url: str, title: str | None, added_by: int | None
    ) -> tuple[Feed, bool]:
        return await self._write(lambda s: s.add_feed(url, title, added_by))

    async def feed(self, url_or_id: str | int) -> Feed | None:
        return await self._read(lambda s: s.feed(url_or_id))

    async def feeds(self) -> list[Feed]:
        return await self._read(lambda s: s.feeds())

    async def due_feeds(self, now: str) -> list[Feed]:
        return await self._read(lambda s: s.due_feeds(now))

    async def remove_feed(self, url_or_id: str | int) -> bool:
        return await self._write(lambda s: s.remove_feed(url_or_id))

    async def unseen_entries(self, feed_id: int, keys: Sequence[str]) -> list[str]:
        return await self._read(lambda s: s.unseen_entries(feed_id, keys))

    async def record_poll(self, feed_id: int, **outcome: Any) -> None:
        await self._write(lambda s: s.record_poll(feed_id, **outcome))

    async def backup(self, destination: str) -> None:
        await self._read(lambda s: s.backup(destination))

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        # Let queued writes finish: nothing accepted is dropped on shutdown.
        await loop.run_in_executor(None, self._writer_pool.shutdown, True)
        await loop.run_in_executor(None, self._reader_pool.shutdown, True)
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
