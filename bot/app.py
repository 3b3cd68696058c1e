"""The one place that builds the Telegram Application."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import AIORateLimiter, Application, BaseUpdateProcessor

from bot import handlers
from bot.access import AccessControl, RateLimiter
from bot.alerts import AlertService
from bot.feeds import FeedService
from bot.handlers.alert_job import alerts_job
from bot.handlers.common import BotDeps
from bot.handlers.feeds import feeds_job
from bot.service import open_service
from bot.settings import Settings

log = logging.getLogger(__name__)

# Opt in to python-telegram-bot's coming timedelta durations (RetryAfter.retry_after and
# friends); without it every flood-control error also raises a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates from different chats run concurrently (a slow fetch for one user does not hold
    up everyone); updates from one chat run one at a time, in the order they arrived."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._chains: dict[int, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        previous = self._chains.get(chat.id)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chains[chat.id] = mine
        try:
            if previous is not None:
                await asyncio.shield(previous)
            await coroutine
        finally:
            mine.set_result(None)
            if self._chains.get(chat.id) is mine:
                del self._chains[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def build_application(settings: Settings, token: str) -> Application:  # type: ignore[type-arg]
    api = settings.telegram.api_url.rstrip("/")
    stack = AsyncExitStack()

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        service = await stack.enter_async_context(open_service(settings))
        app.bot_data["deps"] = BotDeps(
            service=service,
            alerts=AlertService(settings, service.store),
            feeds=FeedService(service),
            access=AccessControl(settings.access),
            limiter=RateLimiter(settings.rate_limit),
        )
        assert app.job_queue is not None
        app.job_queue.run_repeating(
            alerts_job,
            interval=settings.alerts.check_interval,
            first=0.1,
            name="alerts",
            job_kwargs={"max_instances": 3, "coalesce": True},
        )
        app.job_queue.run_repeating(
            feeds_job,
            interval=settings.feeds.check_interval,
            first=1.0,
            name="feeds",
            job_kwargs={"max_instances": 3, "coalesce": True},
        )
        await app.bot.set_my_commands(
            [BotCommand(name, description) for name, description in handlers.COMMANDS]
        )
        log.info("newsbot is running as @%s", app.bot.username)

    async def post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
        await stack.aclose()

    app = (
        Application.builder()
        .token(token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .rate_limiter(AIORateLimiter(max_retries=settings.telegram.max_retries))
        .concurrent_updates(PerChatUpdateProcessor())
        .get_updates_read_timeout(settings.telegram.poll_timeout + 10)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    handlers.register(app)
    return app
