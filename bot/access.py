"""Who may do what, and how often. Pure logic, no Telegram objects."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from enum import StrEnum

from bot.settings import AccessSettings, Audience, RateLimitSettings


class Action(StrEnum):
    ASK = "ask"
    ADD = "add"


class AccessControl:
    def __init__(self, settings: AccessSettings) -> None:
        self._settings = settings

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self._settings.admins

    def allows(self, action: Action, user_id: int | None, chat_id: int | None) -> bool:
        if self.is_admin(user_id):
            return True
        audience: Audience = self._settings.ask if action is Action.ASK else self._settings.add
        if audience is None:
            return True
        return (user_id is not None and user_id in audience) or (
            chat_id is not None and chat_id in audience
        )


class RateLimiter:
    """A sliding one-minute window per user and action."""

    def __init__(
        self, settings: RateLimitSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = {
            Action.ASK: settings.questions_per_minute,
            Action.ADD: settings.ingests_per_minute,
        }
        self._clock = clock
        self._events: dict[tuple[int, Action], deque[float]] = defaultdict(deque)

    def allow(self, user_id: int, action: Action) -> bool:
        limit = self._limits[action]
        if limit == 0:
            return True  # 0 turns the limit off
        now = self._clock()
        events = self._events[(user_id, action)]
        while events and now - events[0] >= 60:
            events.popleft()
        if len(events) >= limit:
            return False
        events.append(now)
        return True
