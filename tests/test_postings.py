"""The search index (store/postings.py): exact scores however passages arrived, deleted
passages never found, interrupted bulk imports still searchable, damage reported."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from bot.service import store_config
from bot.settings import Settings
from store import postings
from store.db import AsyncStore, Store
from tests.helpers import article
from tests.test_store import CORPUS, _exhaustive

WORDS = "otter heron kingfisher badger vole weasel stoat marten beaver curlew".split()


def _stories(count: int, start: int = 0) -> list:  # type: ignore[type-arg]
    return [
        article(
            url=f"https://n.test/story/{i}",
            title=f"Story {i} about the {WORDS[i % len(WORDS)]}",
            text=f"Volunteers saw a {WORDS[i % len(WORDS)]} near the weir on day {i}. "
            f"The {WORDS[(i * 3) % len(WORDS)]} was counted too, and word{i} was noted.",
        )
        for i in range(start, start + count)
    ]


def _rounded(ranked: list[tuple[int, float]]) -> list[tuple[int, float]]:
    return [(i, round(s, 9)) for i, s in ranked]


def _segment_levels(store: Store) -> list[int]:
    return [row[0] for row in store.conn.execute("SELECT level FROM index_segments ORDER BY id")]


def test_segments_merge_and_scores_stay_exact(settings: Settings) -> None:
    store = Store(store_config(settings))
    for story in _stories(3 * postings.FANOUT):  # one transaction, one segment each
        store.add_articles([story])
    levels = _segment_levels(store)
    assert max(levels) >= 1, "full levels are merged"
    assert levels.count(0) < postings.FANOUT
    for query in ("otter weir", "word7", "heron kingfisher counted", "volunteers day"):
        assert _rounded(store.rank(query, 10)) == _rounded(_exhaustive(store, query, 10)), query


def test_an_updated_article_is_found_by_its_new_words_only(settings: Settings) -> None:
    store = Store(store_config(settings))
    store.add_articles([article(url="https://n.test/ferry", text="The ferry sails at noon.")])
    (old_ids,) = zip(*store.conn.execute("SELECT id FROM passages"), strict=True)
    store.add_articles(
        [article(url="https://n.test/ferry", text="The hovercraft replaces it from May.")]
    )
    new_ids = [row[0] for row in store.conn.execute("SELECT id FROM passages")]
    assert min(new_ids) > max(old_ids), "passage ids are never reused"
    assert store.search("ferry noon", 3).hits == ()
    assert store.search("hovercraft", 3).hits[0].article.url == "https://n.test/ferry"
    # Merging the segment that held the old passage drops its postings for good.
    for story in _stories(postings.FANOUT):
        store.add_articles([story])
    for (data,) in store.conn.execute("SELECT data FROM postings"):
        ids, _, _ = postings.decode(data)
        assert not set(ids.tolist()) & set(old_ids)
    assert store.search("ferry noon", 3).hits == ()


def test_a_bulk_import_is_searchable_before_it_is_indexed(settings: Settings) -> None:
    store = Store(store_config(settings))
    store.add_articles(
        [article(title=t, text=x, url=f"https://n.test/{i}") for i, (t, x) in enumerate(CORPUS)]
    )
    store.add_articles(_stories(6), defer_index=True)
    assert postings.pending(store.conn) > 0
    before = store.rank("otter weir word3", 10)
    assert _rounded(before) == _rounded(_exhaustive(store, "otter weir word3", 10))
    assert store.search("word3", 3).hits[0].article.url == "https://n.test/story/3"
    assert store.index_pending() > 0
    assert postings.pending(store.conn) == 0
    assert _rounded(store.rank("otter weir word3", 10)) == _rounded(before)


def test_a_bulk_import_indexes_in_steps(settings: Settings) -> None:
    store = Store(dataclasses.replace(store_config(settings), index_every_passages=5))
    store.add_articles(_stories(3), defer_index=True)
    assert postings.pending(store.conn) == 3
    store.add_articles(_stories(2, start=3), defer_index=True)
    assert postings.pending(store.conn) == 0
    assert store.rank("word4", 1)[0][0] == postings.indexed_through(store.conn)


def test_a_damaged_index_is_reported(settings: Settings) -> None:
    store = Store(store_config(settings))
    store.add_articles(_stories(2))
    assert store.integrity_problems() == []
    store.conn.execute("UPDATE postings SET data = x'0102' WHERE rowid = 1")
    (problem,) = store.integrity_problems()
    assert problem.startswith("search index: term")


def test_reopening_indexes_what_an_interrupted_import_left(settings: Settings) -> None:
    store = Store(store_config(settings))
    store.add_articles(_stories(4), defer_index=True)
    store.close()

    async def reopen() -> int:
        opened = await AsyncStore.open(store_config(settings))
        try:
            return await opened._read(lambda s: postings.pending(s.conn))
        finally:
            await opened.close()

    assert asyncio.run(reopen()) == 0
    assert Path(settings.database.path).exists()


def test_leaving_common_words_out_keeps_the_leading_passages_exact(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rescored: list[int] = []
    rescore = postings._rescore

    def counting(*args: Any) -> list[tuple[int, float]]:
        rescored.append(1)
        return rescore(*args)

    monkeypatch.setattr(postings, "_rescore", counting)
    config = store_config(settings)
    # Every word in more than 2 passages is a "common" word here.
    pruned = dataclasses.replace(
        config, search=dataclasses.replace(config.search, full_postings=2, rescore_pool=4)
    )
    store = Store(pruned)
    store.add_articles(_stories(300))
    store.add_articles(
        [article(title=t, text=x, url=f"https://n.test/{i}") for i, (t, x) in enumerate(CORPUS)]
    )
    for query in (
        "otter heron weir",
        "badger vole volunteers day",
        "word7 otter weir",
        "kingfisher stoat marten noted",
        "river council",
    ):
        exact_top = pruned.search.exact_top
        ours = store.rank(query, exact_top)
        assert _rounded(ours) == _rounded(_exhaustive(store, query, exact_top)), query
    assert rescored, "common words were left out and added back for the leading passages"


def test_a_search_reads_one_snapshot_while_the_writer_indexes(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer commits a new segment between two of the search's reads: the search must
    not see it (it would name passages beyond the range it scores)."""
    writer = Store(store_config(settings))
    writer.add_articles(_stories(3))
    reader = Store(store_config(settings), migrate_schema=False)
    read_through = postings.indexed_through
    wrote: list[int] = []

    def then_write(conn: Any) -> int:
        through = read_through(conn)
        if not wrote:
            wrote.append(1)
            writer.add_articles(_stories(3, start=3))  # commits a segment right now
        return through

    monkeypatch.setattr(postings, "indexed_through", then_write)
    hits = reader.search("volunteers weir", 10).hits
    assert wrote
    assert {h.article.url for h in hits} == {f"https://n.test/story/{i}" for i in range(3)}
    assert len(reader.search("volunteers weir", 10).hits) == 6  # the next search sees all


def test_a_left_out_word_repeated_back_to_back_counts_each_time(settings: Settings) -> None:
    store = Store(store_config(settings))
    store.add_articles(
        [article(url="https://n.test/echo", text="Weir weir weir, said the otter at the weir.")]
    )
    ((passage_id, terms, length),) = store.conn.execute("SELECT id, terms, length FROM passages")
    bm25 = postings.BM25({"weir": 1.0}, avgdl=float(length), k1=1.5, b=0.75)
    ((_, rescored),) = postings._rescore(store.conn, [(passage_id, 0.5)], ["weir"], bm25)
    tf = terms.split().count("weir")
    assert tf == 4
    assert rescored == pytest.approx(0.5 + bm25.weight("weir", tf, length))
