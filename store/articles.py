"""Writing articles and their passages (runs on the writer connection)."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from store.models import AddResult, AddStatus, ArticleInput, StoredArticle
from store.passages import normalise_article_text, split_passages
from store.postings import next_passage_id
from store.text import normalised_for_hash, tokenize


def _cut(text: str, limit: int) -> str:
    """Keep at most ``limit`` characters, ending at a paragraph or word boundary."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for boundary in ("\n\n", " "):
        cut = head.rfind(boundary)
        if cut > limit // 2:
            return head[:cut].rstrip()
    return head


def content_hash(text: str) -> str:
    return hashlib.sha256(normalised_for_hash(text).encode()).hexdigest()


@dataclass(frozen=True)
class PreparedArticle:
    """An article made ready to store: its text normalised, cut into passages, tokenised.

    Preparing is pure CPU work with no database, so bulk imports can do it in other
    processes while the writer stores the previous batch.
    """

    article: ArticleInput
    title: str
    text: str
    digest: str
    passages: tuple[tuple[int, int, tuple[str, ...]], ...]  # (start, end, body terms)
    title_terms: tuple[str, ...]


def prepare_article(
    article: ArticleInput, *, min_words: int, max_words: int, max_text_chars: int
) -> PreparedArticle:
    text = _cut(normalise_article_text(article.text), max_text_chars)
    title = " ".join(article.title.split()) or text[:80]
    passages = tuple(
        (span.start, span.end, tuple(tokenize(text[span.start : span.end])))
        for span in split_passages(text, min_words, max_words)
    )
    return PreparedArticle(
        article, title, text, content_hash(text), passages, tuple(tokenize(title))
    )


def add_article(
    conn: sqlite3.Connection,
    prepared: PreparedArticle,
    doc_freqs: Counter[str],
) -> AddResult:
    """Store one prepared article inside the caller's transaction; ``doc_freqs`` collects
    the change in each term's document frequency, for :func:`update_term_stats`."""
    article, title, text, digest = prepared.article, prepared.title, prepared.text, prepared.digest
    same_text = conn.execute(
        "SELECT id, title FROM articles WHERE content_hash = ?", (digest,)
    ).fetchone()
    if same_text is not None:
        return AddResult(AddStatus.DUPLICATE, same_text[0], same_text[1])
    if not any(terms for _, _, terms in prepared.passages):
        return AddResult(AddStatus.EMPTY, None, title)

    now = datetime.now(UTC).isoformat(timespec="seconds")
    fields = {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": title,
        "source": article.source,
        "source_url": article.source_url,
        "published": article.published,
        "content_hash": digest,
        "text": text,
    }
    existing = None
    if article.canonical_url:
        existing = conn.execute(
            "SELECT id FROM articles WHERE canonical_url = ?", (article.canonical_url,)
        ).fetchone()
    if existing is not None:
        # The same page with new text (an edit or a correction) replaces the old passages.
        article_id = int(existing[0])
        conn.execute(
            "UPDATE articles SET url = :url, title = :title, source = :source,"
            " source_url = :source_url, published = coalesce(:published, published),"
            " content_hash = :content_hash, text = :text WHERE id = :id",
            {**fields, "id": article_id},
        )
        _drop_passages(conn, article_id, doc_freqs)
        status = AddStatus.UPDATED
    else:
        cursor = conn.execute(
            "INSERT INTO articles (url, canonical_url, title, source, source_url, published,"
            " ingested_at, content_hash, text) VALUES (:url, :canonical_url, :title, :source,"
            " :source_url, :published, :ingested_at, :content_hash, :text)",
            {**fields, "ingested_at": now},
        )
        assert cursor.lastrowid is not None
        article_id = cursor.lastrowid
        status = AddStatus.SAVED

    rows = []
    first_id = next_passage_id(conn)
    for position, (start, end, body_terms) in enumerate(prepared.passages):
        terms = prepared.title_terms + body_terms
        rows.append(
            (first_id + position, article_id, position, start, end, " ".join(terms), len(terms))
        )
        doc_freqs.update(set(terms))
    conn.executemany(
        "INSERT INTO passages (id, article_id, position, start, end, terms, length)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return AddResult(status, article_id, title, len(rows))


def _drop_passages(conn: sqlite3.Connection, article_id: int, doc_freqs: Counter[str]) -> None:
    """Delete an article's passages (triggers keep the corpus statistics and mark them stale
    in the search index), collecting the document-frequency change in ``doc_freqs``."""
    for (terms,) in conn.execute("SELECT terms FROM passages WHERE article_id = ?", (article_id,)):
        doc_freqs.subtract(set(terms.split()))
    conn.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))


# The columns a StoredArticle is read from, in its fields' order.
ARTICLE_COLUMNS = ", ".join(field.name for field in dataclasses.fields(StoredArticle))


def remove_article(conn: sqlite3.Connection, urls: Sequence[str]) -> StoredArticle | None:
    """Delete the article stored under one of ``urls`` (as its canonical URL or its URL),
    with its passages and any alert about it not sent yet; the article as it was, or None if
    none is stored there. Inside the caller's transaction."""
    if not urls:
        return None
    marks = ",".join("?" * len(urls))
    row = conn.execute(
        f"SELECT {ARTICLE_COLUMNS} FROM articles"
        f" WHERE canonical_url IN ({marks}) OR url IN ({marks}) ORDER BY id LIMIT 1",
        (*urls, *urls),
    ).fetchone()
    if row is None:
        return None
    removed = StoredArticle(*row)
    doc_freqs: Counter[str] = Counter()
    _drop_passages(conn, removed.id, doc_freqs)
    update_term_stats(conn, doc_freqs)
    # Pending alerts about it go with it (ON DELETE CASCADE); sent ones are history.
    conn.execute("DELETE FROM articles WHERE id = ?", (removed.id,))
    return removed


def update_term_stats(conn: sqlite3.Connection, doc_freqs: Counter[str]) -> None:
    """Apply collected document-frequency changes (one statement per distinct term)."""
    conn.executemany(
        "INSERT INTO term_stats (term, df) VALUES (?, ?)"
        " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df",
        [(term, change) for term, change in doc_freqs.items() if change],
    )
    if any(change < 0 for change in doc_freqs.values()):
        conn.execute("DELETE FROM term_stats WHERE df <= 0")
