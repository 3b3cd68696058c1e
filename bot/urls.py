"""The one place for URLs: finding them, checking them, canonicalising them."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'«»]+", re.IGNORECASE)
_TRACKING_PARAMS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|yclid|igshid|_ga|ref_src|cmpid)$",
    re.IGNORECASE,
)


def find_urls(text: str) -> list[str]:
    """http(s) URLs in free text, without trailing punctuation, in order, without repeats."""
    found = []
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group().rstrip(".,;:!?")
        # A closing bracket belongs to the URL only if it opened one.
        while url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        found.append(url)
    return list(dict.fromkeys(found))


def is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """Same article, same string: lower-case scheme and host, no default port, no fragment,
    no tracking parameters, no trailing slash on paths."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = parts.port
    netloc = (
        host
        if port is None or (scheme, port) in {("http", 80), ("https", 443)}
        else (f"{host}:{port}")
    )
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    path = parts.path if parts.path not in {"", "/"} else "/"
    if len(path) > 1:
        path = path.rstrip("/")
    if scheme == "http":
        scheme = "https"  # the same page is usually served on both
    return urlunsplit((scheme, netloc, path, query, ""))


def site_name(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def site_root(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
