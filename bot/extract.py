"""Documents -> ArticleInput. Pure functions: no network, no database.

HTML goes through trafilatura, which keeps the main text and drops menus, share buttons,
cookie banners and footers, and also finds the title, date, site name and canonical URL.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from typing import Any

import trafilatura
from dateutil import parser as date_parser

from bot.urls import canonical_url, is_web_url, site_name, site_root
from store.models import ArticleInput

log = logging.getLogger(__name__)

# trafilatura logs every page it finds too short at WARNING; that is our "empty page" error.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


class ExtractError(Exception):
    """A document has no usable article in it; the message is fit to show the user."""


_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_TITLE_MAX_CHARS = 200


def parse_date(value: Any) -> str | None:
    """An ISO date (or date-time, in UTC) from whatever a source gives, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return value.isoformat()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            parsed = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError:
                return None
        try:
            parsed = date_parser.parse(text)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.replace(tzinfo=None).isoformat(timespec="seconds")


def title_from_text(text: str) -> str:
    """A title for untitled text: its first sentence, shortened at a word boundary."""
    first = re.split(r"(?<=[.!?])\s", " ".join(text.split()), maxsplit=1)[0]
    if len(first) <= 90:
        return first
    cut = first[:90].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _split_title(text: str) -> tuple[str | None, str]:
    """Use the first line as the title when it looks like one."""
    lines = text.strip().split("\n", 1)
    if len(lines) < 2:
        return None, text
    first = _MARKDOWN_HEADING.sub("", lines[0]).strip()
    rest = lines[1].strip()
    looks_like_title = (
        first
        and len(first) <= _TITLE_MAX_CHARS
        and len(first.split()) <= 30
        and not first.endswith((".", ",", ";", ":"))
        and len(rest.split()) >= 5
    )
    return (first, rest) if looks_like_title else (None, text)


def from_text(
    text: str,
    *,
    url: str | None = None,
    source: str | None = None,
    title: str | None = None,
    markdown: bool = False,
    published: str | None = None,
) -> ArticleInput:
    if markdown:
        text = _MARKDOWN_LINK.sub(r"\1", text)
    found_title, body = _split_title(text) if title is None else (title, text)
    if markdown:
        body = "\n".join(_MARKDOWN_HEADING.sub("", line) for line in body.split("\n"))
    if not body.strip():
        raise ExtractError("there is no text in it")
    return _article(found_title or title_from_text(body), body, url, source, published)


def _article(
    title: str, text: str, url: str | None, source: str | None, published: str | None
) -> ArticleInput:
    web = url if url and is_web_url(url) else None
    return ArticleInput(
        title=" ".join(title.split()),
        text=text,
        url=url,
        canonical_url=canonical_url(web) if web else None,
        source=source or (site_name(web) if web else None),
        source_url=site_root(web) if web else None,
        published=published,
    )


def from_html(html: str | bytes, *, url: str | None = None) -> ArticleInput:
    try:
        document = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            favor_precision=True,
        )
    except Exception as e:  # trafilatura raises many kinds on broken markup
        log.info("extraction failed for %s: %r", url, e)
        raise ExtractError("the page could not be read as an article") from None
    text = getattr(document, "text", None) if document is not None else None
    if not text or not text.strip():
        raise ExtractError("no article text found on the page (empty, paywalled or script-only)")
    # trafilatura separates paragraphs with single newlines; ours are blank lines.
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    title = getattr(document, "title", None) or None
    if title and len(paragraphs) > 1 and paragraphs[0].casefold() == title.strip().casefold():
        paragraphs = paragraphs[1:]  # the headline, repeated as the first line
    text = "\n\n".join(paragraphs)
    page_url = url
    found = getattr(document, "url", None)
    if found and is_web_url(found) and (url is None or _same_site(found, url)):
        page_url = found  # the page's own canonical link
    title = title or title_from_text(text)
    source = getattr(document, "sitename", None) or None
    return _article(title, text, page_url, source, parse_date(getattr(document, "date", None)))


def _same_site(a: str, b: str) -> bool:
    # A canonical link to another site is not trusted: it would let a page claim any URL.
    return site_name(a) == site_name(b)


def from_record(record: Any) -> ArticleInput:
    """One JSON Lines object: {"url","title","published","text","source"}; extra keys ignored."""
    if not isinstance(record, dict):
        raise ExtractError("each line must be a JSON object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ExtractError('"text" is missing or empty')
    for key in ("url", "title", "source"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ExtractError(f'"{key}" must be a string or null')
    url = record.get("url") or None
    if url is not None and not is_web_url(url):
        raise ExtractError(f'"url" is not an http(s) link: {url[:100]}')
    published = parse_date(record.get("published"))
    if record.get("published") and published is None:
        raise ExtractError(f'"published" is not a date: {str(record["published"])[:50]}')
    title = (record.get("title") or "").strip() or title_from_text(text)
    return _article(title, text, url, record.get("source") or None, published)
