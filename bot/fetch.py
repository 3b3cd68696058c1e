"""Fetching web pages with aiohttp: time and size limits, redirects, and an address guard.

The guard refuses loopback, private, link-local, multicast, reserved and unspecified
addresses, both for IP literals in URLs (checked before every request, redirects included)
and for every address a host name resolves to (checked inside the connector's resolver, so
the address that is checked is the one that is connected to).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.settings import FetchSettings

log = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/x-rss+xml",
        "application/x-atom+xml",
    }
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A page could not be fetched; the message is fit to show the user."""


class BlockedAddressError(OSError):
    """Raised inside the resolver: the host resolves to an address we must not contact."""


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses the bot may contact on a user's behalf."""

    allow_private: bool = False
    # Internal networks allowed anyway (e.g. an intranet news site), from settings.
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: FetchSettings) -> AddressPolicy:
        try:
            networks = tuple(
                ipaddress.ip_network(n, strict=False) for n in settings.allowed_networks
            )
        except ValueError as e:
            raise FetchError(f"bad network in fetch.allowed_networks: {e}") from None
        return cls(settings.allow_private_urls, networks)

    def allows(self, address: str) -> bool:
        if self.allow_private or is_public_address(address):
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        return any(ip in network for network in self.allowed_networks)


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
        elif ip.teredo is not None:
            return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and refuses hosts that resolve to a non-public address."""

    def __init__(self, inner: AbstractResolver, policy: AddressPolicy) -> None:
        self._inner = inner
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            if not self._policy.allows(result["host"]):
                log.warning("refused %s: resolves to %s", host, result["host"])
                raise BlockedAddressError(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True)
class FetchedPage:
    url: str  # after redirects
    content_type: str
    body: bytes
    charset: str | None
    status: int = 200  # 304 when a conditional request found nothing new (empty body)
    etag: str | None = None
    last_modified: str | None = None

    def text(self) -> str:
        for encoding in (self.charset, "utf-8"):
            if encoding:
                try:
                    return self.body.decode(encoding)
                except (LookupError, UnicodeDecodeError):
                    continue
        return self.body.decode("utf-8", errors="replace")


def make_session(
    settings: FetchSettings,
    policy: AddressPolicy,
    resolver: AbstractResolver | None = None,
    trace_configs: list[aiohttp.TraceConfig] | None = None,
) -> aiohttp.ClientSession:
    """The one ClientSession of a process, with the address guard in its connector."""
    guarded = GuardedResolver(resolver or aiohttp.ThreadedResolver(), policy)
    connector = aiohttp.TCPConnector(resolver=guarded, limit=20, ttl_dns_cache=60)
    timeout = aiohttp.ClientTimeout(
        total=settings.total_timeout,
        connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"User-Agent": settings.user_agent},
        trust_env=False,  # never route through proxies from the environment
        trace_configs=trace_configs,
    )


class Fetcher:
    def __init__(
        self, session: aiohttp.ClientSession, settings: FetchSettings, policy: AddressPolicy
    ) -> None:
        self._session = session
        self._settings = settings
        self._policy = policy

    def _check_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise FetchError(f"not a valid link: {url}") from None
        if parts.scheme.lower() not in {"http", "https"} or not host:
            raise FetchError(f"only http and https links can be fetched, not {url}")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a host name: the resolver checks every address it resolves to
        if not self._policy.allows(host):
            raise FetchError(f"{host} is an internal address; it will not be fetched")

    async def fetch(
        self,
        url: str,
        accept: frozenset[str] = HTML_TYPES | TEXT_TYPES,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchedPage:
        """GET a page; with ``etag``/``last_modified`` it is a conditional request."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return await self._fetch(url, accept, headers)
        except FetchError:
            raise
        except aiohttp.ClientConnectorError as e:
            if isinstance(e.os_error, BlockedAddressError) or isinstance(
                e.__cause__, BlockedAddressError
            ):
                raise FetchError(
                    f"{urlsplit(url).hostname} is an internal address; it will not be fetched"
                ) from None
            raise FetchError(f"could not connect to {urlsplit(url).hostname}") from e
        except TimeoutError:
            raise FetchError(f"{urlsplit(url).hostname} took too long to answer") from None
        except aiohttp.InvalidURL:
            raise FetchError(f"not a valid link: {url}") from None
        except aiohttp.ClientPayloadError:
            raise FetchError("the page arrived broken (bad compression or cut off)") from None
        except (aiohttp.ClientError, UnicodeError, ValueError) as e:
            log.info("fetch of %s failed: %r", url, e)
            raise FetchError(f"could not fetch {url}: {type(e).__name__}") from None

    async def _fetch(
        self, url: str, accept: frozenset[str], headers: dict[str, str]
    ) -> FetchedPage:
        current = url
        for _ in range(self._settings.max_redirects + 1):
            self._check_url(current)
            async with self._session.get(
                current, allow_redirects=False, headers=headers
            ) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    current = urljoin(current, response.headers["Location"])
                    continue
                return await self._read(current, response, accept)
        raise FetchError(f"too many redirects (more than {self._settings.max_redirects})")

    async def _read(
        self, url: str, response: aiohttp.ClientResponse, accept: frozenset[str]
    ) -> FetchedPage:
        if response.status == 304:
            return FetchedPage(
                url,
                "",
                b"",
                None,
                304,
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
            )
        if response.status == 404 or response.status == 410:
            raise FetchError(f"page not found ({response.status})")
        if response.status in (401, 402, 403):
            raise FetchError(f"the site refused access ({response.status}); paywalled?")
        if response.status == 429:
            raise FetchError("the site is rate-limiting us (429); try again later")
        if response.status >= 400:
            raise FetchError(f"the site answered with an error ({response.status})")
        content_type = response.content_type.lower()
        if content_type not in accept:
            raise FetchError(f"not a web page (it is {content_type or 'of unknown type'})")
        limit = self._settings.max_bytes
        if response.content_length is not None and response.content_length > limit:
            raise FetchError(f"the page is too big (over {limit // 1_000_000} MB)")
        chunks: list[bytes] = []
        size = 0
        # Counts decompressed bytes, so a compression bomb stops at the limit too.
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"the page is too big (over {limit // 1_000_000} MB)")
            chunks.append(chunk)
        return FetchedPage(
            url=str(response.url) if str(response.url) else url,
            content_type=content_type,
            body=b"".join(chunks),
            charset=response.charset,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )


async def close_session(session: aiohttp.ClientSession) -> None:
    await session.close()
    # Let the connector's transports close before the loop goes (aiohttp's advice).
    await asyncio.sleep(0)
