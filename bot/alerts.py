"""Topic alerts: subscribing, and deciding what to send when (quiet hours, digests, bursts).

Matching and the outbox live in the store; the Telegram sending is a JobQueue job
(bot/handlers/alert_job.py). Everything here takes the time as an argument, so tests control
the clock.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.settings import Settings
from store.db import AsyncStore
from store.models import PendingAlert, Subscription
from store.text import parse_topic

MAX_TOPIC_CHARS = 200


class TopicError(Exception):
    """A subscription request that cannot be done; the message is fit to show the user."""


@dataclass(frozen=True)
class DeliverySettings:
    """A chat's settings with the defaults filled in."""

    timezone: str
    digest_hour: int
    quiet_start: int | None
    quiet_end: int | None
    last_digest_on: str | None

    def local(self, now: datetime) -> datetime:
        return now.astimezone(zoneinfo.ZoneInfo(self.timezone))

    def quiet(self, now: datetime) -> bool:
        if self.quiet_start is None or self.quiet_end is None:
            return False
        hour = self.local(now).hour
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= hour < self.quiet_end
        return hour >= self.quiet_start or hour < self.quiet_end  # across midnight

    def digest_due(self, now: datetime) -> bool:
        local = self.local(now)
        return local.hour >= self.digest_hour and self.last_digest_on != local.date().isoformat()


@dataclass(frozen=True)
class Delivery:
    """One message to send: a single alert, a list (a burst), or the daily digest."""

    chat_id: int
    kind: str  # "single", "list" or "digest"
    alerts: tuple[PendingAlert, ...]  # all of them are marked sent when the message is
    listed: int  # how many are shown; the rest are counted
    local_day: date | None = None  # for digests


def plan_deliveries(
    pending: list[PendingAlert],
    settings_by_chat: dict[int, DeliverySettings],
    now: datetime,
    burst_size: int,
    max_per_message: int,
) -> list[Delivery]:
    by_chat: dict[int, list[PendingAlert]] = defaultdict(list)
    for alert in pending:
        by_chat[alert.chat_id].append(alert)
    plan: list[Delivery] = []
    for chat_id, alerts in by_chat.items():
        chat = settings_by_chat[chat_id]
        instant = [a for a in alerts if a.kind == "instant"]
        digest = [a for a in alerts if a.kind == "digest"]
        if instant and not chat.quiet(now):
            if len(instant) > burst_size:
                plan.append(
                    Delivery(chat_id, "list", tuple(instant), min(len(instant), max_per_message))
                )
            else:
                plan += [Delivery(chat_id, "single", (a,), 1) for a in instant]
        if digest and chat.digest_due(now):
            plan.append(
                Delivery(
                    chat_id,
                    "digest",
                    tuple(digest),
                    min(len(digest), max_per_message),
                    chat.local(now).date(),
                )
            )
    return plan


def parse_quiet_hours(text: str) -> tuple[int | None, int | None]:
    """'22-7' -> (22, 7); 'off' -> (None, None)."""
    if text.strip().lower() in {"off", "none", "no"}:
        return None, None
    try:
        start, end = (int(part) for part in text.replace(" ", "").split("-"))
    except ValueError:
        raise TopicError("Quiet hours look like 22-7 (from 22:00 to 07:00), or off.") from None
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise TopicError("Quiet hours are two different hours from 0 to 23, like 22-7.")
    return start, end


class AlertService:
    def __init__(
        self,
        settings: Settings,
        store: AsyncStore,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock

    # ------------------------------------------------------------ subscriptions

    async def subscribe(
        self, chat_id: int, user_id: int | None, text: str
    ) -> tuple[Subscription, bool]:
        topic = " ".join(text.split())
        if not topic:
            raise TopicError('Put the topic after the command, e.g. /subscribe "rail strike" -bus')
        if len(topic) > MAX_TOPIC_CHARS:
            raise TopicError(f"That topic is too long; keep it under {MAX_TOPIC_CHARS} characters.")
        if not parse_topic(topic).terms:
            raise TopicError(
                "That topic has no words I can search for. Try a few specific "
                "words, a name or a place."
            )
        existing = await self.store.subscriptions(chat_id)
        limit = self.settings.alerts.max_topics_per_chat
        if len(existing) >= limit and all(s.query != topic for s in existing):
            raise TopicError(
                f"You already have {limit} topics, the most I keep for one chat. "
                "Delete some in /subscriptions first."
            )
        return await self.store.add_subscription(chat_id, user_id, topic, "instant")

    async def respellings(self, topic: str) -> tuple[tuple[str, str], ...]:
        """Words of a topic that no stored article holds but that look like a typo of a
        stored word: (as typed, as stored), for a "did you mean" under the confirmation.
        Topics match new articles word for word, so they are not respelled themselves."""
        return (await self.store.search(topic, 3)).respelled

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        return await self.store.subscriptions(chat_id)

    async def subscription(self, subscription_id: int) -> Subscription | None:
        return await self.store.subscription(subscription_id)

    async def change(self, subscription_id: int, chat_id: int, action: str) -> Subscription | None:
        changes = {
            "pause": {"paused": True},
            "resume": {"paused": False},
            "instant": {"mode": "instant"},
            "digest": {"mode": "digest"},
        }[action]
        return await self.store.update_subscription(subscription_id, chat_id, **changes)  # type: ignore[arg-type]

    async def delete(self, subscription_id: int, chat_id: int) -> bool:
        return await self.store.delete_subscription(subscription_id, chat_id)

    async def unsubscribe_topic(self, chat_id: int, text: str) -> bool:
        topic = " ".join(text.split())
        for sub in await self.store.subscriptions(chat_id):
            if sub.query.casefold() == topic.casefold():
                return await self.store.delete_subscription(sub.id, chat_id)
        return False

    # ------------------------------------------------------------ chat settings

    async def delivery_settings(self, chat_id: int) -> DeliverySettings:
        stored = await self.store.chat_settings(chat_id)
        return DeliverySettings(
            timezone=stored.timezone or self.settings.alerts.default_timezone,
            digest_hour=(
                self.settings.alerts.default_digest_hour
                if stored.digest_hour is None
                else stored.digest_hour
            ),
            quiet_start=stored.quiet_start,
            quiet_end=stored.quiet_end,
            last_digest_on=stored.last_digest_on,
        )

    async def update_settings(self, chat_id: int, key: str, value: str) -> DeliverySettings:
        stored = await self.store.chat_settings(chat_id)
        if key in {"timezone", "tz"}:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise TopicError(
                    f"I don't know the timezone {value!r}. Use a name like "
                    "Europe/Berlin or America/New_York."
                ) from None
            stored = dataclasses.replace(stored, timezone=value)
        elif key == "digest":
            if not value.isdigit() or not 0 <= int(value) <= 23:
                raise TopicError(
                    "The digest hour is a number from 0 to 23, e.g. /settings digest 8"
                )
            stored = dataclasses.replace(stored, digest_hour=int(value))
        elif key == "quiet":
            start, end = parse_quiet_hours(value)
            stored = dataclasses.replace(stored, quiet_start=start, quiet_end=end)
        else:
            raise TopicError("I can set timezone, digest or quiet, e.g. /settings quiet 22-7")
        await self.store.set_chat_settings(stored)
        return await self.delivery_settings(chat_id)

    # ------------------------------------------------------------ delivery

    async def match_new_articles(self) -> bool:
        """Match a batch of new articles; True when there may be more."""
        batch = self.settings.alerts.match_batch
        return await self.store.match_new_articles(batch) >= batch

    async def due(self, now: datetime) -> list[Delivery]:
        pending = await self.store.pending_alerts(now.isoformat(timespec="seconds"), 1000)
        chats = {alert.chat_id for alert in pending}
        settings_by_chat = {chat: await self.delivery_settings(chat) for chat in chats}
        return plan_deliveries(
            pending,
            settings_by_chat,
            now,
            self.settings.alerts.burst_size,
            self.settings.alerts.max_per_message,
        )

    async def delivered(self, delivery: Delivery) -> None:
        await self.store.mark_sent([a.id for a in delivery.alerts])
        if delivery.local_day is not None:
            stored = await self.store.chat_settings(delivery.chat_id)
            await self.store.set_chat_settings(
                dataclasses.replace(stored, last_digest_on=delivery.local_day.isoformat())
            )

    async def retry_later(
        self, delivery: Delivery, error: str, now: datetime, wait: timedelta | None = None
    ) -> int:
        """Back off and try again; returns how many alerts ran out of tries."""
        attempts = max(a.attempts for a in delivery.alerts)
        delay = wait or timedelta(seconds=self.settings.alerts.retry_delay * 2**attempts)
        return await self.store.mark_retry(
            [a.id for a in delivery.alerts],
            error,
            (now + delay).isoformat(timespec="seconds"),
            self.settings.alerts.max_attempts,
            count_attempt=wait is None,
        )

    async def chat_blocked(self, chat_id: int) -> None:
        await self.store.pause_chat(chat_id, "the chat blocked the bot")
