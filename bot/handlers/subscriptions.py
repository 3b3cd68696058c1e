"""/subscribe, /subscriptions, /unsubscribe, /settings and the subscription buttons."""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.access import Action
from bot.alerts import TopicError
from bot.handlers.common import command_argument, deps, is_private, permitted, reply
from store.models import Subscription

log = logging.getLogger(__name__)

NOT_ADMIN = "Only the group's admins can change its subscriptions."
NONE_YET = (
    "No subscriptions yet. Subscribe to a topic with /subscribe and a few words, "
    'e.g. /subscribe "rail strike" -bus'
)


async def _may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In a private chat the user manages their own; in a group only its admins may."""
    if is_private(update):
        return True
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return False
    if deps(context).access.is_admin(user.id):
        return True
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as e:
        log.info("could not check admin status in %s: %s", chat.id, e)
        return False
    return member.status in {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


# Telegram refuses a keyboard of over 100 buttons ("reply markup is too long"): buttons for
# this many topics (three each), and /unsubscribe by name for any further ones.
_TOPICS_WITH_BUTTONS = 25


def _keyboard(subscriptions: list[Subscription]) -> InlineKeyboardMarkup | None:
    rows = []
    for sub in subscriptions[:_TOPICS_WITH_BUTTONS]:
        label = render.truncate(sub.query, 24)
        rows.append(
            [
                InlineKeyboardButton(
                    f"▶ {label}" if sub.paused else f"⏸ {label}",
                    callback_data=f"sub:{sub.id}:{'resume' if sub.paused else 'pause'}",
                ),
                InlineKeyboardButton(
                    "Instant" if sub.mode == "digest" else "Digest",
                    callback_data=f"sub:{sub.id}:{'instant' if sub.mode == 'digest' else 'digest'}",
                ),
                InlineKeyboardButton("Delete", callback_data=f"sub:{sub.id}:delete"),
            ]
        )
    return InlineKeyboardMarkup(rows) if rows else None


def _listing(subscriptions: list[Subscription]) -> str:
    if not subscriptions:
        return NONE_YET
    head = "Your topics (use the buttons to pause, switch to a daily digest, or delete):"
    if len(subscriptions) > _TOPICS_WITH_BUTTONS:
        head = (
            f"Your topics (buttons for the first {_TOPICS_WITH_BUTTONS}; "
            "/unsubscribe and a topic's words remove any of them):"
        )
    lines = [head]
    lines += ["• " + render.subscription_line(s.query, s.mode, s.paused) for s in subscriptions]
    return render.lines_html(lines)


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None or not await permitted(update, context, Action.ASK):
        return
    if not await _may_manage(update, context):
        await reply(update, NOT_ADMIN)
        return
    try:
        sub, created = await deps(context).alerts.subscribe(
            chat.id, user.id if user else None, command_argument(update.effective_message)
        )
    except TopicError as e:
        await reply(update, html.escape(str(e)))
        return
    topic = html.escape(sub.query)
    if created:
        hint = render.did_you_mean(await deps(context).alerts.respellings(sub.query))
        await reply(
            update,
            f"Subscribed to <b>{topic}</b>. I will tell you when new stories "
            "match. /subscriptions shows your topics." + (f"\n\n<i>{hint}</i>" if hint else ""),
        )
    else:
        await reply(update, f"You are already subscribed to <b>{topic}</b>.")


async def list_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await permitted(update, context, Action.ASK):
        return
    subs = await deps(context).alerts.subscriptions(chat.id)
    await reply(update, _listing(subs), reply_markup=_keyboard(subs))


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    topic = command_argument(update.effective_message)
    if chat is None or not topic:
        await list_subscriptions(update, context)
        return
    if not await _may_manage(update, context):
        await reply(update, NOT_ADMIN)
        return
    if await deps(context).alerts.unsubscribe_topic(chat.id, topic):
        await reply(update, f"Unsubscribed from <b>{html.escape(topic)}</b>.")
    else:
        await reply(
            update,
            f"No subscription to <b>{html.escape(topic)}</b> here. /subscriptions lists them.",
        )


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    chat = update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    try:
        _, sub_id, action = query.data.split(":")
        subscription_id = int(sub_id)
    except ValueError:
        await query.answer("This button no longer works.")
        return
    if not await _may_manage(update, context):
        await query.answer(NOT_ADMIN, show_alert=True)
        return
    alerts = deps(context).alerts
    if action == "delete":
        done = await alerts.delete(subscription_id, chat.id)
        await query.answer("Deleted." if done else "Already gone.")
    elif action in {"pause", "resume", "instant", "digest"}:
        changed = await alerts.change(subscription_id, chat.id, action)
        await query.answer(
            {
                "pause": "Paused.",
                "resume": "Resumed.",
                "instant": "Alerts will come at once.",
                "digest": "Alerts will come in the daily digest.",
            }[action]
            if changed
            else "That subscription is gone."
        )
    else:
        await query.answer("This button no longer works.")
        return
    subs = await alerts.subscriptions(chat.id)
    try:
        await query.edit_message_text(
            _listing(subs), parse_mode="HTML", reply_markup=_keyboard(subs)
        )
    except TelegramError as e:  # e.g. "message is not modified"
        log.debug("could not refresh the subscription list: %s", e)


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None or not await permitted(update, context, Action.ASK):
        return
    alerts = deps(context).alerts
    words = command_argument(update.effective_message).split(maxsplit=1)
    if words:
        if not await _may_manage(update, context):
            await reply(update, NOT_ADMIN)
            return
        try:
            await alerts.update_settings(
                chat.id, words[0].lower(), words[1] if len(words) > 1 else ""
            )
        except TopicError as e:
            await reply(update, html.escape(str(e)))
            return
    current = await alerts.delivery_settings(chat.id)
    quiet = (
        f"{current.quiet_start}:00–{current.quiet_end}:00"
        if current.quiet_start is not None
        else "off"
    )
    await reply(
        update,
        (
            f"<b>Timezone</b>: {html.escape(current.timezone)}\n"
            f"<b>Daily digest</b>: at {current.digest_hour}:00\n"
            f"<b>Quiet hours</b>: {quiet} (instant alerts wait until they end)\n\n"
            "Change with /settings timezone Europe/Berlin, /settings digest 8, "
            "/settings quiet 22-7 or /settings quiet off."
        ),
    )
