"""Adding news from Telegram: forwards, pasted links, documents, channel posts and edits;
and /forget, removing a stored article."""

from __future__ import annotations

import html
import logging

from telegram import (
    Chat,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    Update,
)
from telegram.ext import ContextTypes

from bot import render
from bot.access import Action
from bot.handlers.common import command_argument, deps, manages_news, permitted, reply, typing
from bot.service import IngestOutcome, Post
from bot.urls import find_urls, is_web_url

log = logging.getLogger(__name__)

NO_TEXT = "There is no text in that message for me to store."


def _text_and_links(message: Message) -> tuple[str, tuple[str, ...]]:
    text = message.text or message.caption or ""
    if message.text is not None:
        entities = message.parse_entities([MessageEntity.URL, MessageEntity.TEXT_LINK])
    else:
        entities = message.parse_caption_entities([MessageEntity.URL, MessageEntity.TEXT_LINK])
    links = [
        entity.url if entity.type == MessageEntity.TEXT_LINK and entity.url else value
        for entity, value in sorted(entities.items(), key=lambda item: item[0].offset)
    ]
    links += find_urls(text)  # plain links Telegram did not mark
    return text, tuple(dict.fromkeys(link for link in links if link.startswith("http")))


def _channel_post(
    text: str, links: tuple[str, ...], chat: Chat, message_id: int, published: str | None
) -> Post:
    """A channel's post: linked as https://t.me/<channel>/<id> when the channel is public;
    otherwise keyed by chat and message id, so an edit still replaces it."""
    url = f"https://t.me/{chat.username}/{message_id}" if chat.username else None
    return Post(
        text,
        links,
        chat.title or "a channel",
        url=url,
        key=None if url else f"tg://chat/{chat.id}/{message_id}",
        published=published,
    )


def post_from_forward(message: Message) -> Post:
    """The original of a forwarded message: its channel (with a t.me link when public),
    or the name of the person or chat it came from."""
    text, links = _text_and_links(message)
    origin = message.forward_origin
    published = origin.date.isoformat() if origin is not None else None
    if isinstance(origin, MessageOriginChannel):
        return _channel_post(text, links, origin.chat, origin.message_id, published)
    if isinstance(origin, MessageOriginUser):
        source = origin.sender_user.full_name
    elif isinstance(origin, MessageOriginHiddenUser):
        source = origin.sender_user_name
    elif isinstance(origin, MessageOriginChat):
        source = origin.sender_chat.title or "a group"
    else:
        source = "a forwarded message"
    return Post(text, links, source, published=published)


def post_from_channel(message: Message) -> Post:
    text, links = _text_and_links(message)
    return _channel_post(text, links, message.chat, message.message_id, message.date.isoformat())


def _outcomes_html(outcomes: list[IngestOutcome]) -> str:
    return render.lines_html(
        [render.outcome_html(o.status, o.title, o.passages, o.source, o.reason) for o in outcomes]
    )


async def forwarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not await permitted(update, context, Action.ADD):
        return
    post = post_from_forward(message)
    if not post.text.strip():
        await reply(update, NO_TEXT)
        return
    await typing(update, context)
    outcomes = await deps(context).service.ingest_post(post, label=post.url or post.source)
    await reply(update, _outcomes_html(outcomes) or NO_TEXT)


async def links(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not await permitted(update, context, Action.ADD):
        return
    await typing(update, context)
    outcomes = await deps(context).service.ingest_links(message.text or "")
    await reply(update, _outcomes_html(outcomes))


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.document is None:
        return
    if not await permitted(update, context, Action.ADD):
        return
    d = deps(context)
    doc = message.document
    name = doc.file_name or "document"
    limit = d.service.settings.bot.max_document_bytes
    if doc.file_size is not None and doc.file_size > limit:
        await reply(
            update,
            render.outcome_html(
                "failed", None, 0, name, f"the file is too big (over {limit // 1_000_000} MB)"
            ),
        )
        return
    await typing(update, context)
    file = await doc.get_file()
    data = bytes(await file.download_as_bytearray())
    if len(data) > limit:
        outcome = IngestOutcome(name, "failed", reason="the file is too big")
    elif name.lower().endswith((".html", ".htm")):
        outcome = await d.service.ingest_html(data, source_label=name)
    else:
        outcome = await d.service.ingest_text(
            data.decode("utf-8-sig", errors="replace"),
            source_label=name,
            source=name,
            markdown=name.lower().endswith(".md"),
        )
    await reply(update, _outcomes_html([outcome]))


async def channel_post(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Posts (and edits) in channels where the bot is an admin. Nothing is said in the channel."""
    message = update.channel_post or update.edited_channel_post
    if message is None:
        return
    if not deps(context).access.allows(Action.ADD, None, message.chat.id):
        log.info("ignored a post from channel %s: not allowed to add news", message.chat.id)
        return
    post = post_from_channel(message)
    if not post.text.strip():
        return
    outcomes = await deps(context).service.ingest_post(post, label=post.url or post.source)
    for outcome in outcomes:
        log.info("channel %s: %s %s", message.chat.id, outcome.status, outcome.title or "")


FORGET_USAGE = (
    "Put the link of a stored article after the command, e.g. /forget https://example.org/story"
)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget LINK: remove a stored article (one added by mistake, or spam)."""
    message = update.effective_message
    if message is None:
        return
    if not manages_news(update, context):
        await reply(update, "Only the bot's admins can remove stored articles.")
        return
    link = command_argument(message)
    if not link:
        await reply(update, FORGET_USAGE)
        return
    if not is_web_url(link):
        await reply(update, "That is not a link. " + FORGET_USAGE)
        return
    removed = await deps(context).service.remove(link)
    if removed is None:
        await reply(update, "No article is stored at that link.")
        return
    title = html.escape(removed.title, quote=False)
    await reply(update, f"Removed <b>{title}</b>. It will not be quoted or alerted about again.")
