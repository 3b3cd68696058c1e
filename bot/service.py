"""The domain API used by the CLI and the bot: ingest, ask, stats.

Handlers and commands call this and nothing below it; it calls the store, the fetcher and the
extractors, and turns their failures into outcomes with a sentence fit to show the user.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import re
import zoneinfo
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from bot import extract
from bot.fetch import HTML_TYPES, AddressPolicy, Fetcher, FetchError, close_session, make_session
from bot.settings import Settings
from bot.urls import canonical_url, find_urls, is_web_url
from store.alerts import AlertConfig
from store.articles import PreparedArticle, prepare_article
from store.db import AsyncStore, StoreConfig
from store.models import (
    AddResult,
    AddStatus,
    ArticleInput,
    SavedQuery,
    SearchPage,
    SourceSummary,
    Stats,
    StoredArticle,
)

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one thing the user gave us."""

    source: str  # as the user gave it: a URL, a file name, "file.jsonl:12"
    status: str  # "saved", "updated", "already stored" or "failed"
    title: str | None = None
    url: str | None = None
    passages: int = 0
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "status": self.status,
            "title": self.title,
            "url": self.url,
            "passages": self.passages,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Post:
    """A chat message or channel post to store, already read out of Telegram's objects."""

    text: str
    links: tuple[str, ...]  # links in the text and behind link entities
    source: str  # the original source's name: a channel title, a person's name
    url: str | None = None  # public link to the post (https://t.me/channel/123)
    key: str | None = None  # stable identity, so an edit replaces the stored post
    published: str | None = None


def prepare_articles(
    articles: list[ArticleInput], *, min_words: int, max_words: int, max_text_chars: int
) -> list[PreparedArticle]:
    return [
        prepare_article(a, min_words=min_words, max_words=max_words, max_text_chars=max_text_chars)
        for a in articles
    ]


def store_config(settings: Settings) -> StoreConfig:
    s = settings.search
    return StoreConfig(
        path=settings.database.path,
        busy_timeout_ms=settings.database.busy_timeout_ms,
        read_threads=settings.database.read_threads,
        min_words=settings.passages.min_words,
        max_words=settings.passages.max_words,
        max_text_chars=settings.ingest.max_text_chars,
        index_every_passages=settings.ingest.index_every_passages,
        search=settings.search,  # the [search] settings are the store's SearchConfig
        alerts=AlertConfig(
            min_coverage=settings.alerts.min_coverage,
            common_word_share=settings.alerts.common_word_share,
            common_word_min_passages=settings.alerts.common_word_min_passages,
            duplicate_similarity=settings.alerts.duplicate_similarity,
            duplicate_window_hours=settings.alerts.duplicate_window_hours,
            k1=s.k1,
            b=s.b,
        ),
    )


def _outcome(source: str, article: ArticleInput, result: AddResult) -> IngestOutcome:
    if result.status is AddStatus.EMPTY:
        return IngestOutcome(
            source, "failed", result.title, article.url, reason="no words to index in it"
        )
    return IngestOutcome(source, str(result.status), result.title, article.url, result.passages)


class NewsService:
    def __init__(self, settings: Settings, store: AsyncStore, fetcher: Fetcher | None) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher

    async def ingest_articles(
        self,
        items: Sequence[tuple[str, ArticleInput | PreparedArticle]],
        *,
        bulk: bool = False,
    ) -> list[IngestOutcome]:
        """Store already-extracted (or already prepared) articles in one transaction. A
        ``bulk`` import defers indexing to larger steps; end it with :meth:`finish_bulk`."""
        if not items:
            return []
        results = await self.store.add_articles([article for _, article in items], defer_index=bulk)
        return [
            _outcome(
                source,
                article.article if isinstance(article, PreparedArticle) else article,
                result,
            )
            for (source, article), result in zip(items, results, strict=True)
        ]

    def preparer(self) -> Callable[[list[ArticleInput]], list[PreparedArticle]]:
        """A picklable function that prepares articles, for worker processes."""
        return functools.partial(
            prepare_articles,
            min_words=self.settings.passages.min_words,
            max_words=self.settings.passages.max_words,
            max_text_chars=self.settings.ingest.max_text_chars,
        )

    async def finish_bulk(self) -> None:
        """Index whatever a bulk import left for later."""
        await self.store.index_pending()

    async def _ingest_one(self, source: str, article: ArticleInput) -> IngestOutcome:
        return (await self.ingest_articles([(source, article)]))[0]

    async def ingest_text(
        self,
        text: str,
        *,
        source_label: str,
        source: str | None = None,
        url: str | None = None,
        markdown: bool = False,
    ) -> IngestOutcome:
        try:
            article = extract.from_text(
                text,
                url=url,
                source=source or self.settings.ingest.default_source,
                markdown=markdown,
            )
        except extract.ExtractError as e:
            return IngestOutcome(source_label, "failed", reason=str(e))
        return await self._ingest_one(source_label, article)

    async def ingest_html(
        self, html: str | bytes, *, source_label: str, url: str | None = None
    ) -> IngestOutcome:
        try:
            # Extraction is CPU work: keep it off the event loop.
            article = await asyncio.to_thread(extract.from_html, html, url=url)
        except extract.ExtractError as e:
            return IngestOutcome(source_label, "failed", url=url, reason=str(e))
        return await self._ingest_one(source_label, article)

    async def article_from_url(self, url: str) -> ArticleInput:
        """Fetch and extract one page; raises FetchError or ExtractError with the reason."""
        if not is_web_url(url):
            raise FetchError("not an http(s) link")
        if self.fetcher is None:
            raise FetchError("fetching is not available here")
        page = await self.fetcher.fetch(url)
        if page.content_type in HTML_TYPES:
            # Extraction is CPU work: keep it off the event loop.
            return await asyncio.to_thread(extract.from_html, page.body, url=page.url)
        return extract.from_text(
            page.text(), url=page.url, source=self.settings.ingest.default_source
        )

    async def ingest_url(self, url: str) -> IngestOutcome:
        try:
            article = await self.article_from_url(url)
        except (FetchError, extract.ExtractError) as e:
            return IngestOutcome(url, "failed", url=url if is_web_url(url) else None, reason=str(e))
        return await self._ingest_one(url, article)

    def _mostly_links(self, post: Post) -> bool:
        words = len(re.sub(r"https?://\S+", " ", post.text).split())
        return bool(post.links) and words <= self.settings.bot.link_post_max_words

    async def ingest_post(self, post: Post, label: str) -> list[IngestOutcome]:
        """Store a post; when it is mostly a link, fetch and store the linked article too."""
        outcomes: list[IngestOutcome] = []
        follow = self._mostly_links(post)
        if not follow or len(re.sub(r"https?://\S+", " ", post.text).split()) >= 15:
            try:
                article = extract.from_text(
                    post.text, url=post.url, source=post.source, published=post.published
                )
            except extract.ExtractError as e:
                outcomes.append(IngestOutcome(label, "failed", reason=str(e)))
            else:
                if post.key:
                    article = dataclasses.replace(article, canonical_url=post.key)
                outcomes.append(await self._ingest_one(label, article))
        if follow:
            outcomes += await self._ingest_some(post.links)
        return outcomes

    async def ingest_links(self, text: str) -> list[IngestOutcome]:
        return await self._ingest_some(find_urls(text))

    async def _ingest_some(self, links: Sequence[str]) -> list[IngestOutcome]:
        """The links of one message, up to the limit: one message must not keep the bot
        fetching for minutes (each fetch may take its whole timeout)."""
        limit = self.settings.bot.max_links_per_message
        outcomes = [await self.ingest_url(url) for url in links[:limit]]
        if len(links) > limit:
            more = len(links) - limit
            outcomes.append(
                IngestOutcome(
                    f"{more} more link{'s' if more > 1 else ''}",
                    "failed",
                    reason=f"I fetch at most {limit} links from one message; "
                    "send the others in another",
                )
            )
        return outcomes

    async def remember_query(self, text: str, chat_id: int | None, user_id: int | None) -> int:
        return await self.store.remember_query(
            text, chat_id, user_id, self.settings.bot.more_button_days
        )

    async def saved_query(self, query_id: int) -> SavedQuery | None:
        return await self.store.saved_query(query_id)

    async def sources(self) -> list[SourceSummary]:
        return await self.store.sources(self.settings.bot.sources_listed)

    async def ask(
        self,
        question: str,
        limit: int | None = None,
        offset: int = 0,
        chat_id: int | None = None,
    ) -> SearchPage:
        """Quotes answering a question; "yesterday" and "this week" are the chat's (in its
        /settings timezone, or the default one)."""
        limit = self.settings.search.max_results if limit is None else limit
        timezone = self.settings.alerts.default_timezone
        if chat_id is not None:
            timezone = (await self.store.chat_settings(chat_id)).timezone or timezone
        today = _now().astimezone(zoneinfo.ZoneInfo(timezone)).date()
        return await self.store.search(question, max(0, limit), max(0, offset), today)

    async def stats(self) -> Stats:
        return await self.store.stats()

    async def remove(self, link: str) -> StoredArticle | None:
        """Delete the stored article at this link (as stored, or the same page with tracking
        parameters, "www." and the like); None if no article is stored there."""
        link = link.strip()
        if not is_web_url(link):
            return None
        return await self.store.remove_article([link, canonical_url(link)])


@asynccontextmanager
async def open_service(settings: Settings, *, fetching: bool = True) -> AsyncIterator[NewsService]:
    """One store and (optionally) one HTTP session for the life of a command or the bot."""
    policy = AddressPolicy.from_settings(settings.fetch)
    store = await AsyncStore.open(store_config(settings))
    session = make_session(settings.fetch, policy) if fetching else None
    try:
        fetcher = Fetcher(session, settings.fetch, policy) if session is not None else None
        yield NewsService(settings, store, fetcher)
    finally:
        if session is not None:
            await close_session(session)
        await store.close()
