"""End-to-end: the real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest

from bot.settings import Settings
from tests.botharness import bot_settings, running_bot
from tests.fakebot import BOT_USER, FakeBotAPI, channel_chat, group_chat, user
from tests.helpers import DATA

ALICE = user(1001, "Alice")
BOB = user(1002, "Bob")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    try:
        yield api
    finally:
        await api.close()


@pytest.fixture
async def bot(settings: Settings, fake: FakeBotAPI) -> AsyncIterator[SimpleNamespace]:
    s = bot_settings(settings, fake)
    async with running_bot(s) as app:
        yield SimpleNamespace(app=app, settings=s, fake=fake)


async def _seed(bot: SimpleNamespace) -> None:
    service = bot.app.bot_data["deps"].service
    from bot.cli import _jsonl_items

    items = [(label, item) for label, item in _jsonl_items(DATA / "sample.jsonl")]
    await service.ingest_articles(items)  # type: ignore[arg-type]


async def test_commands_are_registered_at_start(bot: SimpleNamespace) -> None:
    names = [c["command"] for c in bot.fake.commands]
    assert names == ["ask", "stats", "sources", "help"]


async def test_private_question_gets_quotes_with_links(bot: SimpleNamespace) -> None:
    await _seed(bot)
    await bot.fake.message("How much will the footbridge cost?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert answer["parse_mode"] == "HTML"
    assert "<blockquote>" in answer["text"]
    assert "4.2 million pounds" in answer["visible"]
    assert '<a href="https://example-news.test/2026/11/harrow-bridge-vote">' in answer["text"]
    assert "Harrow Courier" in answer["visible"]
    assert any(name == "sendChatAction" for name, _ in bot.fake.calls)


async def test_nothing_found_in_private_and_silence_in_groups(bot: SimpleNamespace) -> None:
    await bot.fake.message("zeppelin sightings", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert "Nothing on that yet" in answer["visible"]
    group = group_chat()
    await bot.fake.message("/ask zeppelin sightings", sender=ALICE, chat=group)
    await bot.fake.message("/stats", sender=ALICE, chat=group)
    stats = await bot.fake.reply(group["id"])
    assert stats["visible"].startswith("I know 0 articles")  # the /ask said nothing


async def test_more_button_pages_and_survives_a_restart(
    settings: Settings, fake: FakeBotAPI
) -> None:
    s = bot_settings(settings, fake, results_per_page=1)
    async with running_bot(s) as app:
        await _seed(SimpleNamespace(app=app))
        await fake.message("Harrow", sender=ALICE)
        first = await fake.reply(ALICE["id"])
    button = first["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "More"
    async with running_bot(s):  # a new process, the same database
        await fake.press(button["callback_data"], first, sender=ALICE)
        second = await fake.reply(ALICE["id"], after=1)
    assert second["visible"] != first["visible"]
    assert "<blockquote>" in second["text"]
    async with running_bot(s):
        await fake.press("more:999999:1", first, sender=ALICE)
        alert = await fake.wait_for(lambda: [
            c for c in fake.method_calls("answerCallbackQuery") if "expired" in c.get("text", "")])
    assert alert


async def test_group_answers_only_when_addressed(bot: SimpleNamespace) -> None:
    await _seed(bot)
    group = group_chat()
    await bot.fake.message("the rail strike is annoying", sender=ALICE, chat=group)
    await bot.fake.message("@newsbot_test_bot when is the rail strike?", sender=BOB, chat=group,
                           entities=[{"type": "mention", "offset": 0, "length": 17}])
    answer = await bot.fake.reply(group["id"])
    assert "December 12" in answer["visible"]
    assert len(bot.fake.sent_to(group["id"])) == 1
    # A reply to the bot's message is addressed to it too.
    reply_to = {"message_id": answer["message_id"], "date": 0, "chat": group, "from": BOT_USER,
                "text": answer["visible"]}
    await bot.fake.message("and the heron?", sender=ALICE, chat=group, reply_to_message=reply_to)
    second = await bot.fake.reply(group["id"], after=1)
    assert "purple heron" in second["visible"].lower()


async def test_forwarded_channel_post_is_stored_with_its_tme_link(bot: SimpleNamespace) -> None:
    channel = channel_chat()
    origin = {"type": "channel", "chat": channel, "message_id": 77, "date": 1764000000}
    text = ("Lifeboat crews rescued two walkers cut off by the tide at Sandside on Sunday "
            "evening. Both were taken to hospital as a precaution and later released.")
    await bot.fake.message(text, sender=ALICE, forward_origin=origin)
    saved = await bot.fake.reply(ALICE["id"])
    assert saved["visible"].startswith("Saved: ")
    await bot.fake.message(text, sender=ALICE, forward_origin=origin)
    again = await bot.fake.reply(ALICE["id"], after=1)
    assert again["visible"].startswith("Already stored")
    await bot.fake.message("who was rescued at Sandside?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"], after=2)
    assert '<a href="https://t.me/harbournews/77">' in answer["text"]
    assert "Harbour News" in answer["visible"]


async def test_forward_from_a_hidden_user_has_a_name_and_no_broken_link(
    bot: SimpleNamespace,
) -> None:
    origin = {"type": "hidden_user", "sender_user_name": "Carol D.", "date": 1764000000}
    await bot.fake.message("The night market in Harrow will return in spring with forty "
                           "stalls and live music every Friday evening.", sender=ALICE,
                           forward_origin=origin)
    await bot.fake.reply(ALICE["id"])
    await bot.fake.message("night market stalls", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"], after=1)
    assert "Carol D." in answer["visible"]
    assert "<a href" not in answer["text"]


async def test_channel_posts_are_stored_and_edits_replace_them(bot: SimpleNamespace) -> None:
    channel = channel_chat()
    await bot.fake.channel_post("The town pool closes for repairs on Monday for three weeks "
                                "while the roof is replaced.", chat=channel, message_id=500)
    await bot.fake.message("/stats", sender=ALICE)
    stats = await bot.fake.reply(ALICE["id"])
    assert stats["visible"].startswith("I know 1 article ")
    await bot.fake.channel_post("The town pool closes for repairs on Monday for five weeks "
                                "while the roof and the boilers are replaced.", chat=channel,
                                message_id=500, edited=True)
    await bot.fake.message("how long will the pool close?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"], after=1)
    assert "five weeks" in answer["visible"] and "three weeks" not in answer["visible"]
    assert "https://t.me/harbournews/500" in answer["text"]
    assert bot.fake.sent_to(channel["id"]) == []  # nothing is said in the channel


async def test_unknown_commands_stickers_and_bots(bot: SimpleNamespace) -> None:
    await bot.fake.message("/frobnicate now", sender=ALICE)
    assert "I don't know /frobnicate" in (await bot.fake.reply(ALICE["id"]))["visible"]
    await bot.fake.message(None, sender=ALICE, sticker={
        "file_id": "s1", "file_unique_id": "s1u", "type": "regular", "width": 512,
        "height": 512, "is_animated": False, "is_video": False})
    assert "not this kind of message" in (await bot.fake.reply(ALICE["id"], after=1))["visible"]
    other_bot = user(5005, "Spam", is_bot=True)
    await bot.fake.message("buy now", sender=other_bot)
    await bot.fake.message("/help", sender=ALICE)
    helped = await bot.fake.reply(ALICE["id"], after=2)
    assert "quoted excerpts and links" in helped["visible"]
    assert bot.fake.sent_to(other_bot["id"]) == []


async def test_long_gibberish_gets_a_defined_answer(bot: SimpleNamespace) -> None:
    await _seed(bot)
    await bot.fake.message("x" * 4096, sender=ALICE)
    assert "Nothing on that yet" in (await bot.fake.reply(ALICE["id"]))["visible"]
    await bot.fake.message("?!… 🙂", sender=ALICE)
    assert "Ask with a few words" in (await bot.fake.reply(ALICE["id"], after=1))["visible"]
