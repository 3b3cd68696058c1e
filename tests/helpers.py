"""Small factories and checks shared by the tests."""

from __future__ import annotations

import asyncio
import html.parser
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.settings import Settings, load_settings
from store.models import ArticleInput

DATA = Path(__file__).parent / "data"
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}


def make_settings(tmp_path: Path, allow_private: bool = False, **env: str) -> Settings:
    environ = {"NEWSBOT_DB": str(tmp_path / "news.db"), **env}
    if allow_private:
        environ["NEWSBOT_ALLOW_PRIVATE_URLS"] = "1"
    return load_settings(environ=environ)


def article(
    title: str = "Harbour reopens after repairs",
    text: str = "The harbour reopened on Monday after repairs to the sea wall were finished. "
    "Fishing boats returned to their moorings within hours of the announcement.",
    url: str | None = None,
    source: str | None = "Test Times",
    published: str | None = "2026-11-20",
) -> ArticleInput:
    from bot.urls import canonical_url

    return ArticleInput(
        title=title,
        text=text,
        url=url,
        canonical_url=canonical_url(url) if url else None,
        source=source,
        source_url=None,
        published=published,
    )


class TelegramHTMLError(ValueError):
    pass


class _Checker(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            raise TelegramHTMLError(f'can\'t parse entities: unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise TelegramHTMLError(f'can\'t parse entities: unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            raise TelegramHTMLError(f"can't parse entities: unsupported entity &{name};")
        self.text.append({"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name])

    def handle_charref(self, name: str) -> None:
        self.text.append(chr(int(name[1:], 16) if name.lower().startswith("x") else int(name)))


def telegram_html_text(message: str) -> str:
    """Parse as Telegram does (roughly): only its tags, balanced, known entities.
    Returns the visible text; raises TelegramHTMLError like Telegram's 'can't parse entities'."""
    checker = _Checker()
    checker.feed(message)
    checker.close()
    if checker.stack:
        raise TelegramHTMLError(f'can\'t parse entities: unclosed tag "{checker.stack[-1]}"')
    if checker.rawdata:
        raise TelegramHTMLError("can't parse entities: unfinished markup")
    return "".join(checker.text)


async def eventually(check: Callable[[], Awaitable[bool]], limit: float = 10.0) -> None:
    """Await a condition that has no event to wait on (a row written on another thread):
    re-check it every 10 ms, and fail after ``limit`` seconds."""

    async def poll() -> None:
        # Nothing to wait on but the database itself.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), limit)


def document_frequencies(conn: sqlite3.Connection) -> dict[str, int]:
    """Passages holding each term, counted from the stored passages themselves."""
    counts: Counter[str] = Counter()
    for (terms,) in conn.execute("SELECT terms FROM passages"):
        counts.update(set(terms.split()))
    return dict(counts)
