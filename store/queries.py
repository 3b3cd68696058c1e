"""Small SQL helpers shared by the store's modules."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

# SQLite limits the number of parameters in one statement; stay well under it.
_CHUNK = 500


def select_rows_in(
    conn: sqlite3.Connection, sql: str, values: Sequence[Any], *before: Any
) -> Iterator[tuple[Any, ...]]:
    """Rows of ``sql`` (with ``{}`` where the IN list goes) for every value, a chunk of
    values per statement; ``before`` are the parameters that precede the list."""
    for start in range(0, len(values), _CHUNK):
        chunk = list(values[start : start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        yield from conn.execute(sql.format(marks), (*before, *chunk))


def select_in(
    conn: sqlite3.Connection, sql: str, values: Sequence[Any], *before: Any
) -> Iterator[Any]:
    """First column of :func:`select_rows_in`."""
    for row in select_rows_in(conn, sql, values, *before):
        yield row[0]
