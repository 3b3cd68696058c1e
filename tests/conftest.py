from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.service import NewsService, open_service
from bot.settings import Settings
from tests.fakebot import FakeBotAPI
from tests.helpers import make_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[NewsService]:
    async with open_service(settings, fetching=False) as svc:
        yield svc


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    """The fake Telegram Bot API server, on 127.0.0.1."""
    api = FakeBotAPI()
    await api.start()
    try:
        yield api
    finally:
        await api.close()
