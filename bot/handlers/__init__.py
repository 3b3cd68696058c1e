"""Every Telegram handler, registered in one place."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import ask, feeds, info, ingest, subscriptions
from bot.handlers.common import drop_bot_messages
from bot.handlers.errors import on_error

PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS
NEW_MESSAGE = filters.UpdateType.MESSAGE
DOCUMENTS = (
    filters.Document.FileExtension("txt")
    | filters.Document.FileExtension("md")
    | filters.Document.FileExtension("html")
    | filters.Document.FileExtension("htm")
)

COMMANDS = [
    ("ask", "answer a question with quoted excerpts"),
    ("subscribe", "get alerts on a topic"),
    ("subscriptions", "your topics: pause, digest, delete"),
    ("settings", "timezone, digest hour, quiet hours"),
    ("feeds", "the news feeds I read"),
    ("forget", "remove a stored article by its link (admins)"),
    ("stats", "how much news I know"),
    ("sources", "where my news comes from"),
    ("help", "what I can do"),
]


def register(app: Application) -> None:  # type: ignore[type-arg]
    # Other bots' messages are never handled (group -1 runs first and stops them).
    app.add_handler(TypeHandler(object, drop_bot_messages), group=-1)

    app.add_handler(CommandHandler(["start", "help"], info.help_command))
    app.add_handler(CommandHandler("ask", ask.ask_command))
    app.add_handler(CommandHandler("stats", info.stats_command))
    app.add_handler(CommandHandler("sources", info.sources_command))
    app.add_handler(CommandHandler("subscribe", subscriptions.subscribe))
    app.add_handler(CommandHandler("subscriptions", subscriptions.list_subscriptions))
    app.add_handler(CommandHandler("unsubscribe", subscriptions.unsubscribe))
    app.add_handler(CommandHandler("settings", subscriptions.settings_command))
    app.add_handler(CommandHandler("addfeed", feeds.add_feed))
    app.add_handler(CommandHandler("feeds", feeds.list_feeds))
    app.add_handler(CommandHandler("forget", ingest.forget))
    app.add_handler(CallbackQueryHandler(ask.more_button, pattern=r"^more:"))
    app.add_handler(CallbackQueryHandler(subscriptions.button, pattern=r"^sub:"))
    app.add_handler(CallbackQueryHandler(feeds.button, pattern=r"^feed:"))
    app.add_handler(CallbackQueryHandler(info.stale_button))

    app.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POST, ingest.channel_post))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_CHANNEL_POST, ingest.channel_post))

    app.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE & filters.FORWARDED, ingest.forwarded))
    app.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE & DOCUMENTS, ingest.document))
    app.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE & filters.COMMAND, info.unknown_command))
    app.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE & filters.TEXT, ask.private_text))
    app.add_handler(
        MessageHandler(GROUPS & NEW_MESSAGE & filters.TEXT & ~filters.COMMAND, ask.group_text)
    )
    app.add_handler(MessageHandler(PRIVATE & NEW_MESSAGE, info.unsupported))
    # Edited messages are not answered again: the first answer stands.

    app.add_error_handler(on_error)
