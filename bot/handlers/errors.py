"""The global error handler: log everything, apologise to the user, keep serving."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.handlers.common import is_private, reply

log = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong with that. It has been logged; please try again."


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.info("update %s: the user blocked the bot or left the chat: %s", update_id, error)
        return
    if isinstance(error, RetryAfter):
        log.warning("update %s: flood control still active after retries: %s", update_id, error)
        return
    # BadRequest is a NetworkError subclass in python-telegram-bot, but it is our fault (a
    # message Telegram refused: too long, bad HTML, too many buttons), not the network's:
    # it is logged as an error and the user is told, below.
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        log.warning("update %s: network error talking to Telegram: %s", update_id, error)
        return
    log.error("update %s failed: %s", update_id, error, exc_info=error)
    if isinstance(update, Update) and is_private(update) and update.effective_message:
        try:
            await reply(update, APOLOGY)
        except TelegramError as e:
            log.warning("update %s: could not apologise: %s", update_id, e)
