"""News feeds: the list, their polling state, and the entries already seen."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from store.models import Feed
from store.queries import select_in

_COLUMNS = (
    "id, url, title, etag, last_modified, last_fetched_at, last_new_at, last_error, errors,"
    " next_fetch_at, items"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_feed(
    conn: sqlite3.Connection, url: str, title: str | None, added_by: int | None
) -> tuple[Feed, bool]:
    """(feed, created): an already listed URL is returned as it is."""
    cursor = conn.execute(
        "INSERT INTO feeds (url, title, added_by, added_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (url) DO NOTHING",
        (url, title, added_by, _now()),
    )
    feed = get_feed(conn, url)
    assert feed is not None
    return feed, cursor.rowcount > 0


def get_feed(conn: sqlite3.Connection, url_or_id: str | int) -> Feed | None:
    column = "id" if isinstance(url_or_id, int) else "url"
    row = conn.execute(f"SELECT {_COLUMNS} FROM feeds WHERE {column} = ?", (url_or_id,)).fetchone()
    return Feed(*row) if row else None


def list_feeds(conn: sqlite3.Connection) -> list[Feed]:
    return [Feed(*row) for row in conn.execute(f"SELECT {_COLUMNS} FROM feeds ORDER BY id")]


def due_feeds(conn: sqlite3.Connection, now: str) -> list[Feed]:
    return [
        Feed(*row)
        for row in conn.execute(
            f"SELECT {_COLUMNS} FROM feeds WHERE next_fetch_at <= ? ORDER BY next_fetch_at",
            (now,),
        )
    ]


def remove_feed(conn: sqlite3.Connection, url_or_id: str | int) -> bool:
    column = "id" if isinstance(url_or_id, int) else "url"
    return conn.execute(f"DELETE FROM feeds WHERE {column} = ?", (url_or_id,)).rowcount > 0


def unseen_entries(conn: sqlite3.Connection, feed_id: int, keys: Sequence[str]) -> list[str]:
    """The keys (guids or links) this feed has not delivered before, in the order given."""
    seen = set(
        select_in(
            conn,
            "SELECT entry_key FROM feed_entries WHERE feed_id = ? AND entry_key IN ({})",
            keys,
            feed_id,
        )
    )
    return [key for key in keys if key not in seen]


def record_poll(
    conn: sqlite3.Connection,
    feed_id: int,
    *,
    next_fetch_at: str,
    title: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    seen: Sequence[str] = (),
    stored: int = 0,
    error: str | None = None,
) -> None:
    """The outcome of one poll: new validators and entries, or an error (counted for back-off)."""
    now = _now()
    conn.executemany(
        "INSERT OR IGNORE INTO feed_entries (feed_id, entry_key, seen_at) VALUES (?, ?, ?)",
        [(feed_id, key, now) for key in seen],
    )
    if error is None:
        conn.execute(
            "UPDATE feeds SET title = coalesce(?, title), etag = coalesce(?, etag),"
            " last_modified = coalesce(?, last_modified), last_fetched_at = ?,"
            " last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END, last_error = NULL,"
            " errors = 0, next_fetch_at = ?, items = items + ? WHERE id = ?",
            (title, etag, last_modified, now, stored, now, next_fetch_at, stored, feed_id),
        )
    else:
        conn.execute(
            "UPDATE feeds SET last_fetched_at = ?, last_error = ?, errors = errors + 1,"
            " next_fetch_at = ? WHERE id = ?",
            (now, error[:500], next_fetch_at, feed_id),
        )


def stored_urls(conn: sqlite3.Connection, canonical_urls: Sequence[str]) -> set[str]:
    """Which of these canonical URLs are stored already."""
    return set(
        select_in(
            conn, "SELECT canonical_url FROM articles WHERE canonical_url IN ({})", canonical_urls
        )
    )
