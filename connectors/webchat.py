"""The web chat channel: Rasa's socket.io channel, made fit for the page at /chat.

Rasa 3.6's SocketIOInput calls python-socketio 5's `enter_room` coroutine without awaiting
it, so a browser never joins its session's room and bot-initiated messages (proactive,
handoff replies) are lost; it also takes any payload. This channel, `webchat`, awaits it,
re-joins the room on every reconnect, limits what it accepts, allows only the configured
page origins, apologises when a turn produced nothing, and with `REDIS_URL` reaches pages
connected to another Rasa instance.

A session id is no credential: the web server issues it with a token (`bot/signing.py`), and a
socket joins a session only with that token. Messages go to the session the socket joined,
never to an id the client names in the message. A session's conversation is
`webchat:<session id>` (bot/conversation_ids.py): no other channel can write into it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.config import webchat_origins
from bot.conversation_ids import WEBCHAT as WEBCHAT_CHANNEL
from bot.conversation_ids import conversation_id, recipient
from bot.i18n import channel_text
from bot.lang import detect_language
from bot.signing import WEBCHAT, verify, webchat_secret
from connectors.paused import is_paused
from connectors.turns import within_deadline

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 20_000
MAX_SESSION_CHARS = 64


def client_manager() -> AsyncRedisManager | None:
    """With several Rasa instances (`REDIS_URL`), a message for a page connected to another
    instance (a proactive message, an agent's reply) goes through Redis to that instance."""
    url = (os.environ.get("REDIS_URL") or "").strip()
    return AsyncRedisManager(url, channel="fjordbil-webchat") if url else None


def allowed_origins() -> list[str]:
    """Pages allowed to connect (WEBCHAT_ORIGINS, comma separated)."""
    return webchat_origins()


def valid_session(session_id: Any, token: Any) -> bool:
    """True when `token` is the web server's signature of `session_id`."""
    if not isinstance(session_id, str) or not session_id or len(session_id) > MAX_SESSION_CHARS:
        return False
    try:
        secret = webchat_secret()
    except RuntimeError as error:   # outside dev mode without WEBCHAT_SECRET: no session is valid
        log.error("web chat: %s", error)
        return False
    return verify(secret, WEBCHAT, session_id, token)


class CountingOutput(SocketIOOutput):
    """Socket.io output that knows whether the turn said anything."""

    @classmethod
    def name(cls) -> str:
        return WEBCHAT_CHANNEL

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self.messages_sent = 0

    @staticmethod
    def _room(conversation: str) -> str | None:
        """Rasa passes the conversation id; the page's room is the session id (None: another channel's)."""
        room = recipient(WEBCHAT_CHANNEL, conversation)
        if room is None:
            log.warning("not sent: a conversation of another channel has no web chat page")
        return room

    async def _send_message(self, socket_id: str, response: Any) -> None:
        room = self._room(socket_id)
        if room is None:
            return
        await super()._send_message(room, response)
        self.messages_sent += 1

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        room = self._room(recipient_id)
        if room is None:
            return
        await self.sio.emit(self.bot_message_evt, **{**json_message, "room": room})  # as Rasa's, to our room
        self.messages_sent += 1


class WebChatInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return WEBCHAT_CHANNEL

    def get_output_channel(self) -> CountingOutput | None:
        if self.sio is None:
            return None
        return CountingOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=allowed_origins(), client_manager=client_manager())
        webhook = SocketBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)
        self.sio = sio

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None) -> bool:
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            token = data.get("token") if isinstance(data, dict) else None
            if not valid_session(session_id, token):
                await sio.emit("error_message", {"error": "session not valid: reload the page"}, room=sid)
                return
            joined = (await sio.get_session(sid, namespace=self.namespace)).get("session_id")
            if joined and joined != session_id:
                await sio.leave_room(sid, joined, namespace=self.namespace)
            await sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
            await sio.enter_room(sid, session_id)  # awaited: bot-initiated messages reach the page
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            # The session this socket proved it holds; an id in the message is not trusted.
            session_id = (await sio.get_session(sid, namespace=self.namespace)).get("session_id")
            text = data.get("message")
            named = data.get("session_id")
            if not session_id or (named is not None and named != session_id):
                await sio.emit("error_message", {"error": "session_request with a valid token first"}, room=sid)
                return
            if not isinstance(text, str) or len(text) > MAX_MESSAGE_CHARS:
                await sio.emit("error_message", {"error": "message must be text of at most 20000 characters"},
                               room=sid)
                return
            metadata = data.get(self.metadata_key) if isinstance(data.get(self.metadata_key), dict) else {}
            output = CountingOutput(sio, self.bot_message_evt)
            conversation = conversation_id(WEBCHAT_CHANNEL, session_id)
            in_time = True
            try:
                in_time = await within_deadline(on_new_message(
                    UserMessage(text, output, conversation, input_channel=self.name(),
                                metadata={**metadata, "input_channel": self.name()})
                ))
            except Exception:  # noqa: BLE001 - the customer still gets an answer below
                log.exception("processing a web chat message failed")
            if not in_time or (output.messages_sent == 0 and not await is_paused(conversation)):
                lang = detect_language(text) if text.strip() else None
                await output.send_text_message(conversation, channel_text("technical_problem", lang))

        return webhook
