"""What every handler needs: the service, access checks, rate limits, safe replies."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.access import AccessControl, Action, RateLimiter
from bot.alerts import AlertService
from bot.feeds import FeedService
from bot.service import NewsService

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

REFUSED = {
    Action.ASK: "Sorry, I only answer questions for the people my owner chose. "
    "Your Telegram id is {user_id}: send it to them if you should be on the list.",
    Action.ADD: "Sorry, only the people my owner chose can add news here. "
    "Your Telegram id is {user_id}: send it to them if you should be on the list.",
}
SLOW_DOWN = {
    Action.ASK: "You are asking faster than I can keep up with. Please wait a minute.",
    Action.ADD: "You are adding news faster than I can keep up with. Please wait a minute.",
}


@dataclass(frozen=True)
class BotDeps:
    """Shared objects, created in post_init and closed in post_shutdown."""

    service: NewsService
    alerts: AlertService
    feeds: FeedService
    access: AccessControl
    limiter: RateLimiter


def deps(context: ContextTypes.DEFAULT_TYPE) -> BotDeps:
    found: BotDeps = context.bot_data["deps"]
    return found


def is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def permitted(update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action) -> bool:
    """Access and rate limit for this update's user; tells the user when the answer is no."""
    d = deps(context)
    user = update.effective_user
    chat = update.effective_chat
    user_id = user.id if user else None
    if not d.access.allows(action, user_id, chat.id if chat else None):
        log.info("refused %s for user %s in chat %s", action, user_id, chat.id if chat else None)
        if is_private(update):
            await reply(update, REFUSED[action].format(user_id=user_id))
        return False
    if (
        user_id is not None
        and not d.access.is_admin(user_id)
        and not d.limiter.allow(user_id, action)
    ):
        await reply(update, SLOW_DOWN[action])
        return False
    return True


def command_argument(message: Message | None) -> str:
    """The text after the command ("/ask", "/ask@botname"), as typed."""
    return re.sub(r"^/\S+", "", (message.text or "") if message else "", count=1).strip()


def manages_news(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Whether this user may manage feeds and remove stored articles: the bot's admins, or,
    with no admins configured, whoever may add news."""
    d = deps(context)
    user, chat = update.effective_user, update.effective_chat
    user_id = user.id if user else None
    if d.access.is_admin(user_id):
        return True
    return not d.service.settings.access.admins and d.access.allows(
        Action.ADD, user_id, chat.id if chat else None
    )


async def reply(update: Update, html: str, **kwargs: object) -> Message | None:
    """Reply in HTML to the update's message (or send to its chat)."""
    message = update.effective_message
    if message is None:
        return None
    sent: Message = await message.reply_html(
        html,
        link_preview_options=NO_PREVIEW,
        do_quote=not is_private(update),
        **kwargs,  # type: ignore[arg-type]
    )
    return sent


async def typing(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show "typing…" while we work; never let a failure here stop the answer."""
    if update.effective_chat is None:
        return
    try:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    except TelegramError as e:
        log.debug("chat action failed: %s", e)


async def drop_bot_messages(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if (
        isinstance(update, Update)
        and update.message
        and update.message.from_user
        and (update.message.from_user.is_bot)
    ):
        raise ApplicationHandlerStop
