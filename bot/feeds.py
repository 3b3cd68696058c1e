"""News feeds (RSS 0.9x/2.0, RSS 1.0, Atom): adding with discovery, and polling.

Parsing is feedparser's; fetching is our Fetcher (time and size limits, the address guard,
conditional GET with ETag/Last-Modified). Each new entry's linked article is fetched and
extracted like a pasted link; if that fails, the entry's own content or summary is stored.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html

from bot import extract
from bot.fetch import FEED_TYPES, HTML_TYPES, TEXT_TYPES, FetchError
from bot.service import NewsService
from bot.urls import canonical_url, is_web_url
from store.models import ArticleInput, Feed

log = logging.getLogger(__name__)

FEED_LINK_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
    "application/x-rss+xml",
}


class FeedError(Exception):
    """A feed that cannot be added or read; the message is fit to show the user."""


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the entry's guid, or its link
    link: str | None
    title: str | None
    published: str | None
    content: str  # HTML or text: the entry's content, else its summary


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]


@dataclass(frozen=True)
class PollResult:
    feed: str
    new: int = 0
    stored: int = 0
    not_modified: bool = False
    error: str | None = None


def _entry_date(entry: Any) -> str | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return (
                    datetime.fromtimestamp(calendar.timegm(value), UTC)
                    .replace(tzinfo=None)
                    .isoformat(timespec="seconds")
                )
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def parse_feed(body: bytes, url: str) -> ParsedFeed:
    """Entries of an RSS or Atom document. Pure; raises FeedError when it is no feed."""
    head = body[:1000].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise FeedError("the address returns a web page, not a feed")
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    entries = []
    for item in parsed.entries:
        link = item.get("link")
        link = urljoin(url, link) if link else None
        key = item.get("id") or link
        if not key:
            continue
        contents = item.get("content") or []
        content = (contents[0].get("value") if contents else None) or item.get("summary") or ""
        entries.append(
            FeedEntry(
                str(key)[:1000],
                link if link and is_web_url(link) else None,
                item.get("title"),
                _entry_date(item),
                str(content),
            )
        )
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        # feedparser reads broken feeds leniently; broken with nothing usable is unreadable.
        reason = parsed.get("bozo_exception")
        raise FeedError(
            f"this is not a readable RSS or Atom feed ({str(reason)[:100]})"
            if reason
            else "this is not a readable RSS or Atom feed"
        )
    return ParsedFeed(parsed.feed.get("title"), entries)


class _FeedLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if (
            tag == "link"
            and "alternate" in values.get("rel", "").lower().split()
            and (values.get("type", "").lower() in FEED_LINK_TYPES and values.get("href"))
        ):
            self.links.append(values["href"])


def discover_feeds(html: str, base_url: str) -> list[str]:
    """Feed addresses an HTML page announces with <link rel="alternate" type="...">."""
    finder = _FeedLinks()
    with contextlib.suppress(Exception):  # broken markup: keep whatever was found so far
        finder.feed(html)
    return list(dict.fromkeys(urljoin(base_url, href) for href in finder.links))


def entry_text(content: str) -> str:
    """Plain text of an entry's HTML content (paragraphs kept)."""
    if "<" not in content:
        return content
    try:
        root = lxml.html.fromstring(f"<div>{content}</div>")
    except (ValueError, lxml.etree.ParserError):
        return content
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in root.iter("p", "div", "li", "h1", "h2", "h3", "blockquote"):
        block.tail = "\n\n" + (block.tail or "")
    return str(root.text_content())


class FeedService:
    def __init__(
        self,
        news: NewsService,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.news = news
        self.store = news.store
        self.settings = news.settings.feeds
        self.clock = clock

    async def _get(
        self, url: str, etag: str | None = None, last_modified: str | None = None
    ) -> Any:
        if self.news.fetcher is None:
            raise FeedError("fetching is not available here")
        try:
            return await self.news.fetcher.fetch(
                url, FEED_TYPES | HTML_TYPES | TEXT_TYPES, etag=etag, last_modified=last_modified
            )
        except FetchError as e:
            raise FeedError(str(e)) from None

    async def add(self, url: str, added_by: int | None = None) -> tuple[Feed, bool]:
        """Add a feed by its address, or by a page that announces one."""
        url = url.strip()
        if not is_web_url(url):
            raise FeedError("that is not an http(s) link")
        page = await self._get(url)
        try:
            parsed = await asyncio.to_thread(parse_feed, page.body, page.url)
        except FeedError:
            if page.content_type not in HTML_TYPES:
                raise
            found = discover_feeds(page.text(), page.url)
            if not found:
                raise FeedError("that page announces no RSS or Atom feed") from None
            url = found[0]
            page = await self._get(url)
            parsed = await asyncio.to_thread(parse_feed, page.body, page.url)
        feed, created = await self.store.add_feed(url, parsed.title, added_by)
        if created:
            await self.poll(feed)
            refreshed = await self.store.feed(feed.id)
            feed = refreshed or feed
        return feed, created

    async def remove(self, url_or_id: str | int) -> bool:
        return await self.store.remove_feed(url_or_id)

    async def feeds(self) -> list[Feed]:
        return await self.store.feeds()

    def _next(self, now: datetime, errors: int = 0) -> str:
        interval = self.settings.poll_interval
        if errors:
            delay = min(interval * 2**errors, self.settings.max_backoff)
        else:
            delay = interval * (1 + random.uniform(-self.settings.jitter, self.settings.jitter))
        return (now + timedelta(seconds=delay)).isoformat(timespec="seconds")

    async def poll_due(self, everything: bool = False) -> list[PollResult]:
        now = self.clock()
        feeds = await (
            self.store.feeds()
            if everything
            else self.store.due_feeds(now.isoformat(timespec="seconds"))
        )
        limit = asyncio.Semaphore(self.settings.concurrent_polls)

        async def one(feed: Feed) -> PollResult:
            async with limit:
                return await self.poll(feed)

        return list(await asyncio.gather(*(one(f) for f in feeds)))

    async def poll(self, feed: Feed) -> PollResult:
        """One conditional fetch of a feed, storing its new entries. Never raises."""
        now = self.clock()
        try:
            page = await self._get(feed.url, feed.etag, feed.last_modified)
            if page.status == 304:
                await self.store.record_poll(feed.id, next_fetch_at=self._next(now))
                return PollResult(feed.url, not_modified=True)
            parsed = await asyncio.to_thread(parse_feed, page.body, page.url)
        except FeedError as e:
            log.warning("feed %s: %s", feed.url, e)
            await self.store.record_poll(
                feed.id, error=str(e), next_fetch_at=self._next(now, feed.errors + 1)
            )
            return PollResult(feed.url, error=str(e))
        entries = parsed.entries[: self.settings.max_items_per_poll]
        unseen = set(await self.store.unseen_entries(feed.id, [e.key for e in entries]))
        fresh = [e for e in entries if e.key in unseen]
        # An entry under a new guid whose link is already stored is not fetched again.
        links = {e.key: canonical_url(e.link) for e in fresh if e.link}
        known = await self.store.stored_urls(list(links.values()))
        to_store = [e for e in fresh if links.get(e.key) not in known]
        stored = 0
        for entry in to_store:
            stored += await self._store_entry(entry, parsed.title or feed.title)
        await self.store.record_poll(
            feed.id,
            next_fetch_at=self._next(now),
            title=parsed.title,
            etag=page.etag,
            last_modified=page.last_modified,
            seen=[e.key for e in fresh],
            stored=stored,
        )
        return PollResult(feed.url, new=len(fresh), stored=stored)

    async def _store_entry(self, entry: FeedEntry, feed_title: str | None) -> int:
        article: ArticleInput | None = None
        if entry.link:
            try:
                article = await self.news.article_from_url(entry.link)
            except (FetchError, extract.ExtractError) as e:
                log.info("feed entry %s: article not fetched (%s); using the entry", entry.link, e)
        if article is None:
            text = entry_text(entry.content)
            try:
                article = extract.from_text(
                    text, url=entry.link, source=feed_title, title=entry.title or None
                )
            except extract.ExtractError:
                return 0
        if entry.published:
            article = dataclasses.replace(article, published=entry.published)
        if entry.title and not article.title:
            article = dataclasses.replace(article, title=entry.title)
        outcomes = await self.news.ingest_articles([(entry.link or entry.key, article)])
        return sum(1 for o in outcomes if o.status in {"saved", "updated"})
