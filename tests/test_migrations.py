"""An old database (schema step 1 only, no search index) upgrades and keeps its data."""

from __future__ import annotations

import sqlite3

import pytest

from bot.service import store_config
from bot.settings import Settings
from store import migrations, postings
from store.db import Store
from store.migrations import MIGRATIONS, migrate
from store.text import tokenize


def _old_database(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, up_to=1) == [1]
    text = "The old mill by the canal will become a museum. Work starts in spring."
    conn.execute(
        "INSERT INTO articles (id, url, canonical_url, title, source, ingested_at,"
        " content_hash, text) VALUES (1, 'https://old.test/mill', 'https://old.test/mill',"
        " 'Mill to become museum', 'Old Paper', '2020-01-01T00:00:00+00:00', 'h1', ?)",
        (text,),
    )
    terms = tokenize("Mill to become museum") + tokenize(text)
    conn.execute(
        "INSERT INTO passages (article_id, position, start, end, terms, length)"
        " VALUES (1, 0, 0, ?, ?, ?)",
        (len(text), " ".join(terms), len(terms)),
    )
    conn.close()


def test_old_database_is_upgraded_and_searchable(settings: Settings) -> None:
    _old_database(settings.database.path)
    store = Store(store_config(settings))
    versions = [row[0] for row in store.conn.execute("SELECT version FROM migrations")]
    assert versions == [v for v, _, _ in MIGRATIONS]
    hit = store.search("canal museum", 3).hits[0]
    assert hit.article.url == "https://old.test/mill"
    assert hit.text.startswith("The old mill by the canal")
    assert store.stats().passages == 1
    # Step 8 replaced FTS5 by our own index and indexed what was stored.
    assert postings.pending(store.conn) == 0
    assert postings.indexed_through(store.conn) == 1
    tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master")}
    assert "passages_fts" not in tables


def test_passages_from_an_older_tokenizer_are_re_tokenised(settings: Settings) -> None:
    """Step 7 changed the tokenizer ("won" kept, British spellings made American): passages
    stored before it are indexed again, so new questions find them."""
    conn = sqlite3.connect(settings.database.path, isolation_level=None)
    assert migrate(conn, up_to=6) == [1, 2, 3, 4, 5, 6]
    text = "The council organised a vote on the new centre, which the Greens won."
    old_terms = "council organis vote new centr green"  # as tokenizer 1 indexed it
    conn.execute(
        "INSERT INTO articles (id, url, canonical_url, title, source, ingested_at,"
        " content_hash, text) VALUES (1, 'https://old.test/vote', 'https://old.test/vote',"
        " 'Council vote', 'Old Paper', '2020-01-01T00:00:00+00:00', 'h1', ?)",
        (text,),
    )
    conn.execute(
        "INSERT INTO passages (article_id, position, start, end, terms, length)"
        " VALUES (1, 0, 0, ?, ?, 6)",
        (len(text), "council vote " + old_terms),
    )
    conn.execute("INSERT INTO term_stats (term, df) VALUES ('organis', 1)")
    conn.close()

    store = Store(store_config(settings))
    hit = store.search("Who won the vote the council organized on the center?", 3).hits[0]
    assert hit.article.url == "https://old.test/vote"
    assert store.search("organized center won", 3).hits
    terms = {row[0] for row in store.conn.execute("SELECT term FROM term_stats")}
    assert {"win", "organiz", "center"} <= terms
    assert "organis" not in terms
    (length,) = store.conn.execute("SELECT tokens FROM corpus_stats").fetchone()
    assert length == len(tokenize("Council vote") + tokenize(text))


def _stored_by_an_older_tokenizer(
    settings: Settings, up_to: int, title: str, text: str, old_terms: str
) -> None:
    """A database migrated to step ``up_to`` holding one article of one passage, whose
    terms are ``old_terms`` (as that step's tokenizer indexed them), indexed."""
    conn = sqlite3.connect(settings.database.path, isolation_level=None)
    assert migrate(conn, up_to=up_to) == list(range(1, up_to + 1))
    conn.execute(
        "INSERT INTO articles (id, url, canonical_url, title, source, ingested_at,"
        " content_hash, text) VALUES (1, 'https://old.test/a', 'https://old.test/a',"
        " ?, 'Old Paper', '2020-01-01T00:00:00+00:00', 'h1', ?)",
        (title, text),
    )
    conn.execute(
        "INSERT INTO passages (id, article_id, position, start, end, terms, length)"
        " VALUES (1, 1, 0, 0, ?, ?, ?)",
        (len(text), old_terms, len(old_terms.split())),
    )
    conn.executemany(
        "INSERT INTO term_stats (term, df) VALUES (?, 1)", [(t,) for t in set(old_terms.split())]
    )
    postings.index_tail(conn)
    conn.close()


def test_step_9_indexes_irregular_past_forms_as_their_verb(settings: Settings) -> None:
    text = "The Greens won the vote after the mayor led the count."
    # As tokenizer 2 indexed it:
    _stored_by_an_older_tokenizer(
        settings, 8, "Greens take vote", text, "green take vote green won vote mayor led count"
    )
    store = Store(store_config(settings))
    assert store.search("Who will win? Who will lead?", 3).hits[0].article.url == (
        "https://old.test/a"
    )
    stats = dict(store.conn.execute("SELECT term, df FROM term_stats"))
    assert stats["win"] == 1 and "won" not in stats
    assert postings.pending(store.conn) == 0
    assert store.integrity_problems() == []


@pytest.mark.parametrize(
    ("up_to", "title", "text", "old_terms", "question"),
    [
        # Step 10: hyphenated names whole ("COVID-19" was "covid" and "19").
        (
            9,
            "Clinic figures",
            "The clinic reported new COVID-19 cases on Monday.",
            "clinic figur clinic report new covid 19 case monday",
            "COVID-19",
        ),
        # Step 11: "US" in capitals is "U.S." (it was the stop word "us").
        (
            10,
            "Base closes",
            "US troops left the base on Monday.",
            "base close troop left base monday",
            "What did the U.S. do?",
        ),
        # Step 12: decimal numbers whole ("4.2" was "4" and "2").
        (
            11,
            "Bridge cost",
            "The bridge will cost 4.2 million pounds, up from 2 million.",
            "bridg cost bridg cost 4 2 million pound 2 million",
            "4.2",
        ),
    ],
)
def test_a_step_re_tokenises_what_an_older_tokenizer_stored(
    settings: Settings, up_to: int, title: str, text: str, old_terms: str, question: str
) -> None:
    _stored_by_an_older_tokenizer(settings, up_to, title, text, old_terms)
    store = Store(store_config(settings))
    (terms,) = store.conn.execute("SELECT terms FROM passages").fetchone()
    assert terms.split() == tokenize(title) + tokenize(text)
    stats = dict(store.conn.execute("SELECT term, df FROM term_stats"))
    assert stats == dict.fromkeys(terms.split(), 1)
    assert [h.article.url for h in store.search(question, 3).hits] == ["https://old.test/a"]
    assert store.integrity_problems() == []


def test_pending_re_tokenisations_run_once(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    text = "US troops left on Monday after 4.2 hours; many stayed."
    # As tokenizer 2 indexed it, so steps 9 to 13 are all pending:
    _stored_by_an_older_tokenizer(
        settings, 8, "Troops leave", text, "troop leav troop left monday 4 2 hour mani stay"
    )
    runs: list[int] = []
    reindex = migrations._reindex

    def counted(conn: sqlite3.Connection) -> None:
        runs.append(1)
        reindex(conn)

    monkeypatch.setattr(migrations, "_reindex", counted)
    store = Store(store_config(settings))
    assert len(runs) == 1
    assert {v for v, _, _ in migrations.MIGRATIONS} <= migrations.applied_versions(store.conn)
    (terms,) = store.conn.execute("SELECT terms FROM passages").fetchone()
    assert terms.split() == tokenize("Troops leave") + tokenize(text)
    assert store.integrity_problems() == []


def test_migrating_twice_changes_nothing(settings: Settings) -> None:
    Store(store_config(settings)).close()
    store = Store(store_config(settings))
    assert migrate(store.conn) == []


def test_a_failing_step_leaves_no_half_made_schema(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import store.migrations as m

    broken = (*m.MIGRATIONS, (99, "broken", "CREATE TABLE half (x); SELECT nonsense FROM nowhere;"))
    monkeypatch.setattr(m, "MIGRATIONS", broken)
    conn = sqlite3.connect(settings.database.path, isolation_level=None)
    try:
        migrate(conn)
    except sqlite3.OperationalError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the broken step should fail")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half" not in tables
    assert "postings" in tables  # the good steps before it stayed
