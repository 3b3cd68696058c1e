"""/start, /help, /stats, /sources, and what to say to things the bot cannot use."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from telegram import Update
from telegram.ext import ContextTypes

from bot import render
from bot.handlers.common import deps, reply

UNSUPPORTED = (
    "I can read text, links, forwarded posts and .txt, .html or .md files, but not this kind "
    "of message. Send me news, or ask a question. /help shows how."
)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, render.HELP_HTML)


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    stats = await deps(context).service.stats()
    await reply(
        update,
        render.stats_html(stats.articles, stats.passages, stats.sources, stats.database_bytes),
    )


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    sources = await deps(context).service.sources()
    await reply(
        update,
        render.sources_html(
            [(s.name, s.url, s.articles, s.last_added) for s in sources], datetime.now(UTC)
        ),
    )


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    command = (message.text or "").split()[0] if message and message.text else "that"
    await reply(update, f"I don't know {html.escape(command[:64])}. /help lists what I can do.")


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, UNSUPPORTED)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.callback_query is not None:
        await update.callback_query.answer("This button no longer works.")
