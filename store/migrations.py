"""Numbered schema steps. Each runs once, in order, inside its own transaction.

A step is SQL, or a function of the connection for data changes SQL cannot express (such as
re-tokenising stored passages when the tokenizer changes).

Never edit a released step: add a new one. ``tests/test_migrations.py`` upgrades a database
made by the first step alone.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from store.postings import index_tail
from store.text import tokenize

M001_ARTICLES_AND_PASSAGES = """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT,
            canonical_url TEXT UNIQUE,
            title TEXT NOT NULL,
            source TEXT,
            source_url TEXT,
            published TEXT,
            ingested_at TEXT NOT NULL,
            content_hash TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL
        );
        -- A passage is a span of its article's text; the text itself is not stored twice.
        -- terms: the indexed terms (title + passage), length: their count.
        CREATE TABLE passages (
            id INTEGER PRIMARY KEY,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            start INTEGER NOT NULL,
            end INTEGER NOT NULL,
            terms TEXT NOT NULL,
            length INTEGER NOT NULL,
            UNIQUE (article_id, position)
        );
        CREATE INDEX articles_source ON articles(source);
"""

M002_SEARCH_INDEX = """
        CREATE VIRTUAL TABLE passages_fts USING fts5(
            terms, content='passages', content_rowid='id',
            tokenize='unicode61 remove_diacritics 0'
        );
        CREATE VIRTUAL TABLE passages_vocab USING fts5vocab(passages_fts, 'row');
        -- Corpus-wide BM25 statistics, kept exact by the triggers below.
        CREATE TABLE corpus_stats (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            passages INTEGER NOT NULL,
            tokens INTEGER NOT NULL
        );
        INSERT INTO corpus_stats (id, passages, tokens)
            SELECT 1, count(*), coalesce(sum(length), 0) FROM passages;
        INSERT INTO passages_fts (passages_fts) VALUES ('rebuild');
        CREATE TRIGGER passages_after_insert AFTER INSERT ON passages BEGIN
            INSERT INTO passages_fts (rowid, terms) VALUES (new.id, new.terms);
            UPDATE corpus_stats
                SET passages = passages + 1, tokens = tokens + new.length WHERE id = 1;
        END;
        CREATE TRIGGER passages_after_delete AFTER DELETE ON passages BEGIN
            INSERT INTO passages_fts (passages_fts, rowid, terms)
                VALUES ('delete', old.id, old.terms);
            UPDATE corpus_stats
                SET passages = passages - 1, tokens = tokens - old.length WHERE id = 1;
        END;
"""

# Questions behind "More" buttons: callback data holds only the id, so a button still works
# after a restart (and an expired one can say so).
M003_QUERIES = """
        CREATE TABLE queries (
            id INTEGER PRIMARY KEY,
            text TEXT NOT NULL,
            chat_id INTEGER,
            user_id INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE INDEX queries_created_at ON queries(created_at);
        CREATE INDEX articles_ingested_at ON articles(ingested_at);
"""

# Topic alerts: subscriptions (saved searches), per-chat delivery settings, and the outbox an
# alert is written to before it is sent.
M004_ALERTS = """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            user_id INTEGER,
            query TEXT NOT NULL,
            mode TEXT NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'digest')),
            paused INTEGER NOT NULL DEFAULT 0,
            -- Only articles stored after the subscription match it.
            after_article_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (chat_id, query)
        );
        CREATE TABLE chat_settings (
            chat_id INTEGER PRIMARY KEY,
            timezone TEXT,
            digest_hour INTEGER,
            quiet_start INTEGER,
            quiet_end INTEGER,
            last_digest_on TEXT
        );
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            chat_id INTEGER NOT NULL,
            subscription_id INTEGER REFERENCES subscriptions(id) ON DELETE SET NULL,
            topic TEXT NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
            passage_id INTEGER REFERENCES passages(id) ON DELETE SET NULL,
            kind TEXT NOT NULL CHECK (kind IN ('instant', 'digest')),
            -- pending, sent, failed, or duplicate (a near-copy of a story already alerted)
            status TEXT NOT NULL DEFAULT 'pending',
            created_at TEXT NOT NULL,
            not_before TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sent_at TEXT,
            UNIQUE (chat_id, article_id)
        );
        CREATE INDEX outbox_due ON outbox(status, not_before);
        CREATE INDEX outbox_chat ON outbox(chat_id, created_at);
        -- The last article matched against subscriptions: new articles are those after it.
        CREATE TABLE alert_cursor (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            last_article_id INTEGER NOT NULL
        );
        INSERT INTO alert_cursor (id, last_article_id)
            SELECT 1, coalesce(max(id), 0) FROM articles;
        -- Bumped on every subscription change, so matchers know to reload.
        CREATE TABLE subscriptions_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO subscriptions_version (id, version) VALUES (1, 0);
        CREATE TRIGGER subscriptions_after_insert AFTER INSERT ON subscriptions BEGIN
            UPDATE subscriptions_version SET version = version + 1 WHERE id = 1;
        END;
        CREATE TRIGGER subscriptions_after_update AFTER UPDATE ON subscriptions BEGIN
            UPDATE subscriptions_version SET version = version + 1 WHERE id = 1;
        END;
        CREATE TRIGGER subscriptions_after_delete AFTER DELETE ON subscriptions BEGIN
            UPDATE subscriptions_version SET version = version + 1 WHERE id = 1;
        END;
"""

# Document frequency per term, for BM25 idf. fts5vocab knows it too, but a lookup there costs
# about a millisecond at 100k passages; this is a plain B-tree. Kept by store/articles.py.
M005_TERM_STATS = """
        CREATE TABLE term_stats (
            term TEXT PRIMARY KEY,
            df INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO term_stats (term, df) SELECT term, doc FROM passages_vocab;
"""

# News feeds: what to poll, when, with what validators; and which entries were already seen.
M006_FEEDS = """
        CREATE TABLE feeds (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            title TEXT,
            added_by INTEGER,
            added_at TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            last_fetched_at TEXT,
            last_new_at TEXT,
            last_error TEXT,
            errors INTEGER NOT NULL DEFAULT 0,
            next_fetch_at TEXT NOT NULL DEFAULT '',
            items INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE feed_entries (
            feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
            entry_key TEXT NOT NULL,
            seen_at TEXT NOT NULL,
            PRIMARY KEY (feed_id, entry_key)
        ) WITHOUT ROWID;
"""


def _retokenise_passages(conn: sqlite3.Connection) -> None:
    """Every passage's terms and length again, from its stored text and the current
    tokenizer, and the corpus statistics that depend on them."""
    articles = conn.execute("SELECT id, title, text FROM articles").fetchall()
    for article_id, title, text in articles:
        title_terms = tokenize(title)
        rows = conn.execute(
            "SELECT id, start, end FROM passages WHERE article_id = ?", (article_id,)
        ).fetchall()
        updates = []
        for passage_id, start, end in rows:
            terms = title_terms + tokenize(text[start:end])
            updates.append((" ".join(terms), len(terms), passage_id))
        conn.executemany("UPDATE passages SET terms = ?, length = ? WHERE id = ?", updates)
    conn.execute(
        "UPDATE corpus_stats SET passages = (SELECT count(*) FROM passages),"
        " tokens = (SELECT coalesce(sum(length), 0) FROM passages) WHERE id = 1"
    )


def m007_retokenise(conn: sqlite3.Connection) -> None:
    """Passage terms from the current tokenizer: "won" is no longer a stop word, and British
    spellings are indexed as American ones ("organised" finds "organized"). Recomputes every
    passage's terms from the stored text, then the search index and its statistics; a
    one-off cost when upgrading (about a minute per 100,000 passages)."""
    _retokenise_passages(conn)
    conn.execute("INSERT INTO passages_fts (passages_fts) VALUES ('rebuild')")
    conn.execute("DELETE FROM term_stats")
    conn.execute("INSERT INTO term_stats (term, df) SELECT term, doc FROM passages_vocab")


M008_POSTINGS = """
        CREATE TABLE index_segments (
            id INTEGER PRIMARY KEY,
            level INTEGER NOT NULL
        );
        -- data: a term's postings in one segment (see store/postings.py for the layout).
        CREATE TABLE postings (
            term TEXT NOT NULL,
            segment_id INTEGER NOT NULL REFERENCES index_segments(id),
            data BLOB NOT NULL
        );
        CREATE INDEX postings_term ON postings(term, segment_id);
        CREATE INDEX postings_segment ON postings(segment_id);
        -- Passages with ids up to this are in segments; newer ones are scored one by one.
        CREATE TABLE index_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            indexed_through INTEGER NOT NULL
        );
        INSERT INTO index_state (id, indexed_through) VALUES (1, 0);
        -- Deleted passages whose postings may still be in segments.
        CREATE TABLE stale_passages (id INTEGER PRIMARY KEY);
        DROP TRIGGER passages_after_insert;
        DROP TRIGGER passages_after_delete;
        DROP TABLE passages_vocab;
        DROP TABLE passages_fts;
        CREATE TRIGGER passages_after_insert AFTER INSERT ON passages BEGIN
            UPDATE corpus_stats
                SET passages = passages + 1, tokens = tokens + new.length WHERE id = 1;
        END;
        CREATE TRIGGER passages_after_delete AFTER DELETE ON passages BEGIN
            INSERT OR IGNORE INTO stale_passages (id) VALUES (old.id);
            UPDATE corpus_stats
                SET passages = passages - 1, tokens = tokens - old.length WHERE id = 1;
        END;
"""


def m008_postings(conn: sqlite3.Connection) -> None:
    """Our own posting lists replace FTS5 (see store/postings.py); stored passages are
    indexed now."""
    for statement in _split_statements(M008_POSTINGS):
        conn.execute(statement)
    index_tail(conn)


def m009_retokenise(conn: sqlite3.Connection) -> None:
    """Passage terms from tokenizer 3 (irregular past forms indexed as their verb: "won"
    finds "win"), then document frequencies and the search index built again."""
    _reindex(conn)


def m010_retokenise(conn: sqlite3.Connection) -> None:
    """Passage terms from tokenizer 4 (hyphenated names of letters and digits, "COVID-19",
    are one term), then document frequencies and the search index built again."""
    _reindex(conn)


def m011_retokenise(conn: sqlite3.Connection) -> None:
    """Passage terms from tokenizer 5 ("US" is the country, as "U.S." is, and "May" the month
    or the name, not stop words), then document frequencies and the search index built
    again."""
    _reindex(conn)


def m012_retokenise(conn: sqlite3.Connection) -> None:
    """Passage terms from tokenizer 6 (decimal numbers are one term: "4.2" is not "4" and
    "2"), then document frequencies and the search index built again."""
    _reindex(conn)


def m013_retokenise(conn: sqlite3.Connection) -> None:
    """Passage terms from tokenizer 7 ("much" and "many" are question words, as in "how
    many", and no longer terms), then document frequencies and the search index built
    again."""
    _reindex(conn)


# "What's the latest?" lists the newest articles: without this it reads every article's row,
# text and all (about a second at 250,000 articles).
M014_ARTICLES_BY_DATE = """
CREATE INDEX articles_by_date ON articles (coalesce(published, ingested_at) DESC, id DESC);
"""


def _reindex(conn: sqlite3.Connection) -> None:
    _retokenise_passages(conn)
    doc_freqs: Counter[str] = Counter()
    for (terms,) in conn.execute("SELECT terms FROM passages"):
        doc_freqs.update(set(terms.split()))
    conn.execute("DELETE FROM term_stats")
    conn.executemany("INSERT INTO term_stats (term, df) VALUES (?, ?)", doc_freqs.items())
    conn.execute("DELETE FROM postings")
    conn.execute("DELETE FROM index_segments")
    conn.execute("DELETE FROM stale_passages")
    conn.execute("UPDATE index_state SET indexed_through = 0 WHERE id = 1")
    index_tail(conn)


Step = str | Callable[[sqlite3.Connection], None]

MIGRATIONS: tuple[tuple[int, str, Step], ...] = (
    (1, "articles and passages", M001_ARTICLES_AND_PASSAGES),
    (2, "search index", M002_SEARCH_INDEX),
    (3, "saved queries", M003_QUERIES),
    (4, "topic alerts", M004_ALERTS),
    (5, "term statistics", M005_TERM_STATS),
    (6, "news feeds", M006_FEEDS),
    (7, "passage terms of tokenizer 2", m007_retokenise),
    (8, "own posting lists instead of FTS5", m008_postings),
    (9, "passage terms of tokenizer 3", m009_retokenise),
    (10, "passage terms of tokenizer 4", m010_retokenise),
    (11, "passage terms of tokenizer 5", m011_retokenise),
    (12, "passage terms of tokenizer 6", m012_retokenise),
    (13, "passage terms of tokenizer 7", m013_retokenise),
    (14, "articles by date, newest first", M014_ARTICLES_BY_DATE),
)

# Steps that re-tokenise every stored passage with the current tokenizer and rebuild the
# index: when several are pending, all but the last would do the same work again (about
# 7 s per 100,000 passages each), so only the last runs; the others are recorded as done.
# (A step between them must not depend on the terms being current; none does.)
_RETOKENISING = frozenset({9, 10, 11, 12, 13})


def applied_versions(conn: sqlite3.Connection) -> set[int]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    return {row[0] for row in conn.execute("SELECT version FROM migrations")}


def migrate(conn: sqlite3.Connection, up_to: int | None = None) -> list[int]:
    """Apply pending steps (all, or up to ``up_to``); returns the versions applied."""
    done = applied_versions(conn)
    pending = [v for v, _, _ in MIGRATIONS if v not in done and (up_to is None or v <= up_to)]
    repeated = [v for v in pending if v in _RETOKENISING][:-1]
    applied = []
    for version, name, step in MIGRATIONS:
        if version not in pending:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have migrated meanwhile.
            if version in applied_versions(conn):
                conn.execute("ROLLBACK")
                continue
            if version in repeated:
                pass  # a later pending step re-tokenises everything anyway
            elif callable(step):
                step(conn)
            else:
                # Statement by statement: executescript() would commit half a step on failure.
                for statement in _split_statements(step):
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def _split_statements(script: str) -> list[str]:
    """Statements of a script, split at the semicolons SQLite says end one (not inside
    strings or trigger bodies)."""
    statements: list[str] = []
    begin = 0
    for end, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[begin : end + 1]):
            statement = script[begin : end + 1].strip()
            begin = end + 1
            if statement.strip(";").strip():
                statements.append(statement)
    if script[begin:].strip():
        statements.append(script[begin:].strip())
    return statements
