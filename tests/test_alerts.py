"""Topic alerts end to end: subscribe in Telegram, store news, receive exactly the right alerts."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.settings import Settings
from tests.botharness import bot_settings, running_bot
from tests.fakebot import Failure, FakeBotAPI, group_chat, user
from tests.helpers import article, eventually

ALICE = user(1001, "Alice")
BOB = user(1002, "Bob")
HERON = article(
    title="Purple heron seen again",
    url="https://n.test/heron",
    text="The purple heron that drew crowds to Leighton Moss was spotted again on "
    "Monday, feeding in the reed beds at dawn.",
)
FAIR = article(
    title="Harrow winter fair opens",
    url="https://n.test/fair",
    text="The winter fair opened in the market square with rides, a brass band and "
    "stalls selling mulled apple juice.",
)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def bot(settings: Settings, fake: FakeBotAPI) -> AsyncIterator[SimpleNamespace]:
    s = bot_settings(settings, fake)
    async with running_bot(s) as app:
        yield SimpleNamespace(app=app, fake=fake, deps=app.bot_data["deps"], settings=s)


async def _subscribe(
    fake: FakeBotAPI, topic: str, sender: dict[str, Any] = ALICE, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    before = len(fake.sent_to((chat or sender)["id"]))
    await fake.message(f"/subscribe {topic}", sender=sender, chat=chat)
    return await fake.reply((chat or sender)["id"], after=before)


def _alerts(fake: FakeBotAPI, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in fake.sent_to(chat_id) if m["visible"].startswith(("🔔", "📰"))]


async def test_a_topic_word_that_looks_misspelled_gets_a_did_you_mean(
    bot: SimpleNamespace,
) -> None:
    await bot.deps.service.ingest_articles([("t", FAIR), ("t", HERON)])
    confirm = await _subscribe(bot.fake, "heron Leigton")
    assert "Subscribed to" in confirm["visible"]
    assert confirm["visible"].endswith(
        "No stored article mentions “Leigton” yet. Did you mean “Leighton”?"
    )
    assert "<i>No stored article" in confirm["text"]
    # The topic is kept as typed: it matches new stories word for word.
    (sub,) = await bot.deps.alerts.subscriptions(ALICE["id"])
    assert sub.query == "heron Leigton"
    plain = await _subscribe(bot.fake, "winter fair")
    assert "Did you mean" not in plain["visible"]


async def test_the_topic_list_fits_telegram_with_the_most_topics_allowed(
    bot: SimpleNamespace,
) -> None:
    limit = bot.settings.alerts.max_topics_per_chat
    for n in range(limit):
        await bot.deps.alerts.subscribe(ALICE["id"], ALICE["id"], f"{'harbour wall works ' * 9}{n}")
    await bot.fake.message("/subscriptions", sender=ALICE)
    listing = await bot.fake.reply(ALICE["id"])
    assert listing["visible"].startswith("Your topics")
    assert "…and" in listing["visible"]  # the rest counted, not a "message is too long"
    buttons = [b for row in listing["reply_markup"]["inline_keyboard"] for b in row]
    assert 0 < len(buttons) <= 100  # Telegram refuses more ("reply markup is too long")
    assert "/unsubscribe" in listing["visible"]  # how to reach the topics without buttons


async def test_subscribe_then_only_matching_news_alerts(bot: SimpleNamespace) -> None:
    confirm = await _subscribe(bot.fake, '"purple heron"')
    assert "Subscribed to" in confirm["visible"] and "purple heron" in confirm["visible"]
    await bot.deps.service.ingest_articles([("t", FAIR), ("t", HERON)])
    alert = await bot.fake.wait_for(lambda: _alerts(bot.fake, ALICE["id"]))
    message = alert[0]
    assert message["visible"].startswith('🔔 New on "purple heron"')
    assert "<blockquote>" in message["text"] and "<b>purple</b> <b>heron</b>" in message["text"]
    assert '<a href="https://n.test/heron">Purple heron seen again</a>' in message["text"]
    assert "Test Times" in message["visible"]
    await bot.fake.message("/stats", sender=ALICE)  # a later round has run: still one alert
    await bot.fake.wait_for(
        lambda: [m for m in bot.fake.sent_to(ALICE["id"]) if m["visible"].startswith("I know")]
    )
    assert len(_alerts(bot.fake, ALICE["id"])) == 1


async def test_an_ingest_in_another_process_alerts_within_five_seconds(
    bot: SimpleNamespace, tmp_path: Path
) -> None:
    await _subscribe(bot.fake, "brass band")
    note = tmp_path / "fair.txt"
    note.write_text("Harrow winter fair opens\n" + FAIR.text)
    newsbot = str(Path(sys.executable).parent / "newsbot")
    process = await asyncio.create_subprocess_exec(
        newsbot, "--db", bot.settings.database.path, "ingest", str(note), stdout=subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert out.decode().startswith("saved: Harrow winter fair opens")
    stored_at = asyncio.get_running_loop().time()
    await bot.fake.wait_for(lambda: _alerts(bot.fake, ALICE["id"]), timeout=5)
    assert asyncio.get_running_loop().time() - stored_at < 5


async def test_buttons_pause_resume_switch_and_delete(bot: SimpleNamespace) -> None:
    await _subscribe(bot.fake, "heron")
    await bot.fake.message("/subscriptions", sender=ALICE)
    listing = await bot.fake.reply(ALICE["id"], after=1)
    assert "<b>heron</b> — instant" in listing["text"]
    pause, switch, delete = listing["reply_markup"]["inline_keyboard"][0]
    await bot.fake.press(pause["callback_data"], listing, sender=ALICE)
    edited = await bot.fake.wait_for(lambda: [m for m in bot.fake.sent if m.get("edited")])
    assert "heron</b> — paused" in edited[-1]["text"]
    await bot.deps.service.ingest_articles([("t", HERON)])
    await bot.fake.press(switch["callback_data"], listing, sender=ALICE)
    edited = await bot.fake.wait_for(
        lambda: [m for m in bot.fake.sent if m.get("edited") and "digest" in m["text"]]
    )
    assert _alerts(bot.fake, ALICE["id"]) == []  # paused while the heron story came in
    await bot.fake.press(delete["callback_data"], listing, sender=ALICE)
    await bot.fake.wait_for(
        lambda: [m for m in bot.fake.sent if m.get("edited") and "No subscriptions" in m["text"]]
    )
    assert await bot.deps.alerts.subscriptions(ALICE["id"]) == []
    # Another user's buttons do nothing to Alice's topics.
    await _subscribe(bot.fake, "heron")
    sub = (await bot.deps.alerts.subscriptions(ALICE["id"]))[0]
    await bot.fake.press(
        f"sub:{sub.id}:delete", {"chat_id": BOB["id"], "message_id": 1, "visible": "x"}, sender=BOB
    )
    await bot.fake.wait_for(
        lambda: [
            c
            for c in bot.fake.method_calls("answerCallbackQuery")
            if c.get("text") == "Already gone."
        ]
    )
    assert len(await bot.deps.alerts.subscriptions(ALICE["id"])) == 1


async def test_digest_waits_for_the_hour_in_the_users_timezone(bot: SimpleNamespace) -> None:
    clock = Clock(datetime(2026, 11, 26, 6, 30, tzinfo=UTC))  # 07:30 in Berlin
    bot.deps.alerts.clock = clock
    await bot.fake.message("/settings timezone Europe/Berlin", sender=ALICE)
    shown = await bot.fake.reply(ALICE["id"])
    assert "Europe/Berlin" in shown["visible"] and "at 8:00" in shown["visible"]
    await _subscribe(bot.fake, "heron")
    sub = (await bot.deps.alerts.subscriptions(ALICE["id"]))[0]
    await bot.deps.alerts.change(sub.id, ALICE["id"], "digest")
    await bot.deps.service.ingest_articles([("t", HERON), ("t", FAIR)])

    async def queued() -> bool:
        rows = await bot.deps.alerts.store.pending_alerts("9999", 10)
        return len(rows) == 1

    await eventually(queued)
    await bot.fake.message("/stats", sender=ALICE)  # a round at 07:30 sends nothing
    await bot.fake.wait_for(
        lambda: [m for m in bot.fake.sent_to(ALICE["id"]) if m["visible"].startswith("I know")]
    )
    assert _alerts(bot.fake, ALICE["id"]) == []
    clock.now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    digest = (await bot.fake.wait_for(lambda: _alerts(bot.fake, ALICE["id"])))[0]
    assert digest["visible"].startswith("📰 Your daily digest: 1 new story")
    assert "Purple heron seen again" in digest["visible"]

    async def recorded() -> bool:
        settings = await bot.deps.alerts.delivery_settings(ALICE["id"])
        return bool(settings.last_digest_on == "2026-11-26")  # no second digest today

    await eventually(recorded)


async def test_quiet_hours_hold_alerts_until_they_end_even_across_a_restart(
    settings: Settings, fake: FakeBotAPI
) -> None:
    s = bot_settings(settings, fake)
    clock = Clock(datetime(2026, 11, 26, 23, 0, tzinfo=UTC))
    async with running_bot(s) as app:
        deps = app.bot_data["deps"]
        deps.alerts.clock = clock
        await fake.message("/settings quiet 22-7", sender=ALICE)
        await fake.reply(ALICE["id"])
        await _subscribe(fake, "heron")
        await deps.service.ingest_articles([("t", HERON)])

        async def queued() -> bool:
            return len(await deps.alerts.store.pending_alerts("9999", 10)) == 1

        await eventually(queued)
    assert _alerts(fake, ALICE["id"]) == []  # quiet hours: nothing sent before the stop
    async with running_bot(s) as app:
        app.bot_data["deps"].alerts.clock = Clock(datetime(2026, 11, 27, 7, 5, tzinfo=UTC))
        alert = (await fake.wait_for(lambda: _alerts(fake, ALICE["id"])))[0]
        assert "purple heron" in alert["visible"].lower()
        await fake.message("/stats", sender=ALICE)
        await fake.wait_for(
            lambda: [m for m in fake.sent_to(ALICE["id"]) if m["visible"].startswith("I know")]
        )
    assert len(_alerts(fake, ALICE["id"])) == 1  # sent once, never twice


async def test_a_failed_send_stays_in_the_outbox_and_is_retried(
    settings: Settings, fake: FakeBotAPI
) -> None:
    s = bot_settings(settings, fake)
    s = dataclasses.replace(s, alerts=dataclasses.replace(s.alerts, retry_delay=0.0))
    fake.fail(
        "sendMessage",
        Failure(500, "Internal Server Error", when=lambda p: "🔔" in str(p.get("text", ""))),
    )
    async with running_bot(s) as app:
        await _subscribe(fake, "heron")
        await app.bot_data["deps"].service.ingest_articles([("t", HERON)])
        alert = (await fake.wait_for(lambda: _alerts(fake, ALICE["id"])))[0]
    assert "purple heron" in alert["visible"].lower()
    attempts = [p for p in fake.method_calls("sendMessage") if "🔔" in str(p.get("text"))]
    assert len(attempts) == 2


async def test_a_user_who_blocked_the_bot_has_subscriptions_paused(bot: SimpleNamespace) -> None:
    await _subscribe(bot.fake, "heron")
    bot.fake.fail("sendMessage", Failure(403, "Forbidden: bot was blocked by the user", times=99))
    await bot.deps.service.ingest_articles([("t", HERON)])

    async def paused() -> bool:
        subs = await bot.deps.alerts.subscriptions(ALICE["id"])
        return all(s.paused for s in subs)

    await eventually(paused)


async def test_a_burst_becomes_one_list_message(bot: SimpleNamespace) -> None:
    await _subscribe(bot.fake, "otters")
    stories = [
        (
            "t",
            article(
                title=f"Otter story {i}",
                url=f"https://n.test/otter{i}",
                text=f"Otters were seen at place number {i} today, said warden "
                f"{i} of the river trust at site {i * 7}.",
            ),
        )
        for i in range(500)
    ]
    await bot.deps.service.ingest_articles(stories)
    await bot.fake.wait_for(lambda: _alerts(bot.fake, ALICE["id"]), timeout=30)

    async def all_sent() -> bool:
        return not await bot.deps.alerts.store.pending_alerts("9999", 10)

    await eventually(all_sent, 30)
    alerts = _alerts(bot.fake, ALICE["id"])
    assert len(alerts) <= 3
    assert (
        alerts[0]["visible"].startswith("🔔 ")
        and "new stories on your topics" in alerts[0]["visible"]
    )
    assert "more. Narrow your topics with /subscriptions" in alerts[0]["visible"]


async def test_in_groups_only_admins_subscribe_the_group(bot: SimpleNamespace) -> None:
    group = group_chat()
    bot.fake.admins[group["id"]] = {ALICE["id"]}
    refused = await _subscribe(bot.fake, "heron", sender=BOB, chat=group)
    assert "Only the group's admins" in refused["visible"]
    accepted = await _subscribe(bot.fake, "heron", sender=ALICE, chat=group)
    assert "Subscribed to" in accepted["visible"]
    await bot.deps.service.ingest_articles([("t", HERON)])
    alert = (await bot.fake.wait_for(lambda: _alerts(bot.fake, group["id"])))[0]
    assert "purple heron" in alert["visible"].lower()


async def test_bad_topics_and_settings_get_clear_answers(bot: SimpleNamespace) -> None:
    cases = [
        ("/subscribe", "Put the topic after the command"),
        ("/subscribe the of and", "no words I can search for"),
        ("/settings timezone Mars/Olympus", "I don't know the timezone"),
        ("/settings digest 25", "number from 0 to 23"),
        ("/settings quiet 7", "Quiet hours look like 22-7"),
        ("/unsubscribe nothing here", "No subscription to"),
        ("/subscribe " + "word " * 60, "too long"),
    ]
    for number, (command, expected) in enumerate(cases):
        await bot.fake.message(command, sender=ALICE)
        assert expected in (await bot.fake.reply(ALICE["id"], after=number))["visible"], command


async def test_repeated_failures_are_given_up_and_logged(
    settings: Settings, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    s = bot_settings(settings, fake)
    s = dataclasses.replace(
        s, alerts=dataclasses.replace(s.alerts, retry_delay=0.0, max_attempts=2)
    )
    fake.fail(
        "sendMessage",
        Failure(
            400,
            "Bad Request: chat not found",
            times=99,
            when=lambda p: "🔔" in str(p.get("text", "")),
        ),
    )
    async with running_bot(s) as app:
        deps = app.bot_data["deps"]
        await _subscribe(fake, "heron")
        await deps.service.ingest_articles([("t", HERON)])

        async def given_up() -> bool:
            return "gave up 1 alert(s) to chat 1001" in caplog.text

        await eventually(given_up)
        assert not await deps.alerts.store.pending_alerts("9999", 10)
    tries = [p for p in fake.method_calls("sendMessage") if "🔔" in str(p.get("text"))]
    assert len(tries) == 2


async def test_topics_per_chat_are_capped(settings: Settings, fake: FakeBotAPI) -> None:
    s = bot_settings(settings, fake)
    s = dataclasses.replace(s, alerts=dataclasses.replace(s.alerts, max_topics_per_chat=2))
    async with running_bot(s):
        await _subscribe(fake, "heron")
        await _subscribe(fake, "otters")
        refused = await _subscribe(fake, "badgers")
        again = await _subscribe(fake, "heron")
    assert "You already have 2 topics" in refused["visible"]
    assert "already subscribed" in again["visible"]


async def test_news_forwarded_to_the_bot_alerts_subscribers(bot: SimpleNamespace) -> None:
    bob = BOB
    await _subscribe(bot.fake, "lifeboat rescue", sender=bob)
    origin = {"type": "hidden_user", "sender_user_name": "Harbour watch", "date": 1764000000}
    await bot.fake.message(
        "The lifeboat crew made a night rescue of two kayakers off the "
        "point on Friday; both were unhurt.",
        sender=ALICE,
        forward_origin=origin,
    )
    await bot.fake.message(
        "The town band will play on the pier on Sunday afternoon.",
        sender=ALICE,
        forward_origin=origin,
    )
    alert = (await bot.fake.wait_for(lambda: _alerts(bot.fake, bob["id"])))[0]
    assert "lifeboat" in alert["visible"].lower() and "Harbour watch" in alert["visible"]

    async def both_stored_and_matched() -> bool:
        if (await bot.deps.service.stats()).articles < 2:
            return False
        await bot.deps.alerts.match_new_articles()  # whatever the job has not matched yet
        return not await bot.deps.alerts.store.pending_alerts("9999", 10)

    await eventually(both_stored_and_matched)
    assert len(_alerts(bot.fake, bob["id"])) == 1  # the band story matched nothing
