"""The JobQueue job that matches new articles and sends due alerts from the outbox.

An alert is in the outbox before it is sent and is marked sent only after Telegram accepted
the message, so a crash or restart loses none.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from telegram import LinkPreviewOptions
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.alerts import Delivery
from bot.handlers.common import deps

log = logging.getLogger(__name__)


def delivery_html(delivery: Delivery, now: datetime, max_chars: int) -> str:
    if delivery.kind == "single":
        alert = delivery.alerts[0]
        return render.alert_html(alert.topic, alert.hit, now=now, max_chars=max_chars)
    items = [(a.topic, a.hit) for a in delivery.alerts[: delivery.listed]]
    count = len(delivery.alerts)
    heading = (
        f"📰 <b>Your daily digest</b>: {count} new {'story' if count == 1 else 'stories'}"
        if delivery.kind == "digest"
        else f"🔔 <b>{count} new stories</b> on your topics:"
    )
    return render.stories_html(heading, items, count, now=now, max_chars=max_chars)


async def alerts_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    running: asyncio.Lock = context.bot_data.setdefault("alerts_running", asyncio.Lock())
    if running.locked():
        return  # the previous round is still sending
    async with running:
        await _round(context)


async def _round(context: ContextTypes.DEFAULT_TYPE) -> None:
    d = deps(context)
    while await d.alerts.match_new_articles():
        pass  # a whole batch came back: there may be more
    now = d.alerts.clock()
    max_chars = d.service.settings.render.max_message_chars
    for delivery in await d.alerts.due(now):
        try:
            await context.bot.send_message(
                delivery.chat_id,
                delivery_html(delivery, datetime.now(UTC), max_chars),
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        except Forbidden as e:
            log.info("chat %s blocked the bot (%s); pausing its subscriptions", delivery.chat_id, e)
            await d.alerts.chat_blocked(delivery.chat_id)
        except RetryAfter as e:
            log.warning(
                "flood control for chat %s: retrying in %s", delivery.chat_id, e.retry_after
            )
            await d.alerts.retry_later(delivery, str(e), now, wait=e.retry_after)  # type: ignore[arg-type]
        except TelegramError as e:
            given_up = await d.alerts.retry_later(delivery, str(e), now)
            log.warning("alert to chat %s failed: %s", delivery.chat_id, e)
            if given_up:
                log.error(
                    "gave up %d alert(s) to chat %s after repeated failures: %s",
                    given_up,
                    delivery.chat_id,
                    e,
                )
        else:
            await d.alerts.delivered(delivery)
