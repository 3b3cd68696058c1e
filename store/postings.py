"""The search index: per-term posting lists in SQLite blobs, scored exhaustively with numpy.

Why not FTS5: its `ORDER BY rank` costs about 1.5 µs per matching row, so questions with
common words needed a candidate budget that cost exactness (and still 40 ms at 100,000
passages). Here a term's postings are arrays that numpy decodes and scores at a few
nanoseconds each, so every passage holding any of the question's words is scored with
exact corpus-wide BM25: no candidates, no approximation.

Layout: passages are indexed in *segments*. A segment holds, for each term, one row whose
blob is three little-endian arrays over the same passages: ids (uint32), lengths (uint16,
the passage's term count) and term counts (uint8). Passages with ids up to
``index_state.indexed_through`` are in segments; newer ones (the *tail*, only non-empty
while a bulk import runs) are scored from their stored terms. Segments of one level are
merged into one of the next level ``FANOUT`` at a time, so a term has a few rows at most and
each posting is rewritten only a few times as the corpus grows.

A passage deleted (its article re-stored with new text) is listed in ``stale_passages`` by a
trigger; its postings are skipped at query time (the hit must exist in ``passages``) and
dropped at the next merge of its segment. Passage ids are never reused (see
:func:`next_passage_id`), so a stale posting can never be taken for a new passage.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from store.queries import select_rows_in

FANOUT = 8
_ID = np.dtype("<u4")
_LENGTH = np.dtype("<u2")
_COUNT = np.dtype("u1")
_BYTES_PER_POSTING = _ID.itemsize + _LENGTH.itemsize + _COUNT.itemsize

Postings = tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint16], npt.NDArray[np.uint8]]


def decode(blob: bytes) -> Postings:
    if len(blob) % _BYTES_PER_POSTING:
        raise ValueError(f"posting blob of {len(blob)} bytes is not whole postings")
    n = len(blob) // _BYTES_PER_POSTING
    ids = np.frombuffer(blob, dtype=_ID, count=n)
    lengths = np.frombuffer(blob, dtype=_LENGTH, count=n, offset=4 * n)
    counts = np.frombuffer(blob, dtype=_COUNT, count=n, offset=6 * n)
    return ids, lengths, counts


def _encode(ids: npt.NDArray[Any], lengths: npt.NDArray[Any], counts: npt.NDArray[Any]) -> bytes:
    """The stored form :func:`decode` reads: the three arrays (already of the ``_ID``,
    ``_LENGTH`` and ``_COUNT`` types) one after another."""
    return ids.tobytes() + lengths.tobytes() + counts.tobytes()


def _best_first(item: tuple[int, float]) -> tuple[float, int]:
    """Sort key of (passage id, score): higher scores first, ties to the newer passage."""
    return (-item[1], -item[0])


def indexed_through(conn: sqlite3.Connection) -> int:
    (value,) = conn.execute("SELECT indexed_through FROM index_state WHERE id = 1").fetchone()
    return int(value)


def pending(conn: sqlite3.Connection) -> int:
    """Passages stored but not yet in a segment."""
    (count,) = conn.execute(
        "SELECT count(*) FROM passages WHERE id > ?", (indexed_through(conn),)
    ).fetchone()
    return int(count)


def next_passage_id(conn: sqlite3.Connection) -> int:
    """The id for the next passage: above every id ever used, deleted ones included, so the
    index's postings of a deleted passage never name a new one."""
    (value,) = conn.execute(
        "SELECT max(coalesce((SELECT max(id) FROM passages), 0),"
        " coalesce((SELECT max(id) FROM stale_passages), 0),"
        " (SELECT indexed_through FROM index_state WHERE id = 1))"
    ).fetchone()
    return int(value) + 1


def index_tail(conn: sqlite3.Connection) -> int:
    """Index every passage not yet in a segment (inside the caller's transaction); returns
    how many. Then merge full levels."""
    start = indexed_through(conn)
    rows = conn.execute(
        "SELECT id, terms, length FROM passages WHERE id > ? ORDER BY id", (start,)
    ).fetchall()
    if not rows:
        return 0
    _write_segment(conn, 0, _posting_lists(rows))
    conn.execute("UPDATE index_state SET indexed_through = ? WHERE id = 1", (rows[-1][0],))
    _merge_full_levels(conn)
    return len(rows)


def _posting_lists(rows: list[tuple[int, str, int]]) -> Iterator[tuple[str, bytes]]:
    """(term, encoded postings) of passages given as (id, terms, length), by term. Grouped
    with numpy: one sort of (term, passage) pairs instead of a Counter per passage."""
    vocabulary: dict[str, int] = {}
    token_terms: list[int] = []
    token_passages: list[int] = []
    for index, (_, terms, _) in enumerate(rows):
        tokens = terms.split()
        token_terms.extend([vocabulary.setdefault(t, len(vocabulary)) for t in tokens])
        token_passages.extend([index] * len(tokens))
    pairs, counts = np.unique(
        np.asarray(token_terms, dtype=np.int64) * len(rows)
        + np.asarray(token_passages, dtype=np.int64),
        return_counts=True,
    )
    term_of, passage_of = np.divmod(pairs, len(rows))
    ids = np.asarray([row[0] for row in rows], dtype=_ID)[passage_of]
    lengths = np.minimum(np.asarray([row[2] for row in rows], dtype=np.int64), 65535)
    lengths = lengths.astype(_LENGTH)[passage_of]
    counts = np.minimum(counts, 255).astype(_COUNT)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(term_of)) + 1, [pairs.size]))
    names = list(vocabulary)
    for term_id in sorted(range(len(names)), key=names.__getitem__):
        begin, end = int(starts[term_id]), int(starts[term_id + 1])
        yield names[term_id], _encode(ids[begin:end], lengths[begin:end], counts[begin:end])


def _write_segment(conn: sqlite3.Connection, level: int, rows: Iterable[tuple[str, bytes]]) -> int:
    cursor = conn.execute("INSERT INTO index_segments (level) VALUES (?)", (level,))
    segment = cursor.lastrowid
    assert segment is not None
    conn.executemany(
        "INSERT INTO postings (term, segment_id, data) VALUES (?, ?, ?)",
        ((term, segment, blob) for term, blob in rows),
    )
    return segment


def _merge_full_levels(conn: sqlite3.Connection) -> None:
    level = 0
    while True:
        segments = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM index_segments WHERE level = ? ORDER BY id", (level,)
            )
        ]
        if len(segments) < FANOUT:
            return
        _merge(conn, segments, level + 1)
        level += 1


def _merge(conn: sqlite3.Connection, segments: list[int], level: int) -> None:
    stale = np.fromiter(
        (row[0] for row in conn.execute("SELECT id FROM stale_passages")), dtype=np.int64
    )
    marks = ",".join("?" * len(segments))
    parts: dict[str, list[Postings]] = defaultdict(list)
    for term, data in conn.execute(
        f"SELECT term, data FROM postings WHERE segment_id IN ({marks}) ORDER BY term, segment_id",
        segments,
    ):
        parts[term].append(decode(data))

    def merged() -> Iterable[tuple[str, bytes]]:
        for term in sorted(parts):
            ids, lengths, counts = (
                np.concatenate(column) for column in zip(*parts[term], strict=True)
            )
            if stale.size:
                live = ~np.isin(ids, stale)
                ids, lengths, counts = ids[live], lengths[live], counts[live]
            if ids.size:
                yield term, _encode(ids, lengths, counts)

    conn.execute(f"DELETE FROM postings WHERE segment_id IN ({marks})", segments)
    conn.execute(f"DELETE FROM index_segments WHERE id IN ({marks})", segments)
    _write_segment(conn, level, merged())


@dataclass(frozen=True)
class BM25:
    """Okapi BM25 with given (corpus-wide) idf per term."""

    idf: dict[str, float]
    avgdl: float
    k1: float
    b: float

    def weight(self, term: str, tf: int, length: int) -> float:
        norm = self.k1 * (1.0 - self.b + self.b * length / self.avgdl)
        return self.idf[term] * tf * (self.k1 + 1.0) / (tf + norm)

    def weights(
        self, term: str, counts: npt.NDArray[np.uint8], lengths: npt.NDArray[np.uint16]
    ) -> npt.NDArray[np.float64]:
        tf = counts.astype(np.float64)
        norm = self.k1 * (1.0 - self.b + self.b * lengths.astype(np.float64) / self.avgdl)
        return self.idf[term] * tf * (self.k1 + 1.0) / (tf + norm)

    def bound(self, term: str) -> float:
        """More than the term can add to any passage's score."""
        return self.idf[term] * (self.k1 + 1.0)


@dataclass(frozen=True)
class Pruning:
    """When common words are left out of the exhaustive pass (see :func:`score`)."""

    full_postings: int  # a word in at most this many passages is always scored everywhere
    pool: int  # at least this many leading passages are re-scored with the words left out
    exact_top: int  # the leading passages guaranteed to be exactly those of exhaustive BM25


def score(
    conn: sqlite3.Connection,
    bm25: BM25,
    doc_freqs: dict[str, int],
    limit: int,
    pruning: Pruning,
) -> list[tuple[int, float]]:
    """The ``limit`` best (passage id, BM25 score) over every passage, best first; ties go to
    the newer passage. Ids may include deleted passages: the caller drops those.

    Words are scored over all their passages, rarest first. A word found in a great many
    passages (more than ``pruning.full_postings``) is left out of that pass once enough
    passages have a score: it can add at most ``bm25.bound`` to any passage, so the leading
    passages are re-scored with it from their stored terms, and if a passage outside them
    could still reach the first ``pruning.exact_top`` with every left-out word's bound, the
    next word is scored everywhere after all. The first ``exact_top`` are therefore those of
    exhaustive BM25; the rest of the ``limit`` very nearly."""
    through = indexed_through(conn)
    order = sorted(bm25.idf, key=lambda t: (-bm25.idf[t], t))
    partial = np.zeros(through + 1, dtype=np.float64)
    pool = max(pruning.pool, 2 * limit)
    exact_top = max(1, min(pruning.exact_top, limit))
    done = 0
    while True:
        while done < len(order) and (
            done == 0
            or doc_freqs.get(order[done], 0) <= pruning.full_postings
            or np.count_nonzero(partial) < pool
        ):
            _accumulate(conn, partial, order[done], bm25)
            done += 1
        left_out = order[done:]
        if not left_out:
            best = _top(partial, limit)
            break
        leading = sorted(_top(partial, pool + 1), key=_best_first)
        outside = leading[pool][1] if len(leading) > pool else 0.0
        rescored = sorted(_rescore(conn, leading[:pool], left_out, bm25), key=_best_first)
        threshold = rescored[exact_top - 1][1] if len(rescored) >= exact_top else 0.0
        if threshold > outside + sum(bm25.bound(t) for t in left_out):
            best = rescored
            break
        _accumulate(conn, partial, order[done], bm25)
        done += 1
    best.extend(_score_tail(conn, through, bm25))
    best.sort(key=_best_first)
    return best[:limit]


def _accumulate(
    conn: sqlite3.Connection, scores: npt.NDArray[np.float64], term: str, bm25: BM25
) -> None:
    for (data,) in conn.execute("SELECT data FROM postings WHERE term = ?", (term,)):
        ids, lengths, counts = decode(data)
        # A passage is in one segment only, so ids are distinct within a term.
        scores[ids] += bm25.weights(term, counts, lengths)


def _with_terms(
    rows: Iterable[tuple[int, str, int]],
    terms: Sequence[str],
    bm25: BM25,
    base: dict[int, float] | None = None,
) -> list[tuple[int, float]]:
    """Scores of passages given as (id, stored terms, length): ``terms``' BM25 weights, added
    to ``base`` (partial scores) when given. Counting " term " (C speed) beats splitting
    each passage's terms; the spaces are doubled so that a word repeated back to back is
    counted each time."""
    needles = [(term, f" {term} ") for term in terms]
    scored = []
    for passage_id, stored, length in rows:
        spaced = " " + stored.replace(" ", "  ") + " "
        total = base[passage_id] if base is not None else 0.0
        for term, needle in needles:
            tf = spaced.count(needle)
            if tf:
                total += bm25.weight(term, tf, length)
        scored.append((int(passage_id), total))
    return scored


def _rescore(
    conn: sqlite3.Connection,
    leading: list[tuple[int, float]],
    left_out: list[str],
    bm25: BM25,
) -> list[tuple[int, float]]:
    """Partial scores completed with the left-out words, from the passages' stored terms
    (deleted passages drop out here)."""
    partial = dict(leading)
    rows = select_rows_in(
        conn, "SELECT id, terms, length FROM passages WHERE id IN ({})", list(partial)
    )
    return _with_terms(rows, left_out, bm25, partial)


def _top(scores: npt.NDArray[np.float64], limit: int) -> list[tuple[int, float]]:
    """At least the ``limit`` best positive scores (more when tied), in no order."""
    if limit <= 0:
        return []
    matched = np.flatnonzero(scores > 0)
    values = scores[matched]
    if values.size > limit:
        cut = np.partition(values, values.size - limit)[values.size - limit]
        matched = matched[values >= cut]
    return [(int(i), float(scores[i])) for i in matched]


def _score_tail(conn: sqlite3.Connection, after: int, bm25: BM25) -> list[tuple[int, float]]:
    """Passages stored since the last indexing (during a bulk import), scored one by one."""
    rows = conn.execute("SELECT id, terms, length FROM passages WHERE id > ?", (after,))
    return [item for item in _with_terms(rows, list(bm25.idf), bm25) if item[1] > 0]


def problems(conn: sqlite3.Connection) -> list[str]:
    """Damage the index can detect cheaply: blobs that are not whole postings, postings
    naming passages beyond the indexed range."""
    found = []
    through = indexed_through(conn)
    for term, segment, data in conn.execute("SELECT term, segment_id, data FROM postings"):
        try:
            ids, _, _ = decode(data)
        except ValueError as e:
            found.append(f"search index: term {term!r} in segment {segment}: {e}")
            continue
        if ids.size and int(ids.max()) > through:
            found.append(f"search index: term {term!r} names passages not yet indexed")
    return found
