"""A fake Telegram Bot API server for tests (aiohttp, on 127.0.0.1).

The real python-telegram-bot talks to it over HTTP. It records every call, hands out injected
updates through long polling (getUpdates), answers with realistic objects, serves files for
getFile, and rejects what Telegram rejects: HTML with tags Telegram does not accept ("can't
parse entities"), messages over 4096 characters, inline keyboards of over 100 buttons
("reply markup is too long"), and methods it does not know. Failures can
be injected per method (flood control, a blocked user, a network drop).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from tests.helpers import TelegramHTMLError, telegram_html_text

TOKEN = "123456789:AAtestTOKENdoNotLogThisValue_abcdefgh"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Newsbot",
    "username": "newsbot_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
JSON_FIELDS = {
    "reply_markup",
    "entities",
    "caption_entities",
    "commands",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
    "scope",
}


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def user(
    user_id: int = 1001,
    first_name: str = "Alice",
    is_bot: bool = False,
    username: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if username:
        data["username"] = username
    return data


def group_chat(chat_id: int = -100200300, title: str = "News fans") -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": title}


def channel_chat(
    chat_id: int = -1001234, title: str = "Harbour News", username: str | None = "harbournews"
) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
    if username:
        chat["username"] = username
    return chat


@dataclass
class Failure:
    """An error to return for the next matching calls of one method."""

    error_code: int
    description: str
    times: int = 1
    retry_after: int | None = None
    when: Callable[[dict[str, Any]], bool] = lambda params: True


@dataclass
class FakeBotAPI:
    token: str = TOKEN
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    admins: dict[int, set[int]] = field(default_factory=dict)  # chat id -> admin user ids

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self.confirmed_offset = 0
        self.server: BaseTestServer | None = None

    # ------------------------------------------------------------------ server

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self.url

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        data = self.files.get(request.match_info["path"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                params = await request.json()
            else:
                form = await request.post()
                params = {
                    k: (json.loads(v) if k in JSON_FIELDS and isinstance(v, str) else v)
                    for k, v in form.items()
                }
        self.calls.append((method, params))
        await self._notify()
        failure = self._take_failure(method, params)
        if failure is not None:
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            return _error(failure.error_code, failure.description, extra)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        try:
            result = await handler(params)
        except _APIError as e:
            return _error(e.code, e.description)
        return web.json_response({"ok": True, "result": result})

    def _take_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        for failure in self.failures.get(method, []):
            if failure.times > 0 and failure.when(params):
                failure.times -= 1
                return failure
        return None

    def fail(self, method: str, failure: Failure) -> None:
        self.failures.setdefault(method, []).append(failure)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ Bot API methods

    async def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands", []))
        return True

    async def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        if offset:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(timeout, 5)
        async with self._changed:
            while not self._updates and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
        limit = int(params.get("limit", 100) or 100)
        return self._updates[:limit]

    async def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        visible = self._check_text(text, params.get("parse_mode"))
        self._check_markup(params)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {
                "id": int(params["chat_id"]),
                "type": "private" if int(params["chat_id"]) > 0 else "supergroup",
                "first_name": "Chat",
            },
            "from": BOT_USER,
            "text": visible,
        }
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self.sent.append(
            {**params, "text": text, "visible": visible, "message_id": message["message_id"]}
        )
        await self._notify()
        return message

    async def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        visible = self._check_text(text, params.get("parse_mode"))
        self._check_markup(params)
        self.sent.append({**params, "text": text, "visible": visible, "edited": True})
        await self._notify()
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": visible,
        }

    async def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_markup(params)
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "text": "...",
        }

    async def api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        status = "administrator" if user_id in self.admins.get(chat_id, set()) else "member"
        member: dict[str, Any] = {"status": status, "user": user(user_id, f"User {user_id}")}
        if status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                }
            )
        return member

    async def api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params["file_id"])
        if file_id not in self.files:
            raise _APIError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": file_id + "u",
            "file_size": len(self.files[file_id]),
            "file_path": file_id,
        }

    @staticmethod
    def _check_markup(params: dict[str, Any]) -> None:
        markup = params.get("reply_markup") or {}
        buttons = sum(len(row) for row in markup.get("inline_keyboard", []))
        if buttons > 100:
            raise _APIError(400, "Bad Request: reply markup is too long")

    def _check_text(self, text: str, parse_mode: Any) -> str:
        if not text.strip():
            raise _APIError(400, "Bad Request: message text is empty")
        visible = text
        if parse_mode == "HTML":
            try:
                visible = telegram_html_text(text)
            except TelegramHTMLError as e:
                raise _APIError(400, f"Bad Request: {e}") from None
        if len(visible.encode("utf-16-le")) // 2 > 4096:
            raise _APIError(400, "Bad Request: message is too long")
        return visible

    # ------------------------------------------------------------------ test helpers

    async def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        await self._notify()
        return update

    async def message(
        self,
        text: str | None = None,
        *,
        sender: dict[str, Any] | None = None,
        chat: dict[str, Any] | None = None,
        edited: bool = False,
        **fields: Any,
    ) -> dict[str, Any]:
        sender = sender or user()
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or private_chat(sender),
            "from": sender,
            **fields,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/") and "entities" not in fields:
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if edited:
            message["edit_date"] = int(time.time())
        return await self.push({"edited_message" if edited else "message": message})

    async def channel_post(
        self,
        text: str,
        chat: dict[str, Any] | None = None,
        edited: bool = False,
        message_id: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        post = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or channel_chat(),
            "text": text,
            **fields,
        }
        if edited:
            post["edit_date"] = int(time.time())
        return await self.push({"edited_channel_post" if edited else "channel_post": post})

    async def press(
        self, data: str, message: dict[str, Any], sender: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        sender = sender or user()
        query = {
            "id": str(next(self._update_ids) * 7),
            "from": sender,
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message["message_id"],
                "date": int(time.time()),
                "chat": {"id": int(message["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": message["visible"],
            },
        }
        return await self.push({"callback_query": query})

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
        """Wait until predicate() is truthy (re-checked on every API call)."""

        async def check() -> Any:
            async with self._changed:
                while not (result := predicate()):
                    await self._changed.wait()
                return result

        return await asyncio.wait_for(check(), timeout)

    async def reply(self, chat_id: int, after: int = 0, timeout: float = 15.0) -> dict[str, Any]:
        """The first message sent to chat_id after the first ``after`` messages to it."""

        def found() -> dict[str, Any] | None:
            to_chat = [m for m in self.sent if int(m["chat_id"]) == chat_id]
            return to_chat[after] if len(to_chat) > after else None

        result: dict[str, Any] = await self.wait_for(found, timeout)
        return result

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if int(m["chat_id"]) == chat_id]

    def method_calls(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]


class _APIError(Exception):
    def __init__(self, code: int, description: str) -> None:
        self.code = code
        self.description = description


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)
