"""News feeds against a local aiohttp feed server on 127.0.0.1 (the fetcher may reach only
127.0.0.1; every other address is refused before any connection)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from bot.feeds import FeedError, FeedService, discover_feeds, parse_feed
from bot.fetch import AddressPolicy, Fetcher, make_session
from bot.service import NewsService, store_config
from bot.settings import Settings
from store.db import AsyncStore
from tests.helpers import DATA

FEEDS = DATA / "feeds"
LOOPBACK_ONLY = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
LIGHTHOUSE = """<html><head><title>Lighthouse keeper retires after forty years</title>
<meta property="og:site_name" content="Bay Gazette"></head><body><article>
<h1>Lighthouse keeper retires after forty years</h1>
<p>The keeper of the Walney lighthouse, Joan Pritchard, retires this week after forty years
of climbing the tower every night to check the lamp and the fog signal.</p>
<p>She said the automation of the light in the nineties changed the job but never the view,
and she will miss the winter storms most of all.</p></article></body></html>"""


class FeedSite:
    """A news site with feeds whose content the tests change between polls."""

    def __init__(self) -> None:
        self.rss = (FEEDS / "rss2.xml").read_text()
        self.extra_items = ""
        self.conditional_hits = 0
        self.page_hits = 0
        self.requests: list[str] = []
        self.mode = "feed"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/rss", self.feed)
        app.router.add_get("/atom", self.static("atom.xml", "application/atom+xml"))
        app.router.add_get("/articles/lighthouse", self.page)
        app.router.add_get("/site", self.site)
        app.router.add_get("/plain-site", self.plain_site)
        app.router.add_get("/to-private", self.to_private)
        return app

    def body(self, base: str) -> str:
        rss = self.rss.replace("{base}", base)
        return rss.replace("</channel>", self.extra_items + "</channel>")

    async def feed(self, request: web.Request) -> web.StreamResponse:
        self.requests.append("rss")
        base = f"http://{request.host}"
        if self.mode == "broken":
            return web.Response(text="<rss><channel><item><title>oops", content_type="text/xml")
        if self.mode == "html":
            return web.Response(
                text="<!DOCTYPE html><html><body>Moved!</body></html>", content_type="text/html"
            )
        body = self.body(base)
        etag = f'"{abs(hash(body))}"'
        if request.headers.get("If-None-Match") == etag:
            self.conditional_hits += 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type="application/rss+xml", headers={"ETag": etag})

    def static(self, name: str, kind: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(text=(FEEDS / name).read_text(), content_type=kind)

        return handler

    async def page(self, request: web.Request) -> web.Response:
        self.page_hits += 1
        return web.Response(text=LIGHTHOUSE, content_type="text/html")

    async def site(self, request: web.Request) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=(
                '<html><head><link rel="alternate" type="application/rss+xml" href="/rss">'
                "</head><body>Bay Gazette home</body></html>"
            ),
        )

    async def plain_site(self, request: web.Request) -> web.Response:
        return web.Response(
            text="<html><body>No feeds here</body></html>", content_type="text/html"
        )

    async def to_private(self, request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://10.0.0.1/feed.xml"})


@pytest.fixture
async def site() -> AsyncIterator[tuple[FeedSite, BaseTestServer]]:
    feed_site = FeedSite()
    async with TestServer(feed_site.app(), host="127.0.0.1") as server:
        yield feed_site, server


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def feeds(settings: Settings) -> AsyncIterator[SimpleNamespace]:
    settings = dataclasses.replace(settings, feeds=dataclasses.replace(settings.feeds, jitter=0.0))
    store = await AsyncStore.open(store_config(settings))
    session = make_session(settings.fetch, LOOPBACK_ONLY)
    news = NewsService(settings, store, Fetcher(session, settings.fetch, LOOPBACK_ONLY))
    clock = Clock()
    try:
        yield SimpleNamespace(service=FeedService(news, clock), news=news, clock=clock)
    finally:
        await session.close()
        await store.close()


async def test_adding_a_feed_stores_its_items(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    _, server = site
    feed, created = await feeds.service.add(str(server.make_url("/rss")))
    assert created and feed.title == "Bay Gazette" and feed.items == 2
    page = await feeds.news.ask("lighthouse keeper Walney")
    hit = page.hits[0]
    assert "Joan Pritchard" in hit.text  # the linked article itself was fetched
    assert hit.article.published == "2026-11-23T09:00:00"  # the entry's date
    ferry = (await feeds.news.ask("winter ferry timetable sailings")).hits[0]
    assert "two fewer sailings" in ferry.text  # the page was missing: the entry's summary
    assert ferry.article.title == "Ferry timetable changes for winter"
    assert ferry.article.url is not None and ferry.article.url.endswith("/articles/missing-page")


async def test_polls_are_conditional_and_store_only_new_items(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    feed_site, server = site
    await feeds.service.add(str(server.make_url("/rss")))
    feeds.clock.now += timedelta(hours=1)
    (result,) = await feeds.service.poll_due()
    assert result.not_modified and feed_site.conditional_hits == 1
    feed_site.extra_items = (
        "<item><title>Pier repairs finished early</title><guid>bay-pier</guid>"
        "<description>The pier reopened two weeks early after repairs to its iron legs "
        "were finished ahead of schedule.</description></item>"
    )
    feeds.clock.now += timedelta(hours=1)
    (result,) = await feeds.service.poll_due()
    assert (result.new, result.stored) == (1, 1)
    assert (await feeds.news.stats()).articles == 3
    assert (await feeds.service.feeds())[0].items == 3


async def test_nothing_is_polled_before_it_is_due(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    feed_site, server = site
    await feeds.service.add(str(server.make_url("/rss")))
    before = len(feed_site.requests)
    assert await feeds.service.poll_due() == []
    assert len(feed_site.requests) == before


async def test_discovery_from_a_page(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    _, server = site
    feed, _ = await feeds.service.add(str(server.make_url("/site")))
    assert feed.url == str(server.make_url("/rss"))
    with pytest.raises(FeedError, match="announces no RSS or Atom feed"):
        await feeds.service.add(str(server.make_url("/plain-site")))


async def test_a_broken_feed_backs_off_and_recovers(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    feed_site, server = site
    await feeds.service.add(str(server.make_url("/rss")))
    interval = timedelta(seconds=feeds.news.settings.feeds.poll_interval)
    for mode, expected in (
        ("broken", "not a readable RSS or Atom feed"),
        ("html", "returns a web page, not a feed"),
    ):
        feed_site.mode = mode
        feeds.clock.now += timedelta(days=3)
        (result,) = await feeds.service.poll_due()
        assert result.error is not None and expected in result.error
    broken = (await feeds.service.feeds())[0]
    assert broken.errors == 2 and "web page" in (broken.last_error or "")
    assert datetime.fromisoformat(broken.next_fetch_at) == feeds.clock.now + 4 * interval
    feeds.clock.now += 3 * interval
    assert await feeds.service.poll_due() == []  # still backing off
    feed_site.mode = "feed"
    feeds.clock.now += interval
    (result,) = await feeds.service.poll_due()
    assert result.error is None
    healed = (await feeds.service.feeds())[0]
    assert healed.errors == 0 and healed.last_error is None


async def test_a_redirect_to_a_private_address_is_an_error_on_the_feed(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    _, server = site
    with pytest.raises(FeedError, match="internal address"):
        await feeds.service.add(str(server.make_url("/to-private")))


async def test_items_per_poll_are_capped(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    feed_site, server = site
    feed_site.extra_items = "".join(
        f"<item><title>Notice {i}</title><guid>notice-{i}</guid><description>Harbour notice "
        f"number {i}: berth {i} is closed for dredging this week.</description></item>"
        for i in range(50)
    )
    feeds.service.settings = dataclasses.replace(feeds.service.settings, max_items_per_poll=5)
    feed, _ = await feeds.service.add(str(server.make_url("/rss")))
    assert feed.items == 5


def test_rss1_atom_and_broken_documents() -> None:
    atom = parse_feed((FEEDS / "atom.xml").read_bytes(), "https://harbour.test/atom")
    assert atom.title == "Harbour Wire"
    (seal,) = atom.entries
    assert seal.key == "urn:harbour-wire:seals" and seal.link is None
    assert "twelve grey seal pups" in seal.content and seal.published == "2026-11-24T10:00:00"
    rss1 = parse_feed((FEEDS / "rss1.xml").read_bytes(), "https://old-news.test/")
    assert [e.link for e in rss1.entries] == ["https://old-news.test/tram"]
    assert rss1.entries[0].published == "2026-11-20T08:00:00"
    for bad in (b"", b"not xml at all", b"<html><body>hi</body></html>", b"\x00\xff" * 10):
        with pytest.raises(FeedError):
            parse_feed(bad, "https://x.test/")


def test_discovery_reads_alternate_links() -> None:
    page = (
        '<head><link rel="stylesheet" href="/s.css"><link rel="alternate" '
        'type="application/atom+xml" href="/atom.xml"><link rel="alternate" '
        'type="application/rss+xml" href="https://cdn.test/rss"></head>'
    )
    assert discover_feeds(page, "https://site.test/news/") == [
        "https://site.test/atom.xml",
        "https://cdn.test/rss",
    ]
    assert discover_feeds("<<<not html", "https://site.test/") == []


async def test_cli_feeds_add_list_poll_remove(
    site: tuple[FeedSite, BaseTestServer], tmp_path: Path
) -> None:
    import asyncio
    import subprocess
    import sys

    _, server = site
    local = tmp_path / "local.toml"
    local.write_text('[fetch]\nallowed_networks = ["127.0.0.1/32"]\n')
    newsbot = str(Path(sys.executable).parent / "newsbot")
    url = str(server.make_url("/rss"))

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            newsbot,
            "--db",
            str(tmp_path / "f.db"),
            "--settings",
            str(local),
            "feeds",
            *args,
            stdout=subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode()

    assert await run("add", url) == (0, f"added: Bay Gazette ({url}, 2 items)\n")
    code, out = await run("list", "--json")
    assert code == 0 and json.loads(out)["items"] == 2
    code, out = await run("poll", "--all")
    assert (code, out) == (0, f"not modified: {url}\n")
    assert await run("remove", url) == (0, f"removed: {url}\n")
    code, out = await run("remove", url)
    assert code == 1 and "no such feed" in out


async def test_bot_feeds_and_alerts_from_feed_items(
    site: tuple[FeedSite, BaseTestServer], settings: Settings
) -> None:
    from tests.botharness import bot_settings, running_bot
    from tests.fakebot import FakeBotAPI, user

    feed_site, server = site
    alice = user(1001, "Alice")
    fake = FakeBotAPI()
    await fake.start()
    try:
        s = bot_settings(settings, fake)
        s = dataclasses.replace(
            s,
            fetch=dataclasses.replace(s.fetch, allowed_networks=("127.0.0.1/32",)),
            feeds=dataclasses.replace(s.feeds, check_interval=0.1, jitter=0.0),
        )
        async with running_bot(s) as app:
            deps = app.bot_data["deps"]
            clock = Clock()
            deps.feeds.clock = clock
            await fake.message("/subscribe pier repairs", sender=alice)
            await fake.reply(alice["id"])
            await fake.message(f"/addfeed {server.make_url('/site')}", sender=alice)
            added = await fake.reply(alice["id"], after=1)
            assert (
                added["visible"] == "Added Bay Gazette: 2 items stored so far. New items are "
                "fetched regularly; /feeds lists them."
            )
            await fake.message("/feeds", sender=alice)
            listing = await fake.reply(alice["id"], after=2)
            assert "Bay Gazette: 2 items, last fetched today" in listing["visible"]
            remove = listing["reply_markup"]["inline_keyboard"][0][0]
            assert remove["text"] == "Remove Bay Gazette"
            feed_site.extra_items = (
                "<item><title>Pier repairs finished early</title><guid>bay-pier</guid>"
                "<description>The pier reopened two weeks early after repairs to its iron "
                "legs were finished ahead of schedule.</description></item>"
            )
            clock.now += timedelta(hours=1)
            alert = await fake.wait_for(
                lambda: [m for m in fake.sent_to(alice["id"]) if m["visible"].startswith("🔔")]
            )
            assert "Pier repairs finished early" in alert[0]["visible"]
            await fake.press(remove["callback_data"], listing, sender=alice)
            await fake.wait_for(lambda: [m for m in fake.sent if m.get("edited")])
            assert await deps.feeds.feeds() == []
            await fake.message(f"/addfeed {server.make_url('/plain-site')}", sender=alice)
            failed = await fake.wait_for(
                lambda: [m for m in fake.sent_to(alice["id"]) if "Could not add" in m["visible"]]
            )
            assert "that page announces no RSS or Atom feed" in failed[0]["visible"]
    finally:
        await fake.close()


async def test_an_entry_whose_article_is_stored_is_not_fetched_again(
    site: tuple[FeedSite, BaseTestServer], feeds: SimpleNamespace
) -> None:
    feed_site, server = site
    await feeds.service.add(str(server.make_url("/rss")))
    feed_site.rss = feed_site.rss.replace("bay-gazette-lighthouse", "lighthouse-new-guid")
    feed_site.page_hits = 0
    feeds.clock.now += timedelta(hours=1)
    (result,) = await feeds.service.poll_due()
    assert (result.new, result.stored) == (1, 0)
    assert feed_site.page_hits == 0  # the known link was not fetched
    feeds.clock.now += timedelta(hours=1)
    (result,) = await feeds.service.poll_due()
    assert result.not_modified


async def test_the_feed_list_fits_telegram_however_many_feeds(settings: Settings) -> None:
    from tests.botharness import bot_settings, running_bot
    from tests.fakebot import FakeBotAPI, user

    alice = user(1001, "Alice")
    fake = FakeBotAPI()
    await fake.start()
    try:
        async with running_bot(bot_settings(settings, fake)) as app:
            store = app.bot_data["deps"].service.store
            for n in range(120):
                feed, _ = await store.add_feed(f"https://feeds.test/{n}/rss", f"Feed {n}", None)
                error = f"the server answered 503 {'and again ' * 20}"
                await store.record_poll(feed.id, next_fetch_at="9999", error=error)
            await fake.message("/feeds", sender=alice)
            listing = await fake.reply(alice["id"])
        assert listing["visible"].startswith("Feeds (buttons for the first 50;")
        assert "more." in listing["visible"].splitlines()[-1]  # "…and N more."
        assert len(listing["reply_markup"]["inline_keyboard"]) == 50
    finally:
        await fake.close()
