"""Plain data passed across the store's interface. No SQL, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class ArticleInput:
    """An article as the service layer hands it to the store."""

    title: str
    text: str
    url: str | None = None
    canonical_url: str | None = None
    source: str | None = None
    source_url: str | None = None
    published: str | None = None  # ISO 8601 date or date-time


class AddStatus(StrEnum):
    SAVED = "saved"
    UPDATED = "updated"
    DUPLICATE = "already stored"
    EMPTY = "empty"


@dataclass(frozen=True)
class AddResult:
    status: AddStatus
    article_id: int | None
    title: str
    passages: int = 0


@dataclass(frozen=True)
class StoredArticle:
    id: int
    url: str | None
    title: str
    source: str | None
    source_url: str | None
    published: str | None
    ingested_at: str


@dataclass(frozen=True)
class Highlight:
    """Character ranges inside a passage's text: matched sentences and matched terms."""

    sentences: tuple[tuple[int, int], ...]
    terms: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Hit:
    text: str  # the excerpt: an exact substring of the article text
    score: float
    article: StoredArticle
    highlight: Highlight
    also_reported_by: tuple[StoredArticle, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SearchPage:
    query: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    has_more: bool  # further results exist beyond this page
    # Quoted phrases of the question that no stored passage holds word for word: the hits
    # are then the closest matches without them.
    missing_phrases: tuple[str, ...] = ()
    # Words of the question (as typed) that no stored passage holds at all: the hits match
    # the question without them.
    missing_words: tuple[str, ...] = ()
    # Missing words searched for as a stored word one letter away ("Thunburg" as
    # "Thunberg"): (as typed, as the quotes spell it).
    respelled: tuple[tuple[str, str], ...] = ()
    # The question asked only for the latest news ("What's new?"): the hits are the newest
    # stored articles, each quoted from its start.
    newest: bool = False
    # The period the question asked about ("yesterday"), if any: the hits are from then,
    # unless nothing from then matched, when they are the closest matches from any day.
    period: str = ""
    outside_period: bool = False


@dataclass(frozen=True)
class Stats:
    articles: int
    passages: int
    sources: int
    database_bytes: int


@dataclass(frozen=True)
class SavedQuery:
    id: int
    text: str
    chat_id: int | None
    user_id: int | None
    created_at: str


@dataclass(frozen=True)
class SourceSummary:
    name: str
    url: str | None  # the source's home page or channel link, when known
    articles: int
    last_added: str


@dataclass(frozen=True)
class Subscription:
    id: int
    chat_id: int
    user_id: int | None
    query: str
    mode: str  # "instant" or "digest"
    paused: bool
    created_at: str


@dataclass(frozen=True)
class ChatSettings:
    chat_id: int
    timezone: str | None
    digest_hour: int | None
    quiet_start: int | None
    quiet_end: int | None
    last_digest_on: str | None


@dataclass(frozen=True)
class PendingAlert:
    id: int
    chat_id: int
    topic: str
    kind: str  # "instant" or "digest"
    attempts: int
    hit: Hit  # the best-matching passage of the article, highlighted for the topic


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str | None
    etag: str | None
    last_modified: str | None
    last_fetched_at: str | None
    last_new_at: str | None
    last_error: str | None
    errors: int
    next_fetch_at: str
    items: int
