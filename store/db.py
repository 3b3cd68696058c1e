"""Connections, pragmas, and the async face of the store.

Like datasette: every write goes through one dedicated writer thread (one connection), reads
go to a small pool of reader threads with a connection each, and the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sqlite_utils

from store.articles import add_article
from store.migrations import migrate
from store.models import (
    AddResult,
    ArticleInput,
    SavedQuery,
    SearchPage,
    SourceSummary,
    Stats,
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
    search: SearchConfig


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

    def close(self) -> None:
        self.conn.close()

    def add_articles(self, articles: Sequence[ArticleInput]) -> list[AddResult]:
        """All of ``articles`` in one transaction: after a crash, all or none are stored."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            results = [
                add_article(
                    self.conn,
                    article,
                    min_words=self.config.min_words,
                    max_words=self.config.max_words,
                    max_text_chars=self.config.max_text_chars,
                )
                for article in articles
            ]
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return results

    def search(self, query: str, limit: int, offset: int = 0) -> SearchPage:
        return self.searcher.search(query, limit, offset)

    def rank(self, query: str, limit: int) -> list[tuple[int, float]]:
        return [(pid, score) for pid, _, score, _ in self.searcher.rank(query, limit)]

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
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.execute(
                "DELETE FROM queries WHERE created_at < ?",
                ((now - timedelta(days=keep_days)).isoformat(timespec="seconds"),),
            )
            cursor = self.conn.execute(
                "INSERT INTO queries (text, chat_id, user_id, created_at) VALUES (?, ?, ?, ?)",
                (text, chat_id, user_id, now.isoformat(timespec="seconds")),
            )
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        assert cursor.lastrowid is not None
        return cursor.lastrowid

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
            # The writer migrates the schema before any reader connects.
            await store._write(lambda s: None)
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

    async def add_articles(self, articles: Sequence[ArticleInput]) -> list[AddResult]:
        return await self._write(lambda s: s.add_articles(articles))

    async def search(self, query: str, limit: int, offset: int = 0) -> SearchPage:
        return await self._read(lambda s: s.search(query, limit, offset))

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

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        # Let queued writes finish: nothing accepted is dropped on shutdown.
        await loop.run_in_executor(None, self._writer_pool.shutdown, True)
        await loop.run_in_executor(None, self._reader_pool.shutdown, True)
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
