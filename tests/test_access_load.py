"""Who may do what, and many users at once."""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from bot.ingest_command import jsonl_items
from bot.settings import Settings
from tests.botharness import bot_settings, running_bot
from tests.fakebot import FakeBotAPI, user
from tests.helpers import DATA

OWNER = user(1, "Owner")
FRIEND = user(2, "Friend")
STRANGER = user(3, "Stranger")


async def _seed(app: object) -> None:
    service = app.bot_data["deps"].service  # type: ignore[attr-defined]
    await service.ingest_articles(list(jsonl_items(DATA / "sample.jsonl")))


@pytest.fixture
async def private_bot(settings: Settings, fake: FakeBotAPI) -> AsyncIterator[SimpleNamespace]:
    s = bot_settings(settings, fake)
    s = dataclasses.replace(
        s,
        access=dataclasses.replace(
            s.access, ask=frozenset({FRIEND["id"]}), add=frozenset(), admins=(OWNER["id"],)
        ),
    )
    async with running_bot(s) as app:
        await _seed(app)
        yield SimpleNamespace(app=app, fake=fake, deps=app.bot_data["deps"])


async def test_strangers_cannot_ask_add_or_subscribe(private_bot: SimpleNamespace) -> None:
    fake = private_bot.fake
    for number, text in enumerate(
        ["heron", "/subscribe heron", "https://example.org/a", "/addfeed https://example.org/rss"]
    ):
        await fake.message(text, sender=STRANGER)
        reply = await fake.reply(STRANGER["id"], after=number)
        assert reply["visible"].startswith(("Sorry,", "Only the bot's admins")), text
    assert await private_bot.deps.alerts.subscriptions(STRANGER["id"]) == []
    assert (await private_bot.deps.service.stats()).articles == 8


async def test_friends_ask_but_only_admins_add(private_bot: SimpleNamespace) -> None:
    fake = private_bot.fake
    await fake.message("heron", sender=FRIEND)
    assert "purple heron" in (await fake.reply(FRIEND["id"]))["visible"].lower()
    await fake.message("https://example.org/a", sender=FRIEND)
    assert (
        "only the people my owner chose can add"
        in (await fake.reply(FRIEND["id"], after=1))["visible"]
    )
    await fake.message("/feeds", sender=FRIEND)
    listing = await fake.reply(FRIEND["id"], after=2)
    assert "reply_markup" not in listing  # no remove buttons for non-admins


async def test_only_admins_remove_stored_articles(private_bot: SimpleNamespace) -> None:
    fake, deps = private_bot.fake, private_bot.deps
    link = "https://northern-wire.test/heron-sighting"
    for sender in [STRANGER, FRIEND]:
        await fake.message(f"/forget {link}", sender=sender)
        refusal = await fake.reply(sender["id"])
        assert refusal["visible"] == "Only the bot's admins can remove stored articles."
    assert (await deps.service.stats()).articles == 8
    await fake.message(f"/forget {link}", sender=OWNER)
    done = await fake.reply(OWNER["id"])
    assert done["visible"] == (
        "Removed Rare purple heron spotted at Leighton Moss reserve. "
        "It will not be quoted or alerted about again."
    )
    assert (await deps.service.stats()).articles == 7
    await fake.message("purple heron Leighton Moss", sender=FRIEND)
    assert "purple heron" not in (await fake.reply(FRIEND["id"], after=1))["visible"].lower()


async def test_buttons_belong_to_their_chat(private_bot: SimpleNamespace) -> None:
    fake, deps = private_bot.fake, private_bot.deps
    await fake.message("Harrow", sender=FRIEND)
    answer = await fake.reply(FRIEND["id"])
    more = answer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await fake.press(more, {"chat_id": OWNER["id"], "message_id": 1, "visible": "x"}, sender=OWNER)
    await fake.wait_for(
        lambda: [
            c
            for c in fake.method_calls("answerCallbackQuery")
            if "another chat" in c.get("text", "")
        ]
    )
    await fake.message("/subscribe heron", sender=FRIEND)
    await fake.reply(FRIEND["id"], after=1)
    (sub,) = await deps.alerts.subscriptions(FRIEND["id"])
    await fake.press(
        f"sub:{sub.id}:pause",
        {"chat_id": OWNER["id"], "message_id": 1, "visible": "x"},
        sender=OWNER,
    )
    await fake.wait_for(
        lambda: [
            c
            for c in fake.method_calls("answerCallbackQuery")
            if c.get("text") == "That subscription is gone."
        ]
    )
    assert not (await deps.alerts.subscriptions(FRIEND["id"]))[0].paused
    await fake.message("/subscriptions", sender=OWNER)
    assert "No subscriptions yet" in (await fake.reply(OWNER["id"]))["visible"]


async def test_two_hundred_users_at_once(settings: Settings, fake: FakeBotAPI) -> None:
    users = [user(10_000 + i, f"User {i}") for i in range(200)]
    tracemalloc.start()
    try:
        async with running_bot(bot_settings(settings, fake)) as app:
            await _seed(app)
            for someone in users:
                await fake.message("/stats", sender=someone)
                await fake.message("purple heron", sender=someone)
            await fake.wait_for(lambda: len(fake.sent) >= 400, timeout=120)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    for someone in users:
        first, second = fake.sent_to(someone["id"])
        assert first["visible"].startswith("I know 8 articles")  # answered in order
        assert "purple heron" in second["visible"].lower()
    assert peak < 150 * 1024 * 1024, f"peak Python memory {peak / 1e6:.0f} MB"


async def test_random_messages_all_get_valid_replies(settings: Settings, fake: FakeBotAPI) -> None:
    import random

    rng = random.Random(20261126)
    alphabet = "ab <>&\"'/*()[]{}`~_-\n\t😀éß字\u200b\u202e" + "".join(map(chr, range(32, 127)))
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 600))) for _ in range(60)]
    texts += ["/" + t[:30] for t in texts[:10]] + ["x" * 4096, "@" * 50, "#" * 3000]
    texts = [t for t in texts if t.strip()]
    someone = user(4242, "Fuzzy")
    async with running_bot(bot_settings(settings, fake)) as app:
        await _seed(app)
        for text in texts:
            await fake.message(text, sender=someone)
        await fake.wait_for(lambda: len(fake.sent_to(someone["id"])) >= len(texts), timeout=60)
    # The fake server rejected nothing: every reply parsed as Telegram HTML within 4096.
    assert len(fake.sent_to(someone["id"])) == len(texts)
    assert not [c for c in fake.method_calls("sendMessage") if not c.get("text")]
