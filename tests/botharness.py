"""Run the real Application against the fake Bot API, the way run_polling does."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.settings import Settings, with_api_url
from tests.fakebot import TOKEN, FakeBotAPI


def bot_settings(settings: Settings, fake: FakeBotAPI, **bot: Any) -> Settings:
    settings = with_api_url(settings, fake.url)
    settings = dataclasses.replace(
        settings,
        telegram=dataclasses.replace(settings.telegram, poll_timeout=1),
        alerts=dataclasses.replace(settings.alerts, check_interval=0.1),
    )
    if bot:
        settings = dataclasses.replace(settings, bot=dataclasses.replace(settings.bot, **bot))
    return settings


@asynccontextmanager
async def running_bot(settings: Settings) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    app = build_application(settings, TOKEN)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
