"""Questions: /ask, plain text in private chats, mentions and replies in groups, "More"."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.access import Action
from bot.handlers import ingest
from bot.handlers.common import (
    NO_PREVIEW,
    command_argument,
    deps,
    is_private,
    permitted,
    reply,
    typing,
)
from bot.urls import find_urls
from store.models import SearchPage

log = logging.getLogger(__name__)

ASK_USAGE = "Put your question after the command, e.g. /ask What did the council decide?"
EXPIRED = "This answer has expired. Please ask again."


def _more_button(query_id: int, offset: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton("More", callback_data=f"more:{query_id}:{offset}")]]
    )


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    if not await permitted(update, context, Action.ASK):
        return
    d = deps(context)
    await typing(update, context)
    per_page = d.service.settings.bot.results_per_page
    chat = update.effective_chat
    page = await d.service.ask(question, per_page, chat_id=chat.id if chat else None)
    if not page.hits and not is_private(update):
        return  # in groups, silence is better than "nothing found"
    markup = None
    if page.has_more:
        user = update.effective_user
        query_id = await d.service.remember_query(
            question, chat.id if chat else None, user.id if user else None
        )
        markup = _more_button(query_id, per_page)
    await reply(update, _html(page, context), reply_markup=markup)


def _html(page: SearchPage, context: ContextTypes.DEFAULT_TYPE) -> str:
    settings = deps(context).service.settings.render
    return render.answer_html(
        page,
        now=datetime.now(UTC),
        max_chars=settings.max_message_chars,
        max_quote_chars=settings.max_quote_chars,
    )


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    question = command_argument(message)
    if not question:
        await reply(update, ASK_USAGE)
        return
    await answer(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a private chat, links are news to store and anything else is a question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if find_urls(message.text):
        await ingest.links(update, context)
        return
    if not message.text.strip():
        await reply(update, render.NO_TERMS)
        return
    await answer(update, context, message.text)


def _addressed_question(message: Message, bot_id: int, username: str) -> str | None:
    """The question in a group message meant for the bot, or None if it is not for us."""
    text = message.text or ""
    mention = f"@{username}".lower()
    mentioned = False
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lower() == mention:
            mentioned = True
    for entity in message.entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            mentioned = True
    replied = (
        message.reply_to_message is not None
        and message.reply_to_message.from_user is not None
        and message.reply_to_message.from_user.id == bot_id
    )
    if not (mentioned or replied):
        return None
    return re.sub(re.escape(mention), " ", text, flags=re.IGNORECASE).strip()


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    question = _addressed_question(message, context.bot.id, context.bot.username)
    if question is None:
        return
    if find_urls(question):
        await ingest.links(update, context)
    elif question:
        await answer(update, context, question)


async def more_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    try:
        _, query_id, offset = query.data.split(":")
        saved = await deps(context).service.saved_query(int(query_id))
    except ValueError:
        saved = None
    if saved is None:
        await query.answer(EXPIRED, show_alert=True)
        return
    chat = update.effective_chat
    if saved.chat_id is not None and chat is not None and saved.chat_id != chat.id:
        await query.answer("This button belongs to another chat.", show_alert=True)
        return
    if not await permitted(update, context, Action.ASK):
        await query.answer()
        return
    d = deps(context)
    per_page = d.service.settings.bot.results_per_page
    page = await d.service.ask(
        saved.text, per_page, int(offset), chat_id=chat.id if chat is not None else None
    )
    if not page.hits:
        await query.answer("That was everything I have on this.")
        return
    await query.answer()
    markup = _more_button(saved.id, int(offset) + per_page) if page.has_more else None
    try:  # the old button has done its job
        await query.edit_message_reply_markup(None)
    except TelegramError as e:
        log.debug("could not remove the old button: %s", e)
    if query.message is not None:
        await context.bot.send_message(
            query.message.chat.id,
            _html(page, context),
            parse_mode="HTML",
            reply_markup=markup,
            link_preview_options=NO_PREVIEW,
        )
