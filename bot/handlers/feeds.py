"""/addfeed, /feeds and their remove buttons; the JobQueue job that polls due feeds."""

from __future__ import annotations

import asyncio
import html
import logging
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.feeds import FeedError
from bot.handlers.common import command_argument, deps, manages_news, reply, typing
from store.models import Feed

log = logging.getLogger(__name__)

ADMINS_ONLY = "Only the bot's admins can manage feeds."


# Telegram refuses a keyboard of over 100 buttons, or of over about 10 kB: one "Remove"
# button for each of this many feeds.
_FEEDS_WITH_BUTTONS = 50


def _listing(feeds: list[Feed], now: datetime) -> tuple[str, InlineKeyboardMarkup | None]:
    if not feeds:
        return "No feeds yet. Add one with /addfeed and the address of a feed or a news site.", None
    lines = ["<b>Feeds</b>:"]
    buttons: list[list[InlineKeyboardButton]] = []
    for feed in feeds:
        name = html.escape(render.truncate(feed.title or feed.url, 80), quote=False)
        fetched = render.age(feed.last_fetched_at, now) or "not yet"
        line = (
            f'• <a href="{html.escape(feed.url, quote=True)}">{name}</a>: '
            f"{feed.items} items, last fetched {fetched}"
        )
        if feed.last_error:
            line += f" — <i>error: {html.escape(render.truncate(feed.last_error, 120))}</i>"
        lines.append(line)
        if len(buttons) < _FEEDS_WITH_BUTTONS:
            buttons.append(
                [
                    InlineKeyboardButton(
                        f"Remove {render.truncate(feed.title or feed.url, 30)}",
                        callback_data=f"feed:{feed.id}:remove",
                    )
                ]
            )
    if len(feeds) > _FEEDS_WITH_BUTTONS:
        lines[0] = (
            f"<b>Feeds</b> (buttons for the first {_FEEDS_WITH_BUTTONS}; "
            "<code>newsbot feeds remove URL</code> removes any):"
        )
    return render.lines_html(lines), InlineKeyboardMarkup(buttons)


async def add_feed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if not manages_news(update, context):
        await reply(update, ADMINS_ONLY)
        return
    url = command_argument(message)
    if not url:
        await reply(
            update, "Put the address after the command, e.g. /addfeed https://example.org/rss"
        )
        return
    await typing(update, context)
    user = update.effective_user
    try:
        feed, created = await deps(context).feeds.add(url, user.id if user else None)
    except FeedError as e:
        await reply(update, f"Could not add that feed: {html.escape(str(e))}")
        return
    name = html.escape(feed.title or feed.url, quote=False)
    if created:
        await reply(
            update,
            f"Added <b>{name}</b>: {feed.items} items stored so far. "
            "New items are fetched regularly; /feeds lists them.",
        )
    else:
        await reply(update, f"<b>{name}</b> is already in the list.")


async def list_feeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    feeds = await deps(context).feeds.feeds()
    text, markup = _listing(feeds, datetime.now(UTC))
    if not manages_news(update, context):
        markup = None
    await reply(update, text, reply_markup=markup)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not manages_news(update, context):
        await query.answer(ADMINS_ONLY, show_alert=True)
        return
    try:
        feed_id = int(query.data.split(":")[1])
    except (IndexError, ValueError):
        await query.answer("This button no longer works.")
        return
    removed = await deps(context).feeds.remove(feed_id)
    await query.answer("Removed." if removed else "Already gone.")
    text, markup = _listing(await deps(context).feeds.feeds(), datetime.now(UTC))
    try:
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=markup)
    except TelegramError as e:
        log.debug("could not refresh the feed list: %s", e)


async def feeds_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    running: asyncio.Lock = context.bot_data.setdefault("feeds_running", asyncio.Lock())
    if running.locked():
        return  # the previous round is still fetching
    async with running:
        for result in await deps(context).feeds.poll_due():
            if result.stored:
                log.info("feed %s: %d new articles", result.feed, result.stored)
