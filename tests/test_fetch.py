"""Fetching against a local aiohttp server on 127.0.0.1, and the address guard.

The guard is tested with a stub resolver and a policy that allows only 127.0.0.1: refused
targets are never contacted (the connection counter proves it), so no test sends a packet
anywhere but 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import BaseTestServer, TestServer

from bot.fetch import AddressPolicy, Fetcher, FetchError, is_public_address, make_session
from bot.settings import Settings
from tests.helpers import DATA

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOOPBACK_ONLY = AddressPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


class StubResolver(AbstractResolver):
    """Maps test host names to fixed addresses; never asks real DNS."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"unknown test host {host}")
        return [
            {
                "hostname": host,
                "host": self.table[host],
                "port": port,
                "family": socket.AF_INET6 if ":" in self.table[host] else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
        ]

    async def close(self) -> None:
        pass


async def _never(request: web.Request) -> web.StreamResponse:
    await asyncio.Event().wait()  # the client's time-out ends this
    raise AssertionError  # pragma: no cover


async def _trickle(request: web.Request) -> web.StreamResponse:
    """One byte a second: each read is quick, so only the total time limit ends it."""
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    for _ in range(3600):
        await response.write(b"x")
        await asyncio.sleep(1)  # the hostile server's pace, not a wait in the test
    return response


async def _endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    chunk = b"<p>" + b"y" * 65_536 + b"</p>"
    try:
        while True:
            await response.write(chunk)
    except (ConnectionResetError, RuntimeError):
        return response


async def _bad_charset(request: web.Request) -> web.Response:
    page = (DATA / "article.html").read_bytes()
    return web.Response(body=page, headers={"Content-Type": "text/html; charset=no-such-charset"})


async def _chunked_big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/html"})
    await response.prepare(request)
    for _ in range(100):
        await response.write(b"<p>" + b"x" * 10_000 + b"</p>")
    return response


def respond(make: Callable[[], web.StreamResponse]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return make()

    return handler


def redirect(location: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    return handler


def _app() -> web.Application:
    page = (DATA / "article.html").read_bytes()
    bomb = gzip.compress(b"<p>" + b"a" * 5_000_000)
    app = web.Application()
    add = app.router.add_get
    add("/article", respond(lambda: web.Response(body=page, content_type="text/html")))
    add("/plain", respond(lambda: web.Response(text="Title line\nBody of the note here today.")))
    add("/missing", respond(lambda: web.Response(status=404)))
    add("/forbidden", respond(lambda: web.Response(status=403)))
    add("/error", respond(lambda: web.Response(status=500)))
    add("/pdf", respond(lambda: web.Response(body=b"%PDF-1.4", content_type="application/pdf")))
    add("/big", respond(lambda: web.Response(body=b"x" * 300_000, content_type="text/html")))
    add("/chunked-big", _chunked_big)
    add(
        "/bomb",
        respond(
            lambda: web.Response(
                body=bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
            )
        ),
    )
    add("/slow", _never)
    add("/trickle", _trickle)
    add("/endless", _endless)
    add("/bad-charset", _bad_charset)
    add("/to-loopback", redirect("http://127.0.0.2:8080/admin"))
    add("/to-link-local", redirect("http://[fe80::1]/"))
    add("/to-mapped", redirect("http://[::ffff:10.0.0.1]/"))
    add("/to-localhost-name", redirect("http://local.test/"))
    add("/loop", redirect("/loop"))
    add("/hop", redirect("/article"))
    add("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/"))
    add("/to-internal", redirect("http://internal.test/admin"))
    add("/to-file", redirect("file:///etc/passwd"))
    return app


@pytest.fixture
async def server() -> AsyncIterator[BaseTestServer]:
    async with TestServer(_app(), host="127.0.0.1") as srv:
        yield srv


@pytest.fixture
async def harness(settings: Settings) -> AsyncIterator[SimpleNamespace]:
    fetch_settings = dataclasses.replace(settings.fetch, total_timeout=1.0, max_bytes=200_000)
    resolver = StubResolver(
        {
            "internal.test": "10.0.0.1",
            "metadata.test": "169.254.169.254",
            "mapped.test": "::ffff:10.0.0.1",
            "local.test": "127.0.0.2",
        }
    )
    connections: list[str] = []

    async def on_connect(session: object, ctx: object, params: object) -> None:
        connections.append("connected")

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_connect)
    session = make_session(fetch_settings, LOOPBACK_ONLY, resolver, [trace])
    try:
        yield SimpleNamespace(
            fetcher=Fetcher(session, fetch_settings, LOOPBACK_ONLY),
            resolver=resolver,
            connections=connections,
        )
    finally:
        await session.close()


async def test_fetches_a_page(server: BaseTestServer, harness: SimpleNamespace) -> None:
    page = await harness.fetcher.fetch(str(server.make_url("/hop")))
    assert page.content_type == "text/html"
    assert b"Piel Island" in page.body
    assert page.url.endswith("/article")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "page not found (404)"),
        ("/forbidden", "refused access (403)"),
        ("/error", "error (500)"),
        ("/pdf", "not a web page (it is application/pdf)"),
        ("/big", "too big"),
        ("/chunked-big", "too big"),
        ("/bomb", "too big"),
        ("/slow", "took too long"),
        ("/trickle", "took too long"),
        ("/endless", "too big"),
        ("/loop", "too many redirects"),
        ("/to-file", "only http and https"),
    ],
)
async def test_failures_have_clear_messages(
    server: BaseTestServer, harness: SimpleNamespace, path: str, message: str
) -> None:
    with pytest.raises(FetchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await harness.fetcher.fetch(str(server.make_url(path)))


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://127.0.0.2:8080/",
        "http://[::1]/",
        "http://169.254.169.254/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.5/",
        "http://100.64.0.1/",
        "http://[fe80::1]/",
        "http://[fd00::1]/",
    ],
)
async def test_internal_ip_literals_are_refused_before_connecting(
    harness: SimpleNamespace, url: str
) -> None:
    with pytest.raises(FetchError, match="internal address"):
        await harness.fetcher.fetch(url)
    assert harness.connections == []
    assert harness.resolver.asked == []


@pytest.mark.parametrize("host", ["internal.test", "metadata.test", "mapped.test"])
async def test_host_names_resolving_inside_are_refused_before_connecting(
    harness: SimpleNamespace, host: str
) -> None:
    with pytest.raises(FetchError, match="internal address"):
        await harness.fetcher.fetch(f"http://{host}/page")
    assert harness.resolver.asked == [host]
    assert harness.connections == []


@pytest.mark.parametrize(
    "path",
    [
        "/to-metadata",
        "/to-internal",
        "/to-loopback",
        "/to-link-local",
        "/to-mapped",
        "/to-localhost-name",
    ],
)
async def test_redirects_to_inside_are_refused(
    server: BaseTestServer, harness: SimpleNamespace, path: str
) -> None:
    with pytest.raises(FetchError, match="internal address"):
        await harness.fetcher.fetch(str(server.make_url(path)))
    assert harness.connections == ["connected"]  # only the first hop, to our own server


async def test_loopback_is_refused_by_default(settings: Settings) -> None:
    policy = AddressPolicy.from_settings(settings.fetch)
    session = make_session(settings.fetch, policy, StubResolver({"local.test": "127.0.0.1"}))
    try:
        fetcher = Fetcher(session, settings.fetch, policy)
        for url in ("http://127.0.0.1:9/", "http://local.test/"):
            with pytest.raises(FetchError, match="internal address"):
                await fetcher.fetch(url)
    finally:
        await session.close()


def test_public_address_classification() -> None:
    assert is_public_address("93.184.216.34")
    assert is_public_address("2606:2800:220:1:248:1893:25c8:1946")
    for internal in (
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "::ffff:127.0.0.1",
        "fc00::1",
        "0.0.0.0",
        "255.255.255.255",
        "2002:7f00:1::",
        "not-an-ip",
    ):
        assert not is_public_address(internal), internal


async def test_an_invalid_charset_still_reads(
    server: BaseTestServer, harness: SimpleNamespace
) -> None:
    from bot import extract

    page = await harness.fetcher.fetch(str(server.make_url("/bad-charset")))
    assert page.charset == "no-such-charset"
    assert "Piel Island" in page.text()
    assert "Piel Island" in extract.from_html(page.body).text


async def test_failures_are_fast_and_memory_bounded(
    server: BaseTestServer, harness: SimpleNamespace
) -> None:
    import time
    import tracemalloc

    tracemalloc.start()
    started = time.monotonic()
    try:
        for path in ("/endless", "/bomb", "/trickle", "/loop"):
            with pytest.raises(FetchError):
                await harness.fetcher.fetch(str(server.make_url(path)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 10
    assert peak < 20 * 1024 * 1024  # the 200 kB limit, not the 5 MB bomb or the endless body
