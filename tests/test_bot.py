"""End-to-end: the real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from bot import service as service_module
from bot.settings import Settings
from tests.botharness import bot_settings, running_bot
from tests.fakebot import BOT_USER, FakeBotAPI, channel_chat, group_chat, user
from tests.helpers import DATA, article, eventually

ALICE = user(1001, "Alice")
BOB = user(1002, "Bob")


@pytest.fixture
async def bot(settings: Settings, fake: FakeBotAPI) -> AsyncIterator[SimpleNamespace]:
    s = bot_settings(settings, fake)
    async with running_bot(s) as app:
        yield SimpleNamespace(app=app, settings=s, fake=fake)


@asynccontextmanager
async def news_site() -> AsyncIterator[BaseTestServer]:
    """A web server on 127.0.0.1 with one article page at /piel."""
    page = (DATA / "article.html").read_bytes()

    async def article(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    web_app = web.Application()
    web_app.router.add_get("/piel", article)
    async with TestServer(web_app, host="127.0.0.1") as site:
        yield site


def _fetching_settings(settings: Settings, fake: FakeBotAPI) -> Settings:
    """Bot settings that may fetch from 127.0.0.1 only (every other address is refused)."""
    s = bot_settings(settings, fake)
    return dataclasses.replace(
        s, fetch=dataclasses.replace(s.fetch, allowed_networks=("127.0.0.1/32",))
    )


async def _seed(bot: SimpleNamespace) -> None:
    service = bot.app.bot_data["deps"].service
    from bot.ingest_command import jsonl_items

    items = [(label, item) for label, item in jsonl_items(DATA / "sample.jsonl")]
    await service.ingest_articles(items)


async def test_commands_are_registered_at_start(bot: SimpleNamespace) -> None:
    names = [c["command"] for c in bot.fake.commands]
    assert names == [
        "ask",
        "subscribe",
        "subscriptions",
        "settings",
        "feeds",
        "forget",
        "stats",
        "sources",
        "help",
    ]


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


async def test_a_quoted_phrase_found_nowhere_is_said_in_the_reply(bot: SimpleNamespace) -> None:
    await _seed(bot)
    await bot.fake.message('footbridge "toll booth" cost', sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert answer["visible"].startswith(
        "No stored article has “toll booth” word for word. The closest matches:"
    )
    assert "4.2 million pounds" in answer["visible"]


async def test_words_no_article_holds_are_said_under_the_quotes(bot: SimpleNamespace) -> None:
    await _seed(bot)
    await bot.fake.message("How much will the footbridge for bicycles cost?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert "4.2 million pounds" in answer["visible"]
    assert answer["visible"].endswith("No stored article mentions “bicycles”.")


async def test_a_misspelled_name_is_answered_and_the_spelling_named(
    bot: SimpleNamespace,
) -> None:
    await _seed(bot)
    await bot.fake.message("Which bird was seen at Leigton Moss?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert "purple heron" in answer["visible"]
    assert answer["visible"].endswith(
        "No stored article mentions “Leigton”. Searched for “Leighton” instead."
    )


async def test_forget_removes_a_stored_article_by_its_link(bot: SimpleNamespace) -> None:
    await _seed(bot)
    replies: list[dict[str, Any]] = []
    for text in [
        "/forget",
        "/forget the heron story",
        "/forget https://northern-wire.test/nothing-here",
        "/forget http://www.northern-wire.test/heron-sighting/?utm_source=tg",
        "Where was the purple heron seen?",
    ]:
        await bot.fake.message(text, sender=ALICE)
        replies.append(await bot.fake.reply(ALICE["id"], after=len(replies)))
    visible = [r["visible"] for r in replies]
    assert visible[0].startswith("Put the link of a stored article after the command")
    assert visible[1].startswith("That is not a link.")
    assert visible[2] == "No article is stored at that link."
    assert visible[3].startswith("Removed Rare purple heron spotted at Leighton Moss reserve.")
    assert "<b>Rare purple heron" in replies[3]["text"]
    assert "Leighton Moss" not in visible[4]


async def test_whats_new_gets_the_newest_articles(bot: SimpleNamespace) -> None:
    await _seed(bot)
    await bot.fake.message("What's new?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert answer["visible"].startswith("The newest stored news:")
    assert "<blockquote>" in answer["text"]


async def test_yesterday_is_the_chats_own(bot: SimpleNamespace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Noon UTC on the 26th is already the 27th on Kiritimati (UTC+14).
    monkeypatch.setattr(service_module, "_now", lambda: datetime(2026, 11, 26, 12, tzinfo=UTC))
    service = bot.app.bot_data["deps"].service
    await service.ingest_articles(
        [
            (day, article(url=f"https://n.test/{day}", title=title, text=text, published=day))
            for day, title, text in [
                ("2026-11-25", "Lighthouse repainted", "The harbour lighthouse was repainted."),
                ("2026-11-26", "Lifeboat launched", "A new lifeboat was launched at the quay."),
            ]
        ]
    )
    await bot.fake.message("What happened yesterday?", sender=ALICE)
    assert "Lighthouse repainted" in (await bot.fake.reply(ALICE["id"]))["visible"]
    await bot.fake.message("/settings timezone Pacific/Kiritimati", sender=BOB)
    await bot.fake.reply(BOB["id"])
    await bot.fake.message("What happened yesterday?", sender=BOB)
    answer = (await bot.fake.reply(BOB["id"], after=1))["visible"]
    assert answer.startswith("The newest stored news from yesterday:")
    assert "Lifeboat launched" in answer and "Lighthouse" not in answer


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
        alert = await fake.wait_for(
            lambda: [
                c
                for c in fake.method_calls("answerCallbackQuery")
                if "expired" in c.get("text", "")
            ]
        )
    assert alert


async def test_group_answers_only_when_addressed(bot: SimpleNamespace) -> None:
    await _seed(bot)
    group = group_chat()
    await bot.fake.message("the rail strike is annoying", sender=ALICE, chat=group)
    await bot.fake.message(
        "@newsbot_test_bot when is the rail strike?",
        sender=BOB,
        chat=group,
        entities=[{"type": "mention", "offset": 0, "length": 17}],
    )
    answer = await bot.fake.reply(group["id"])
    assert "December 12" in answer["visible"]
    assert len(bot.fake.sent_to(group["id"])) == 1
    # A reply to the bot's message is addressed to it too.
    reply_to = {
        "message_id": answer["message_id"],
        "date": 0,
        "chat": group,
        "from": BOT_USER,
        "text": answer["visible"],
    }
    await bot.fake.message("and the heron?", sender=ALICE, chat=group, reply_to_message=reply_to)
    second = await bot.fake.reply(group["id"], after=1)
    assert "purple heron" in second["visible"].lower()


async def test_forwarded_channel_post_is_stored_with_its_tme_link(bot: SimpleNamespace) -> None:
    channel = channel_chat()
    origin = {"type": "channel", "chat": channel, "message_id": 77, "date": 1764000000}
    text = (
        "Lifeboat crews rescued two walkers cut off by the tide at Sandside on Sunday "
        "evening. Both were taken to hospital as a precaution and later released."
    )
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
    await bot.fake.message(
        "The night market in Harrow will return in spring with forty "
        "stalls and live music every Friday evening.",
        sender=ALICE,
        forward_origin=origin,
    )
    await bot.fake.reply(ALICE["id"])
    await bot.fake.message("night market stalls", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"], after=1)
    assert "Carol D." in answer["visible"]
    assert "<a href" not in answer["text"]


async def test_channel_posts_are_stored_and_edits_replace_them(bot: SimpleNamespace) -> None:
    channel = channel_chat()
    service = bot.app.bot_data["deps"].service
    await bot.fake.channel_post(
        "The town pool closes for repairs on Monday for three weeks while the roof is replaced.",
        chat=channel,
        message_id=500,
    )

    async def stored() -> bool:
        return bool((await service.stats()).articles == 1)

    await eventually(stored)
    await bot.fake.channel_post(
        "The town pool closes for repairs on Monday for five weeks "
        "while the roof and the boilers are replaced.",
        chat=channel,
        message_id=500,
        edited=True,
    )

    async def edited() -> bool:
        hits = (await service.ask("pool boilers")).hits
        return bool(hits) and "five weeks" in hits[0].text

    await eventually(edited)
    await bot.fake.message("how long will the pool close?", sender=ALICE)
    answer = await bot.fake.reply(ALICE["id"])
    assert "five weeks" in answer["visible"] and "three weeks" not in answer["visible"]
    assert "https://t.me/harbournews/500" in answer["text"]
    assert (await service.stats()).articles == 1
    assert bot.fake.sent_to(channel["id"]) == []  # nothing is said in the channel


async def test_unknown_commands_stickers_and_bots(bot: SimpleNamespace) -> None:
    await bot.fake.message("/frobnicate now", sender=ALICE)
    assert "I don't know /frobnicate" in (await bot.fake.reply(ALICE["id"]))["visible"]
    await bot.fake.message(
        None,
        sender=ALICE,
        sticker={
            "file_id": "s1",
            "file_unique_id": "s1u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
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


async def test_pasted_links_are_fetched_and_reported_per_link(
    settings: Settings, fake: FakeBotAPI
) -> None:
    async with news_site() as site, running_bot(_fetching_settings(settings, fake)):
        url = str(site.make_url("/piel"))
        await fake.message(f"Look: {url} and {site.make_url('/nope')}", sender=ALICE)
        reply = await fake.reply(ALICE["id"])
    lines = reply["visible"].splitlines()
    assert (
        lines[0] == "Saved: Ferry service to Piel Island suspended after storm damage (2 passages)"
    )
    assert (
        lines[1].startswith("Could not add http://127.0.0.1") and "page not found (404)" in lines[1]
    )


async def test_links_past_the_limit_of_one_message_are_named_not_fetched(
    settings: Settings, fake: FakeBotAPI
) -> None:
    s = _fetching_settings(settings, fake)
    s = dataclasses.replace(s, bot=dataclasses.replace(s.bot, max_links_per_message=2))
    async with news_site() as site, running_bot(s):
        links = " ".join(str(site.make_url(f"/piel?copy={n}")) for n in range(5))
        await fake.message(f"Read these: {links}", sender=ALICE)
        reply = await fake.reply(ALICE["id"])
    lines = reply["visible"].splitlines()
    assert lines[0].startswith("Saved: Ferry service to Piel Island")
    assert lines[1].startswith("Already stored: Ferry service to Piel Island")
    assert lines[2:] == [
        "Could not add 3 more links: I fetch at most 2 links from one message; "
        "send the others in another"
    ]


async def test_internal_links_are_refused(bot: SimpleNamespace) -> None:
    await bot.fake.message("http://169.254.169.254/latest/meta-data/", sender=ALICE)
    reply = await bot.fake.reply(ALICE["id"])
    assert "internal address" in reply["visible"]


async def test_documents_are_ingested_and_size_capped(settings: Settings, fake: FakeBotAPI) -> None:
    fake.files["doc-1"] = (DATA / "note.txt").read_bytes()
    fake.files["doc-2"] = (DATA / "article.html").read_bytes()
    s = bot_settings(settings, fake, max_document_bytes=3000)
    async with running_bot(s):
        for file_id, name in (("doc-1", "note.txt"), ("doc-2", "piel.html")):
            await fake.message(
                None,
                sender=ALICE,
                document={
                    "file_id": file_id,
                    "file_unique_id": file_id + "u",
                    "file_name": name,
                    "file_size": len(fake.files[file_id]),
                },
            )
        await fake.message(
            None,
            sender=ALICE,
            document={
                "file_id": "big",
                "file_unique_id": "bigu",
                "file_name": "big.txt",
                "file_size": 10_000_000,
            },
        )
        replies = [await fake.reply(ALICE["id"], after=i) for i in range(3)]
    assert (
        replies[0]["visible"]
        == "Saved: Bus fares in Harrow to be capped at two pounds (2 passages)"
    )
    assert replies[1]["visible"].startswith("Saved: Ferry service to Piel Island")
    assert "too big" in replies[2]["visible"]


async def test_access_lists_refuse_politely_in_private(
    settings: Settings, fake: FakeBotAPI
) -> None:
    s = bot_settings(settings, fake)
    s = dataclasses.replace(
        s,
        access=dataclasses.replace(
            s.access, ask=frozenset({ALICE["id"]}), add=frozenset(), admins=(9999,)
        ),
    )
    async with running_bot(s) as app:
        await _seed(SimpleNamespace(app=app))
        await fake.message("heron", sender=BOB)
        refused = await fake.reply(BOB["id"])
        await fake.message("heron", sender=ALICE)
        allowed = await fake.reply(ALICE["id"])
        await fake.message("https://example.org/story", sender=ALICE)
        no_adding = await fake.reply(ALICE["id"], after=1)
        group = group_chat()
        await fake.message("/ask heron", sender=BOB, chat=group)
        await fake.message("/stats", sender=BOB, chat=group)
        await fake.reply(group["id"])
    assert "Your Telegram id is 1002" in refused["visible"]
    assert "purple heron" in allowed["visible"].lower()
    assert "only the people my owner chose can add news" in no_adding["visible"]
    assert len(fake.sent_to(group["id"])) == 1  # silent refusal in the group, then /stats


async def test_rate_limit_asks_to_slow_down(settings: Settings, fake: FakeBotAPI) -> None:
    s = bot_settings(settings, fake)
    s = dataclasses.replace(s, rate_limit=dataclasses.replace(s.rate_limit, questions_per_minute=2))
    async with running_bot(s):
        for _ in range(3):
            await fake.message("heron", sender=ALICE)
        third = await fake.reply(ALICE["id"], after=2)
    assert "Please wait a minute" in third["visible"]


async def test_flood_control_is_waited_out(bot: SimpleNamespace) -> None:
    from tests.fakebot import Failure

    bot.fake.fail("sendMessage", Failure(429, "Too Many Requests: retry after 1", retry_after=1))
    await bot.fake.message("/help", sender=ALICE)
    helped = await bot.fake.reply(ALICE["id"])
    assert "quoted excerpts" in helped["visible"]
    assert len(bot.fake.method_calls("sendMessage")) == 2  # refused once, then sent


async def test_blocked_user_and_crashes_do_not_stop_the_bot(
    bot: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fakebot import Failure

    bot.fake.fail(
        "sendMessage",
        Failure(
            403,
            "Forbidden: bot was blocked by the user",
            when=lambda p: int(p["chat_id"]) == BOB["id"],
        ),
    )
    caplog.set_level(logging.INFO)
    await bot.fake.message("/help", sender=BOB)
    await bot.fake.wait_for(
        lambda: [p for p in bot.fake.method_calls("sendMessage") if int(p["chat_id"]) == BOB["id"]]
    )
    service = bot.app.bot_data["deps"].service

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "ask", broken)
    await bot.fake.message("heron", sender=ALICE)
    apology = await bot.fake.reply(ALICE["id"])
    assert apology["visible"].startswith("Sorry, something went wrong")
    monkeypatch.undo()
    await bot.fake.message("/stats", sender=ALICE)
    assert (await bot.fake.reply(ALICE["id"], after=1))["visible"].startswith("I know")
    assert "disk on fire" in caplog.text
    assert "blocked the bot" in caplog.text


async def test_a_message_telegram_refuses_gets_an_apology_not_silence(
    bot: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fakebot import Failure

    bot.fake.fail("sendMessage", Failure(400, "Bad Request: message is too long"))
    caplog.set_level(logging.INFO)
    await bot.fake.message("/help", sender=ALICE)
    apology = await bot.fake.reply(ALICE["id"])
    assert apology["visible"].startswith("Sorry, something went wrong")
    assert "message is too long" in caplog.text.lower()


async def test_edited_messages_are_not_answered_again(bot: SimpleNamespace) -> None:
    await bot.fake.message("heron", sender=ALICE, edited=True)
    await bot.fake.message("/stats", sender=ALICE)
    first = await bot.fake.reply(ALICE["id"])
    assert first["visible"].startswith("I know")


async def test_the_fake_server_rejects_html_telegram_would_reject(fake: FakeBotAPI) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        url = f"{fake.url}/bot{fake.token}/sendMessage"
        for text in ("<script>x</script>", "<b>unclosed", "a &nbsp; b", "x" * 4097):
            async with http.post(
                url, data={"chat_id": "1", "text": text, "parse_mode": "HTML"}
            ) as response:
                body = await response.json()
            assert body["ok"] is False and response.status == 400, text
        async with http.post(
            url, data={"chat_id": "1", "text": "<b>ok</b> &amp; fine", "parse_mode": "HTML"}
        ) as response:
            assert (await response.json())["ok"] is True


async def test_a_forwarded_link_post_also_stores_the_linked_article(
    settings: Settings, fake: FakeBotAPI
) -> None:
    async with news_site() as site, running_bot(_fetching_settings(settings, fake)):
        origin = {
            "type": "channel",
            "chat": channel_chat(),
            "message_id": 9,
            "date": 1764000000,
        }
        await fake.message(
            "Worth reading",
            sender=ALICE,
            forward_origin=origin,
            entities=[
                {
                    "type": "text_link",
                    "offset": 0,
                    "length": 5,
                    "url": str(site.make_url("/piel")),
                }
            ],
        )
        reply = await fake.reply(ALICE["id"])
    assert reply["visible"] == (
        "Saved: Ferry service to Piel Island suspended after storm damage (2 passages)"
    )


async def test_messages_without_text(bot: SimpleNamespace) -> None:
    photo = [{"file_id": "p1", "file_unique_id": "p1u", "width": 90, "height": 90}]
    await bot.fake.message(None, sender=ALICE, photo=photo)
    assert "not this kind of message" in (await bot.fake.reply(ALICE["id"]))["visible"]
    origin = {"type": "user", "sender_user": BOB, "date": 1764000000}
    await bot.fake.message(None, sender=ALICE, photo=photo, forward_origin=origin)
    assert (await bot.fake.reply(ALICE["id"], after=1))["visible"] == (
        "There is no text in that message for me to store."
    )
    await bot.fake.message("/ask", sender=ALICE)
    assert (
        "Put your question after the command"
        in (await bot.fake.reply(ALICE["id"], after=2))["visible"]
    )


async def test_a_network_error_while_polling_is_survived(bot: SimpleNamespace) -> None:
    from tests.fakebot import Failure

    bot.fake.fail("getUpdates", Failure(502, "Bad Gateway"))
    await bot.fake.message("/help", sender=ALICE)
    assert "quoted excerpts" in (await bot.fake.reply(ALICE["id"], timeout=30))["visible"]


async def test_stats_and_sources(bot: SimpleNamespace) -> None:
    await bot.fake.message("/sources", sender=ALICE)
    assert "No sources yet" in (await bot.fake.reply(ALICE["id"]))["visible"]
    await _seed(bot)
    await bot.fake.message("/stats", sender=ALICE)
    stats = await bot.fake.reply(ALICE["id"], after=1)
    assert stats["visible"].startswith("I know 8 articles (11 passages) from 3 sources")
    await bot.fake.message("/sources", sender=ALICE)
    sources = (await bot.fake.reply(ALICE["id"], after=2))["visible"].splitlines()
    assert sources[0] == "Sources, most recently added first:"
    assert sorted(line.split(":")[0] for line in sources[1:]) == [
        "• Bytes Daily",
        "• Harrow Courier",
        "• Northern Wire",
    ]
    assert all("last added today" in line for line in sources[1:])
